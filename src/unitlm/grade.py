"""The course grader's checks, computed as the grader computes them.

    unitlm grade                             # the installed package
    unitlm grade handin.zip                  # a bundle (see `unitlm bundle`), imported from a temporary folder
    unitlm grade src --max-questions 20      # a folder holding unitlm/

The grader is the one of the course's homework 3 (UT Austin, Advances in Deep
Learning): `grader/tests.py` and `grader/grader.py`, as copies on GitHub hold them
(KramCoder/ADL-3, homework3_v3/grader/tests.py and grader.py; JasonTilleyGRAD/homework3_v3,
grader/tests.py). It goes through the public API only (`BaseLLM`, `load_cot`, `load_sft`,
`load_rft`, `data.Dataset`, `data.benchmark`), in five cases, in this order:

    case              points  limit  what it times and scores
    generate          10      40 s   BaseLLM(); generate(q) for the first 32 valid questions, one by one
    batched_generate  15      15 s   BaseLLM(); batched_generate(the same 32 questions)
    CoT accuracy      25      60 s   load_cot(); data.benchmark(model, Dataset("valid"), 100).accuracy
    SFT accuracy      25      60 s   load_sft(); the same
    RFT accuracy      25      60 s   load_rft(); the same

- Each load raises ValueError when the model has over 380M parameters.
- Generate loss: the 32 texts `q + generation` are tokenized together with padding=True, on
  the tokenizer's own padding side; one forward pass with the attention mask; the mean
  next-token cross-entropy over every position, pads included. Score 1 - (loss - 6.2) / 1.8,
  clipped to 0..1: full at 6.2 or under, none at 8.0 or over.
- Accuracy bands (linear, clipped): CoT 0.0-0.4, SFT 0.4-0.6, RFT 0.6-0.7 plus extra credit,
  0.2 of the case per 0.7-0.8 band, so RFT can reach 30 of its 25 points.
- A case earns int(share * points + 0.5). Its clock (time.time()) runs from the load to the
  score, loading included; a case that ends over its limit is not interrupted but scores 0
  ("Timeout after ... s"). A case that raises scores 0. The total is out of 100.

The copies differ in places: one has no 380M check, one gives the accuracy cases 120 s.
This module follows KramCoder/ADL-3's copy, which has the check and 60 s.
`--max-questions` other than 100 runs the accuracy cases on fewer questions than the grader.

This file imports nothing from unitlm at the top: it also runs as a script,
in a fresh process, to grade a package other than the one installed.
"""

import argparse
import importlib
import math
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MAX_PARAMETERS = 380_000_000
GENERATE_QUESTIONS = 32
GRADER_QUESTIONS = 100  # what the grader's accuracy cases benchmark
LOSS_BOUND = (6.2, 8.0)  # (full score at or under, no score at or over)
EXTRA_CREDIT_BOUND, EXTRA_CREDIT_RATIO = (0.7, 0.8), 5.0 / 25.0
# (case, points, time limit in seconds)
GENERATE_CASES = [("generate", 10, 40.0), ("batched_generate", 15, 15.0)]
# (case, loader, points, time limit in seconds, accuracy band)
ACCURACY_CASES = [
    ("CoT accuracy", "load_cot", 25, 60.0, (0.0, 0.4)),
    ("SFT accuracy", "load_sft", 25, 60.0, (0.4, 0.6)),
    ("RFT accuracy", "load_rft", 25, 60.0, (0.6, 0.7)),
]
EPILOG = "example: unitlm bundle --out handin.zip && unitlm grade handin.zip --max-questions 100"


@dataclass
class Row:
    name: str
    points: int
    score: int  # points earned; RFT's extra credit can take it over `points`
    detail: str


def case_score(share: float, points: int) -> int:
    """Points a case earns for a share of them, rounded as the grader rounds.

    >>> case_score(1.0, 10), case_score(0.5, 25), case_score(1.1, 25), case_score(0.0, 15)
    (10, 13, 28, 0)
    """
    return int(share * points + 0.5)


def clip01(value: float) -> float:
    return min(1.0, max(0.0, value))


