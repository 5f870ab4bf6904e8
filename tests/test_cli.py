"""The `unitlm` command: help, ask, bundle, grade, report and pipeline, on stubs (no real model, no training)."""

import importlib.util
import json
import math
import zipfile
from pathlib import Path

import pytest

from unitlm import base_llm, bundle, cli, data, grade, pipeline, report


def run_cli(argv) -> int:
    try:
        return cli.main([str(a) for a in argv])
    except SystemExit as exit:
        return exit.code


# --- help -----------------------------------------------------------------------------------------

OWN_COMMANDS = ["ask", "pipeline", "report", "bundle", "grade"]


@pytest.mark.parametrize("command", ["ask", *cli.STAGES])
def test_every_subcommand_has_help(command, capsys):
    module = cli.STAGES.get(command, (None,))[0]
    if module and importlib.util.find_spec(f"unitlm.{module}") is None:
        pytest.skip(f"unitlm.{module} is not written yet")
    assert run_cli([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "usage:" in out
    if command in OWN_COMMANDS:
        assert "example: unitlm" in " ".join(out.split())


def test_top_level_help_lists_every_command(capsys):
    assert run_cli(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(command in out for command in ["ask", *cli.STAGES])


def test_missing_stage_module_is_one_clear_line(monkeypatch, capsys):
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

    def generate(self, prompt):
        return self.text

    def parse_answer(self, text):
        return base_llm.parse_answer(text)


def stub_loader(text, calls=None):
    def load(path=None, model=None):
        if calls is not None:
            calls.append(model)
        return StubLLM(text)

    return load


def test_ask_prints_the_number(monkeypatch, capsys):
    from unitlm import sft

    calls = []
    monkeypatch.setattr(sft, "load", stub_loader("<answer>6 * 1000</answer>", calls))
    assert run_cli(["ask", "How many gram are there per 6 kg?"]) == 0
    assert capsys.readouterr().out == "6000\n"
    assert calls == [None]


def test_ask_rft_shows_reasoning(monkeypatch, capsys):
    from unitlm import rft

    reasoning = "1 mile = 5280 foot. <answer>3.5 * 5280</answer>"
    monkeypatch.setattr(rft, "load", stub_loader(reasoning))
    assert run_cli(["ask", "How many feet are in 3.5 miles?", "--model", "rft", "--show-reasoning"]) == 0
    assert capsys.readouterr().out == f"{reasoning}\n18480\n"


@pytest.mark.parametrize("question", ["How many feet are in 3.5 miles?", "   "])
def test_ask_without_an_answer_exits_nonzero_without_traceback(monkeypatch, capsys, question):
    from unitlm import sft

    monkeypatch.setattr(sft, "load", stub_loader("I do not know."))
    assert run_cli(["ask", question]) != 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("unitlm: ") and len(captured.err.strip().splitlines()) == 1
    assert "Traceback" not in captured.err


def test_ask_with_no_adapter_is_one_clear_line(monkeypatch, capsys):
    from unitlm import sft
    from unitlm.finetune import AdapterError

    def missing(path=None, model=None):
        raise AdapterError("No trained adapter in sft_model. Make one with: python -m unitlm.sft train")

    monkeypatch.setattr(sft, "load", missing)
    assert run_cli(["ask", "How many feet are in 3.5 miles?"]) == 1
    err = capsys.readouterr().err
    assert "No trained adapter" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


# --- bundle ---------------------------------------------------------------------------------------

def fake_package(root: Path) -> Path:
    files = {
        "__init__.py": "", "cli.py": "", "units/__init__.py": "", "units/table.py": "",
        "__pycache__/cli.cpython-311.pyc": "x", "units/__pycache__/table.cpython-311.pyc": "x",
        "splits/train.json": "[]", "splits/train.tags.json": "[]", "splits/notes.txt": "x",
        "sft_model/adapter_config.json": "{}", "sft_model/adapter_model.safetensors": "w" * 1000,
        "sft_model/unitlm_adapter.json": "{}", "sft_model/README.md": "x", "sft_model/optimizer.pt": "x",
        "sft_model/checkpoint-10/adapter_model.safetensors": "x",
        "sft_model_logs/events.out.tfevents.1": "x", "sft_model_logs/helper.py": "",
        ".sft_model.tmp-ab12/adapter_model.safetensors": "x", ".sft_model.tmp-ab12/x.py": "",
        "rft_model/adapter_config.json": "{}", "rft_model/adapter_model.safetensors": "w",
        "rft_model/unitlm_adapter.json": "{}", "rft_model/scheduler.pt": "x",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_bundle_holds_package_and_adapters_only(tmp_path):
    package = fake_package(tmp_path / "pkg")
    out, size, _ = bundle.make_bundle(tmp_path / "b.zip", package)
    names = set(zipfile.ZipFile(out).namelist())
    assert names == {f"unitlm/{n}" for n in [
        "__init__.py", "cli.py", "units/__init__.py", "units/table.py", "splits/train.json", "splits/train.tags.json",
        "sft_model/adapter_config.json", "sft_model/adapter_model.safetensors", "sft_model/unitlm_adapter.json",
        "rft_model/adapter_config.json", "rft_model/adapter_model.safetensors", "rft_model/unitlm_adapter.json"]}
    assert size == out.stat().st_size > 0


def test_bundle_over_the_limit_fails_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(bundle, "MAX_BYTES", 100)
    with pytest.raises(bundle.BundleError, match="over the"):
        bundle.make_bundle(tmp_path / "b.zip", fake_package(tmp_path / "pkg"))
    assert list(tmp_path.glob("*.zip*")) == []


def test_bundle_command_on_the_package(tmp_path, capsys, monkeypatch):
    out = tmp_path / "handin.zip"
    assert run_cli(["bundle", "--out", out]) == 0
    assert "MB" in capsys.readouterr().out
    names = zipfile.ZipFile(out).namelist()
    assert "unitlm/__init__.py" in names and "unitlm/splits/valid.json" in names
    assert not [n for n in names if "__pycache__" in n or "_logs/" in n or not n.startswith("unitlm/")]
    monkeypatch.setattr(bundle, "MAX_BYTES", 1000)
    assert run_cli(["bundle", "--out", tmp_path / "big.zip"]) == 1
    err = capsys.readouterr().err
    assert "over the" in err and "Traceback" not in err and not (tmp_path / "big.zip").exists()


# --- grade ----------------------------------------------------------------------------------------

STUB_PACKAGE = '''"""A stand-in course submission: a zero-weight model and canned accuracies."""
import types

import torch

VOCAB = 1097  # zero weights give a uniform next token: every token's loss is ln(1097) = 7.0


class _Tokenizer:
    def __call__(self, text, return_tensors="pt"):
        return {"input_ids": torch.tensor([[ord(c) % VOCAB for c in text]])}


class _Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.head = torch.nn.Linear(2, VOCAB)
        torch.nn.init.zeros_(self.head.weight)
        torch.nn.init.zeros_(self.head.bias)

    def forward(self, input_ids):
        return types.SimpleNamespace(logits=self.head(torch.zeros(*input_ids.shape, 2)))


class BaseLLM:
    def __init__(self):
        self.model, self.tokenizer = _Net(), _Tokenizer()

    def generate(self, prompt):
        return " <answer>1</answer>"

    def batched_generate(self, prompts):
        return [self.generate(p) for p in prompts]


def _benchmark(model, dataset, max_question):
    assert len(dataset[:max_question]) == max_question
    return types.SimpleNamespace(accuracy=model.accuracy, answer_rate=1.0)


data = types.SimpleNamespace(Dataset=lambda split: [[f"How many m in {i} km?", 1000.0 * i] for i in range(10)],
                             benchmark=_benchmark)


def load_cot():
    return types.SimpleNamespace(accuracy=0.2)


def load_sft():
    return types.SimpleNamespace(accuracy=0.5)


def load_rft():
    raise FileNotFoundError("No trained adapter in rft_model. Make one with: python -m unitlm.rft train")
'''
STUB_LOSS_SHARE = (8.0 - math.log(1097)) / 1.8


def stub_package(root: Path) -> Path:
    (root / "unitlm").mkdir(parents=True)
    (root / "unitlm" / "__init__.py").write_text(STUB_PACKAGE)
    return root / "unitlm" / "__init__.py"


def test_grade_checks_and_bands_on_a_stub(tmp_path):
    spec = importlib.util.spec_from_file_location("stub_submission", stub_package(tmp_path))
    stub = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stub)
    rows = {row.name: row for row in grade.run_checks(stub, max_question=3)}
    assert rows["parameters <= 380M"].fraction == 1.0
    for name in ("generate (non-batched)", "batched_generate"):
        assert rows[name].fraction == pytest.approx(STUB_LOSS_SHARE, abs=1e-4) and rows[name].points == 10
    assert rows["CoT accuracy"].fraction == 0.5 and rows["SFT accuracy"].fraction == 0.5
    assert rows["RFT accuracy"].score == 0 and rows["RFT extra credit"].score == 0
    assert "No trained adapter" in rows["RFT accuracy"].detail
    table = grade.score_table(list(rows.values()))
    assert "41.1 / 100" in table and "0.0 / 5 extra credit" in table


def test_grade_a_zip_imports_the_package_inside_it(tmp_path, capfd):
    stub_package(tmp_path / "pkg")
    zip_path = tmp_path / "handin.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.write(tmp_path / "pkg" / "unitlm" / "__init__.py", "unitlm/__init__.py")
    assert run_cli(["grade", zip_path, "--max-question", 3]) == 0
    out = capfd.readouterr().out
    assert "SFT accuracy" in out and "No trained adapter" in out and "41.1 / 100" in out


# --- report ---------------------------------------------------------------------------------------

def fake_result(accuracy: float, n: int = 4) -> data.BenchmarkResult:
    samples = [data.Sample(f"q{i}", 1.0, 1.0, i < accuracy * n) for i in range(n)]
    groups = {"category/length": {"accuracy": accuracy, "n": 2}, "category/time": {"accuracy": accuracy / 2, "n": 2},
              "pairs/seen": {"accuracy": accuracy, "n": 3}, "pairs/unseen": {"accuracy": accuracy / 2, "n": 1}}
    return data.BenchmarkResult(accuracy, 1.0, samples, groups)


def test_report_builds_markdown_and_real_pngs(tmp_path, capsys):
    from matplotlib.image import imread
    from torch.utils.tensorboard import SummaryWriter

    run = tmp_path / "run"
    writer = SummaryWriter(str(run / "sft_model_logs"))
    for step in range(5):
        writer.add_scalar(report.LOSS_TAG, 2.0 / (step + 1), step)
    writer.close()
    report.write_result(run, "sft", fake_result(0.75), "test", log_dir=run / "sft_model_logs")
    report.write_result(run, "cot", fake_result(0.25), "test")
    assert run_cli(["report", run]) == 0
    assert "| sft | test | 4 | 0.750" in capsys.readouterr().out
    text = (run / "report.md").read_text()
    assert text.index("| cot |") < text.index("| sft |"), "methods in pipeline order"
    for name in ("accuracy", "loss", "categories", "pairs"):
        assert f"plots/{name}.png" in text
        image = imread(run / "plots" / f"{name}.png")
        assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100 and image.std() > 0
    assert "| torch |" in text and "| cpus |" in text


def test_loss_curve_is_the_latest_training_of_a_folder(tmp_path):
    import os

    from torch.utils.tensorboard import SummaryWriter

    folder = tmp_path / "sft_model_logs"
    for run, loss in enumerate((9.0, 1.0)):
        writer = SummaryWriter(str(folder), filename_suffix=f".{run}")
        for step in range(3):
            writer.add_scalar(report.LOSS_TAG, loss, step)
        writer.close()
    for path in folder.iterdir():  # the first training's file is the older one
        age = 1 if path.name.endswith(".0") else 0
        os.utime(path, (1000 - age, 1000 - age))
    steps, losses = report.loss_curves(tmp_path, [])["sft_model"]
    assert steps == [0, 1, 2] and losses == [1.0, 1.0, 1.0]


def test_report_without_results_is_a_clear_error(tmp_path, capsys):
    assert run_cli(["report", tmp_path]) == 1
    assert "unitlm pipeline" in capsys.readouterr().err


# --- pipeline -------------------------------------------------------------------------------------

@pytest.fixture()
def fake_stages(monkeypatch):
    """Every stage function the pipeline calls, replaced by a recorder: no model, no training."""
    from unitlm import cot, datagen, rft, sft

    calls = []

    def record(name, value):
        def fake(*args, **kwargs):
            calls.append((name, args, kwargs))
            if isinstance(value, Exception):
                raise value
            return value
        return fake

    def install(fail=None):
        fakes = {(cot, "test_model"): fake_result(0.25), (sft, "train_model"): fake_result(0.5),
                 (sft, "test_model"): fake_result(0.5), (rft, "train_model"): fake_result(0.75),
                 (rft, "test_model"): fake_result(0.75),
                 (datagen, "generate_data"): {"entries": 3, "success_rate": 0.5}}
        for (module, function), value in fakes.items():
            name = f"{module.__name__.split('.')[-1]}.{function}"
            monkeypatch.setattr(module, function, record(name, RuntimeError("boom") if name == fail else value))
        calls.clear()
        return calls

    monkeypatch.setattr(report, "environment", lambda: {"python": "3", "cpus": 2})
    # The full budget names the package's own adapter folders; a fake run must not stamp them.
    monkeypatch.setattr(pipeline, "_stamp_adapter", lambda result, command, stage: None)
    return install


def test_pipeline_runs_every_stage_once_into_the_run(tmp_path, fake_stages):
    calls = fake_stages()
    run = pipeline.run_pipeline("small", tmp_path / "run")
    assert [c[0] for c in calls] == ["cot.test_model", "sft.train_model", "sft.test_model", "rft.train_model",
                                     "datagen.generate_data", "rft.train_model", "rft.test_model"]
    sft_config, gold_config, datagen_config, rft_config = calls[1][1][0], calls[3][1][0], calls[4][1][0], calls[5][1][0]
    small = pipeline.BUDGETS["small"]
    assert sft_config.output_dir == str(run / "sft_model") and sft_config.max_examples == small.sft_examples
    assert gold_config.data_file == "train" and gold_config.output_dir == str(run / "rft_gold_model")
    assert datagen_config.adapter == gold_config.output_dir and datagen_config.out == str(run / "rft_data.json")
    assert datagen_config.max_questions == small.datagen_questions
    assert datagen_config.oversample == small.datagen_oversample and datagen_config.skip_questions == small.datagen_skip
    assert rft_config.data_file == datagen_config.out and rft_config.output_dir == str(run / "rft_model")
    assert sorted(p.stem for p in (run / "stages").glob("*.done")) == sorted(pipeline.STAGES)
    assert sorted(p.stem for p in (run / "results").glob("*.json")) == ["cot", "rft", "sft"]
    assert json.loads((run / "results" / "sft.json").read_text())["log_dir"] == str(run / "sft_model_logs")
    assert "| rft | test |" in (run / "report.md").read_text()


def test_full_budget_keeps_package_defaults(tmp_path, fake_stages):
    from unitlm import rft, sft

    calls = fake_stages()
    pipeline.run_pipeline("full", tmp_path / "run")
    sft_config, gold_config, rft_config = calls[1][1][0], calls[3][1][0], calls[5][1][0]
    assert sft_config == sft.SFTConfig(eval_questions=pipeline.Budget().valid_questions)
    assert gold_config.init_adapter == sft_config.output_dir, "RFT round 0 starts from the SFT adapter"
    assert rft_config.output_dir == rft.RFTConfig().output_dir and rft_config.max_examples is None
    assert calls[0][2] == {"split": "test", "max_question": None}


def test_pipeline_resumes_stage_by_stage(tmp_path, fake_stages):
    run = tmp_path / "run"
    fake_stages(fail="datagen.generate_data")
    with pytest.raises(RuntimeError, match="boom"):
        pipeline.run_pipeline("small", run)
    assert sorted(p.stem for p in (run / "stages").glob("*.done")) == ["cot", "data", "rft_gold", "sft"]

    calls = fake_stages()
    pipeline.run_pipeline("small", run)
    assert [c[0] for c in calls] == ["datagen.generate_data", "rft.train_model", "rft.test_model"]

    calls = fake_stages()
    pipeline.run_pipeline("small", run)
    assert calls == [], "a finished run redoes nothing"

    (run / "stages" / "sft.done").unlink()
    calls = fake_stages()
    pipeline.run_pipeline("small", run)
    assert [c[0] for c in calls] == ["sft.train_model", "sft.test_model"]


def test_pipeline_refuses_to_mix_budgets(tmp_path, fake_stages, capsys):
    fake_stages()
    pipeline.run_pipeline("small", tmp_path / "run")
    assert run_cli(["pipeline", "--budget", "full", "--run", tmp_path / "run"]) == 1
    assert "was started with --budget small" in capsys.readouterr().err


def test_pipeline_records_the_command_in_adapter_metadata(tmp_path):
    from unitlm.finetune import METADATA

    (tmp_path / METADATA).write_text(json.dumps({"stage": "sft"}))
    pipeline._stamp_adapter({"output_dir": str(tmp_path)}, "unitlm pipeline --budget full --run runs/full", "sft")
    pipeline._stamp_adapter({"output_dir": str(tmp_path / "missing")}, "x", "rft")  # no adapter: nothing to stamp
    metadata = json.loads((tmp_path / METADATA).read_text())
    assert metadata["reproduce"] == "unitlm pipeline --budget full --run runs/full"
    assert metadata["pipeline_stage"] == "sft"
