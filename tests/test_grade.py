"""`unitlm grade`: the course grader's cases, losses, bands, rounding and time limits, on stubs and the tiny Llama."""

import importlib.util
import math
import types
import zipfile
from pathlib import Path

import pytest
import torch

from unitlm import cli, grade

STUB_PACKAGE = '''"""A stand-in course submission: a zero-weight model and canned accuracies."""
import types

import torch

VOCAB = 1097  # zero weights give a uniform next token: every position's loss is ln(1097) = 7.0


class _Tokenizer:
    padding_side = "left"

    def __call__(self, texts, return_tensors="pt", padding=False):
        rows = [[ord(c) % VOCAB for c in text] for text in texts]
        width = max(len(row) for row in rows)
        ids = [[0] * (width - len(row)) + row for row in rows]
        mask = [[0] * (width - len(row)) + [1] * len(row) for row in rows]
        return {"input_ids": torch.tensor(ids), "attention_mask": torch.tensor(mask)}


class _Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.head = torch.nn.Linear(2, VOCAB)
        torch.nn.init.zeros_(self.head.weight)
        torch.nn.init.zeros_(self.head.bias)

    def forward(self, input_ids, attention_mask):
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


data = types.SimpleNamespace(Dataset=lambda split: [[f"How many m in {i} km?", 1000.0 * i] for i in range(200)],
                             benchmark=_benchmark)


def load_cot():
    return types.SimpleNamespace(accuracy=0.2, model=torch.nn.Linear(2, 2))


def load_sft():
    return types.SimpleNamespace(accuracy=0.5, model=torch.nn.Linear(2, 2))


def load_rft():
    raise FileNotFoundError("No trained adapter in rft_model. Make one with: python -m unitlm.rft train")
'''
# Uniform logits: the loss is ln(1097) at every position, pads included.
STUB_LOSS_SHARE = 1.0 - (math.log(1097) - 6.2) / 1.8  # 0.555: 6 of 10 and 8 of 15 points
STUB_SCORES = {"generate": 6, "batched_generate": 8, "CoT accuracy": 13, "SFT accuracy": 13, "RFT accuracy": 0}


def stub_package(root: Path) -> Path:
    (root / "unitlm").mkdir(parents=True)
    (root / "unitlm" / "__init__.py").write_text(STUB_PACKAGE)
    return root / "unitlm" / "__init__.py"