def loss_share(loss: float) -> float:
    """Share of a generate case's points for a loss.

    >>> [round(loss_share(loss), 6) for loss in (5.0, 6.2, 7.1, 8.0, 13.9)]
    [1.0, 1.0, 0.5, 0.0, 0.0]
    """
    low, high = LOSS_BOUND
    return clip01(1.0 - (loss - low) / (high - low))


def accuracy_share(accuracy: float, band: tuple[float, float], extra_credit: bool = False) -> float:
    """Share of an accuracy case's points; with extra credit, 0.2 more over the 0.7-0.8 band.

    >>> accuracy_share(0.5, (0.4, 0.6)), accuracy_share(0.99, (0.6, 0.7), extra_credit=True)
    (0.5, 1.2)
    """
    share = clip01((accuracy - band[0]) / (band[1] - band[0]))
    if extra_credit:
        low, high = EXTRA_CREDIT_BOUND
        share += clip01((accuracy - low) / (high - low)) * EXTRA_CREDIT_RATIO
    return share


def grader_device() -> str:
    """The device the grader moves its tensors to."""
    import torch

    return "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"


def compute_loss(llm, full_texts: list[str]) -> float:
    """The grader's loss: the texts padded together by the tokenizer, mean cross-entropy over every position."""
    import torch

    device = grader_device()
    with torch.no_grad():
        tokens = llm.tokenizer(full_texts, return_tensors="pt", padding=True)
        output = llm.model(input_ids=tokens["input_ids"].to(device), attention_mask=tokens["attention_mask"].to(device))
        logits = output.logits[..., :-1, :].contiguous()
        labels = tokens["input_ids"][..., 1:].contiguous().to(device)
        loss = torch.nn.functional.cross_entropy(logits.view(-1, logits.size(-1)), labels.view(-1))
        # As the grader writes it: a scalar times the mask, summed, over the mask's sum, is the scalar again.
        loss = loss * tokens["attention_mask"][..., 1:].contiguous().to(device)
        loss = loss.sum() / tokens["attention_mask"][..., 1:].sum()
        return loss.cpu().item()


def load_checked(loader: Callable):
    """A model from `loader`, refused over 380M parameters, in eval mode, as the grader loads it."""
    llm = loader()
    count = sum(p.numel() for p in llm.model.parameters())
    if count > MAX_PARAMETERS:
        raise ValueError(f"Model has {count} parameters, which is greater than the maximum allowed {MAX_PARAMETERS}")
    llm.model.eval()
    return llm


def run_case(name: str, points: int, limit: float, check: Callable[[], tuple[float, str]]) -> Row:
    """One timed case: `check` returns (share of the points, detail)."""
    try:
        tick = time.time()
        share, detail = check()
        elapsed = time.time() - tick
    except Exception as error:  # noqa: BLE001 - the grader scores a crash as 0
        return Row(name, points, 0, f"{type(error).__name__}: {error}")
    timing = f"{elapsed:.2f} s (limit {limit:g} s)"
    if elapsed > limit:
        return Row(name, points, 0, f"Timeout after {elapsed:.2f} s (limit {limit:g} s); {detail}")
    if math.isnan(share):
        return Row(name, points, 0, f"{detail}; a NaN score crashes the grader")
    return Row(name, points, case_score(share, points), f"{detail}; {timing}")


def generate_check(pkg, batched: bool) -> Callable[[], tuple[float, str]]:
    def check():
        llm = load_checked(pkg.BaseLLM)
        dataset = pkg.data.Dataset("valid")
        questions = [dataset[i][0] for i in range(GENERATE_QUESTIONS)]
        answers = llm.batched_generate(questions) if batched else [llm.generate(q) for q in questions]
        loss = compute_loss(llm, [questions[i] + answers[i] for i in range(len(questions))])
        empty = sum(not answer.strip() for answer in answers)
        detail = f"loss {loss:.2f} (full at {LOSS_BOUND[0]}, none at {LOSS_BOUND[1]}), {empty} of {len(answers)} empty"
        return loss_share(loss), detail
    return check


