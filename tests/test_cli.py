"""cli.py, the `unitlm` command: every command's help, and `ask` on stubs (no real model).

Each command's own behaviour is tested beside its module (test_pipeline.py, test_grade.py, ...).
"""

import pytest

from unitlm import base_llm, cli


# --- help -----------------------------------------------------------------------------------------

OWN_COMMANDS = ["ask", "pipeline", "report", "ship", "bundle", "grade"]


@pytest.mark.parametrize("command", ["ask", *cli.STAGES])
def test_every_subcommand_has_help(command, capsys, run_cli):
    assert run_cli([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert f"usage: unitlm {command}" in out  # the usage line names the command a user typed
    if command in OWN_COMMANDS:
        assert "example: unitlm" in " ".join(out.split())


def test_top_level_help_lists_every_command(capsys, run_cli):
    assert run_cli(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(command in out for command in ["ask", *cli.STAGES])


def test_missing_stage_module_is_one_clear_line(monkeypatch, capsys, run_cli):
    monkeypatch.setitem(cli.STAGES, "nothing", ("no_such_module", "a stage that is not installed"))
    assert run_cli(["nothing", "go"]) == 1
    err = capsys.readouterr().err
    assert "not in this install" in err and "Traceback" not in err


# --- ask ------------------------------------------------------------------------------------------

class StubLLM:
    def __init__(self, text):
        self.text = text

    def format_prompt(self, question):
        return base_llm.format_example(question)

    def batched_generate(self, prompts, num_return_sequences=None, temperature=0, seed=None, progress=False):
        return [[self.text] * num_return_sequences if num_return_sequences else self.text for _ in prompts]

    def parse_answer(self, text):
        return base_llm.parse_answer(text)

    vote_texts = base_llm.BaseLLM.vote_texts  # what `ask` calls: the real sampling plan over the canned text


def stub_loader(text, calls=None):
    def load(path=None, model=None):
        if calls is not None:
            calls.append(model)
        return StubLLM(text)

    return load


@pytest.mark.parametrize("flags, used", [([], "rft"), (["--model", "sft"], "sft"), (["--model", "rft"], "rft")])
def test_ask_prints_the_number_of_the_model_asked_rft_by_default(monkeypatch, capsys, run_cli, flags, used):
    from unitlm import rft, sft

    calls = {"sft": [], "rft": []}
    for name, module in (("sft", sft), ("rft", rft)):
        monkeypatch.setattr(module, "load", stub_loader(f"<answer>6 * 1000{'' if name == used else ' + 1'}</answer>",
                                                        calls[name]))
    assert run_cli(["ask", "How many gram are there per 6 kg?", *flags]) == 0
    assert capsys.readouterr().out == "6000\n"
    assert calls == {"sft": [None] if used == "sft" else [], "rft": [None] if used == "rft" else []}


def test_ask_rft_shows_reasoning(monkeypatch, capsys, run_cli):
    from unitlm import rft

    reasoning = "1 mile = 5280 foot. <answer>3.5 * 5280</answer>"
    monkeypatch.setattr(rft, "load", stub_loader(reasoning))
    assert run_cli(["ask", "How many feet are in 3.5 miles?", "--model", "rft", "--show-reasoning"]) == 0
    assert capsys.readouterr().out == f"{reasoning}\n18480\n"


@pytest.mark.parametrize("question", ["How many feet are in 3.5 miles?", "   "])
def test_ask_without_an_answer_exits_nonzero_without_traceback(monkeypatch, capsys, question, run_cli):
    from unitlm import rft

    monkeypatch.setattr(rft, "load", stub_loader("I do not know."))
    assert run_cli(["ask", question]) != 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("unitlm: ") and len(captured.err.strip().splitlines()) == 1
    assert "Traceback" not in captured.err


def test_ask_with_no_adapter_is_one_clear_line(monkeypatch, capsys, run_cli):
    from unitlm import rft
    from unitlm.finetune import AdapterError

    def missing(path=None, model=None):
        raise AdapterError("No trained adapter in rft_model. Make one with: unitlm pipeline")

    monkeypatch.setattr(rft, "load", missing)
    assert run_cli(["ask", "How many feet are in 3.5 miles?"]) == 1
    err = capsys.readouterr().err
    assert "No trained adapter" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


class EchoLLM(StubLLM):
    """Answers each question with its own first number times 1000, in the order asked; none for "weather"."""

    def __init__(self):
        super().__init__("")

    def batched_generate(self, prompts, num_return_sequences=None, temperature=0, seed=None, progress=False):
        import re

        texts = ["I do not know." if "weather" in p else f"<answer>{re.search(r'[0-9.]+', p).group()} * 1000</answer>"
                 for p in prompts]
        return [[t] * num_return_sequences for t in texts] if num_return_sequences else texts


def test_ask_several_questions_one_line_each_in_order(monkeypatch, capsys, run_cli):
    from unitlm import rft

    monkeypatch.setattr(rft, "load", lambda path=None, model=None: EchoLLM())
    assert run_cli(["ask", "4 kg in g", "how is the weather", "0.5 kg in g", "--votes", "3"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "4000\t4 kg in g\nno answer\thow is the weather\n500\t0.5 kg in g\n"
    assert "'how is the weather'" in captured.err and "Traceback" not in captured.err


def test_ask_reads_stdin_lines_for_a_dash(monkeypatch, capsys, run_cli):
    import io

    from unitlm import rft

    monkeypatch.setattr(rft, "load", lambda path=None, model=None: EchoLLM())
    monkeypatch.setattr("sys.stdin", io.StringIO("7 kg in g\n\n   \n2 kg to g\n"))
    assert run_cli(["ask", "-"]) == 0
    assert capsys.readouterr().out == "7000\t7 kg in g\n2000\t2 kg to g\n"


@pytest.mark.parametrize("argv, stdin", [(["ask", "4 kg in g", "  "], ""), (["ask", "-"], "\n \n"),
                                         (["ask", "-", "4 kg in g"], "")])
def test_ask_refuses_empty_questions_before_loading(monkeypatch, capsys, run_cli, argv, stdin):
    import io

    from unitlm import rft

    loaded = []
    monkeypatch.setattr(rft, "load", stub_loader("<answer>1</answer>", loaded))
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    assert run_cli(argv) == 2
    captured = capsys.readouterr()
    assert loaded == [] and captured.out == ""
    assert captured.err.startswith("unitlm: ") and len(captured.err.strip().splitlines()) == 1