@pytest.fixture()
def stub(tmp_path):
    spec = importlib.util.spec_from_file_location("stub_submission", stub_package(tmp_path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cases_points_and_bands_on_a_stub(stub):
    rows = {row.name: row for row in grade.run_checks(stub)}
    assert list(rows) == ["generate", "batched_generate", "CoT accuracy", "SFT accuracy", "RFT accuracy"]
    assert {name: row.points for name, row in rows.items()} == {
        "generate": 10, "batched_generate": 15, "CoT accuracy": 25, "SFT accuracy": 25, "RFT accuracy": 25}
    assert {name: row.score for name, row in rows.items()} == STUB_SCORES
    assert "loss 7.00" in rows["generate"].detail
    assert "No trained adapter" in rows["RFT accuracy"].detail
    assert grade.score_table(list(rows.values())).splitlines()[-1].split() == ["total", "40", "/", "100"]


def test_rft_extra_credit_goes_over_its_points(stub):
    stub.load_rft = lambda: types.SimpleNamespace(accuracy=0.75, model=torch.nn.Linear(2, 2))
    rows = {row.name: row for row in grade.run_checks(stub)}
    assert rows["RFT accuracy"].score == 28  # (1 + 0.2 * 0.5) * 25, rounded as the grader rounds


def test_a_model_over_380m_parameters_scores_0(stub):
    stub.load_sft = lambda: types.SimpleNamespace(accuracy=1.0, model=torch.nn.Linear(20_000, 20_000, device="meta"))
    row = grade.run_checks(stub)[3]
    assert row.name == "SFT accuracy" and row.score == 0
    assert "ValueError" in row.detail and "400020000 parameters" in row.detail


def test_a_case_over_its_time_limit_scores_0_and_says_so(stub, monkeypatch):
    """The grader times each case with time.time() and does not stop it: past its limit, 0 points."""
    clock = iter(range(0, 10_000, 50))  # each reading 50 s after the one before
    monkeypatch.setattr(grade, "time", types.SimpleNamespace(time=lambda: next(clock)))
    rows = {row.name: row for row in grade.run_checks(stub)}
    assert rows["generate"].score == 0 and "Timeout after 50.00 s (limit 40 s)" in rows["generate"].detail
    assert rows["batched_generate"].score == 0 and rows["SFT accuracy"].score == 13  # 50 s: within 60 s


TEXTS = ["How many feet are in 3 miles? 15840", "ok, 5 m", "Convert 12.5 nautical miles to km, please, and show it."]


def test_loss_is_the_models_own_loss_over_the_padded_batch(tiny_llm):
    """Labels = input_ids over the batch padded on the tokenizer's side, no -100 anywhere."""
    tokens = tiny_llm.tokenizer(TEXTS, return_tensors="pt", padding=True)
    assert not tokens["attention_mask"].all()
    with torch.no_grad():
        own = tiny_llm.model(**tokens, labels=tokens["input_ids"]).loss.item()
    assert grade.compute_loss(tiny_llm, TEXTS) == pytest.approx(own, rel=1e-5)


class _Oracle(torch.nn.Module):
    """Certain of every real next token; uniform where the next token is a pad."""

    def __init__(self, vocab: int):
        super().__init__()
        self.vocab = vocab

    def forward(self, input_ids, attention_mask):
        logits = torch.zeros(*input_ids.shape, self.vocab)
        certain = torch.where(attention_mask[:, 1:].bool(), 100.0, 0.0)
        logits[:, :-1].scatter_(-1, input_ids[:, 1:, None], certain[..., None])
        return types.SimpleNamespace(logits=logits)


def test_loss_counts_the_pads(tiny_llm):
    """With every real token predicted for certain, all the loss is the pads': ln(vocab) at each,
    averaged over every position of the padded batch."""
    llm = types.SimpleNamespace(tokenizer=tiny_llm.tokenizer, model=_Oracle(len(tiny_llm.tokenizer)))
    mask = tiny_llm.tokenizer(TEXTS, return_tensors="pt", padding=True)["attention_mask"][:, 1:]
    pads = int((mask == 0).sum())
    assert pads > 0
    expected = pads * math.log(len(tiny_llm.tokenizer)) / mask.numel()
    assert grade.compute_loss(llm, TEXTS) == pytest.approx(expected, rel=1e-4)


def test_generate_case_on_the_tiny_llama(tiny_llm, monkeypatch):
    """BaseLLM through the case, end to end: 32 raw questions, each continued, one padded loss."""
    pkg = types.SimpleNamespace(BaseLLM=lambda: tiny_llm, data=importlib.import_module("unitlm.data"))
    monkeypatch.setattr(tiny_llm, "raw_new_tokens", 5)
    share, detail = grade.generate_check(pkg, batched=True)()
    questions = [pkg.data.Dataset("valid")[i][0] for i in range(grade.GENERATE_QUESTIONS)]
    answers = tiny_llm.batched_generate(questions)
    assert all(answers) and "0 of 32 empty" in detail
    assert share == grade.loss_share(grade.compute_loss(tiny_llm, [q + a for q, a in zip(questions, answers)]))


def test_generation_leaves_the_tokenizers_padding_side(tiny_llm):
    """Generation pads left on its own; the tokenizer keeps the side it was loaded with (right),
    the side the grader's loss pads q + generation on. Left there, the pads would open each row."""
    tiny_llm.batched_generate(TEXTS)
    assert tiny_llm.tokenizer.padding_side == "right"
    mask = tiny_llm.tokenizer(TEXTS, return_tensors="pt", padding=True)["attention_mask"]
    assert mask[:, 0].all() and not mask[:, -1].all()


def test_max_question_out_of_range_is_one_line(capsys):
    with pytest.raises(SystemExit):
        cli.main(["grade", "--max-questions", "-5"])
    assert "must be 1 or more" in capsys.readouterr().err


def test_grade_a_zip_imports_the_package_inside_it(tmp_path, capfd):
    stub_package(tmp_path / "pkg")
    zip_path = tmp_path / "handin.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.write(tmp_path / "pkg" / "unitlm" / "__init__.py", "unitlm/__init__.py")
    try:
        code = cli.main(["grade", str(zip_path), "--max-question", "3"])
    except SystemExit as exit:
        code = exit.code
    assert code == 0
    captured = capfd.readouterr()
    assert "SFT accuracy" in captured.out and "No trained adapter" in captured.out and "40 / 100" in captured.out
    assert "the grader uses 100" in captured.err