def accuracy_check(pkg, loader: str, band: tuple[float, float], max_question: int) -> Callable[[], tuple[float, str]]:
    extra_credit = loader == "load_rft"

    def check():
        dataset = pkg.data.Dataset("valid")
        model = load_checked(getattr(pkg, loader))
        accuracy = pkg.data.benchmark(model, dataset, max_question).accuracy
        bands = f"band {band[0]}-{band[1]}" + (", extra credit 0.7-0.8" if extra_credit else "")
        detail = f"accuracy {accuracy:.3f} on {max_question} valid questions ({bands})"
        return accuracy_share(accuracy, band, extra_credit), detail
    return check


def run_checks(pkg, max_question: int = GRADER_QUESTIONS) -> list[Row]:
    rows = []
    for (name, points, limit), batched in zip(GENERATE_CASES, (False, True)):
        print(f"grade: {name} ...", file=sys.stderr, flush=True)
        rows.append(run_case(name, points, limit, generate_check(pkg, batched)))
    for name, loader, points, limit, band in ACCURACY_CASES:
        print(f"grade: {name} on {max_question} valid questions ...", file=sys.stderr, flush=True)
        rows.append(run_case(name, points, limit, accuracy_check(pkg, loader, band, max_question)))
    return rows


def score_table(rows: list[Row]) -> str:
    lines = [f"{'case':<18} {'score':>8}  detail"]
    lines += [f"{r.name:<18} {r.score:>3d} / {r.points:<3d} {r.detail}" for r in rows]
    lines.append(f"{'total':<18} {sum(r.score for r in rows):>3d} / {sum(r.points for r in rows):<3d}")
    return "\n".join(lines)


def package_root(target: Path, scratch: Path) -> Path:
    """The folder to put on sys.path so that `import unitlm` finds the package in `target`."""
    if zipfile.is_zipfile(target):
        with zipfile.ZipFile(target) as archive:
            archive.extractall(scratch)
        target = scratch
    for root in (target, target / "src", target.parent):
        if (root / "unitlm" / "__init__.py").is_file():
            return root
    raise FileNotFoundError(f"no unitlm package (unitlm/__init__.py) in {target}")


def report(pkg, max_question: int) -> None:
    if max_question != GRADER_QUESTIONS:
        print(f"grade: accuracy on {max_question} questions; the grader uses {GRADER_QUESTIONS}", file=sys.stderr)
    print(score_table(run_checks(pkg, max_question)))


def grade(target: Path | None, max_question: int) -> int:
    if target is None:
        report(importlib.import_module("unitlm"), max_question)
        return 0
    with tempfile.TemporaryDirectory(prefix="unitlm-grade-") as scratch:
        root = package_root(Path(target), Path(scratch)).resolve()
        loaded = sys.modules.get("unitlm")
        if loaded is not None and Path(loaded.__file__).parent.resolve() != root / "unitlm":
            # Another unitlm is already imported here: grade in a fresh process that imports only `root`'s.
            command = [sys.executable, str(Path(__file__).resolve()), str(root), "--max-questions", str(max_question)]
            return subprocess.run(command).returncode
        if loaded is None:
            sys.path.insert(0, str(root))
        pkg = importlib.import_module("unitlm")
        if Path(pkg.__file__).parent.resolve() != root / "unitlm":
            raise ImportError(f"imported unitlm from {pkg.__file__}, not from {root}")
        print(f"grading {pkg.__file__}", file=sys.stderr)
        report(pkg, max_question)
    return 0


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="unitlm grade", description=__doc__, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", nargs="?", type=Path, default=None,
                        help="a zip or a folder holding unitlm/ (default: the installed package)")
    parser.add_argument("--max-questions", "--max-question", dest="max_questions", type=positive_int,
                        default=GRADER_QUESTIONS, metavar="N", help=f"valid questions per accuracy case (the grader uses {GRADER_QUESTIONS})")
    args = parser.parse_args(argv)
    return grade(args.target, args.max_questions)


if __name__ == "__main__":
    # Run as a script: this file's folder is the package itself; keep it off sys.path so that
    # `import unitlm` finds only the package being graded.
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if p and str(Path(p).resolve()) != here]
    sys.exit(main())
