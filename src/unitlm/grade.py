"""The checks a course grader makes, with its score bands.

    unitlm grade                             # the installed package
    unitlm grade handin.zip                  # a bundle (see `unitlm bundle`), imported from a temporary folder
    unitlm grade src --max-question 20       # a folder holding unitlm/

Checks, as the grader makes them, through the public API only (`BaseLLM`,
`load_cot`, `load_sft`, `load_rft`, `data.Dataset`, `data.benchmark`):

- the base model has at most 380M parameters;
- `generate` and `batched_generate` on raw valid questions give a low loss on
  their own outputs (mean token NLL of question + generation): full score at or
  under 6.2, none at 8.0 or over;
- accuracy on the first 100 valid questions: CoT in band 0-0.4, SFT 0.4-0.6,
  RFT 0.6-0.7, and RFT extra credit 0.7-0.8 (linear inside each band).

A check that fails (a missing adapter, say) scores 0 with its message.
This file imports nothing from unitlm at the top: it also runs as a script,
in a fresh process, to grade a package other than the one installed.
"""

import argparse
import importlib
import math
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

MAX_PARAMETERS = 380_000_000
GENERATION_QUESTIONS = 8
LOSS_BAND = (8.0, 6.2)  # (no score, full score)
# (row, points, accuracy with no score, accuracy with full score)
ACCURACY_ROWS = {
    "cot": [("CoT accuracy", 25, 0.0, 0.4)],
    "sft": [("SFT accuracy", 25, 0.4, 0.6)],
    "rft": [("RFT accuracy", 25, 0.6, 0.7), ("RFT extra credit", 5, 0.7, 0.8)],
}
EXTRA_CREDIT = {"RFT extra credit"}
EPILOG = "example: unitlm bundle --out handin.zip && unitlm grade handin.zip --max-question 100"


@dataclass
class Row:
    name: str
    points: float
    fraction: float  # share of the points earned, 0..1
    detail: str

    @property
    def score(self) -> float:
        return self.points * self.fraction


def band(value: float, none_at: float, full_at: float) -> float:
    """Linear from 0 at `none_at` to 1 at `full_at`, clamped; works in either direction.

    >>> band(0.5, 0.4, 0.6), band(6.2, 8.0, 6.2), band(9.0, 8.0, 6.2), band(float("nan"), 0, 1)
    (0.5, 1.0, 0.0, 0.0)
    """
    if math.isnan(value):
        return 0.0
    return round(min(1.0, max(0.0, (value - none_at) / (full_at - none_at))), 6)


def _failed(name: str, points: float, error: Exception) -> Row:
    return Row(name, points, 0.0, f"{type(error).__name__}: {error}")


def self_loss(llm, texts: list[str]) -> float:
    """Mean next-token NLL the model assigns to `texts` (one at a time, so no padding enters)."""
    import torch

    device = next(llm.model.parameters()).device
    total, count = 0.0, 0
    with torch.no_grad():
        for text in texts:
            ids = llm.tokenizer(text, return_tensors="pt")["input_ids"].to(device)
            logits = llm.model(input_ids=ids).logits.float()
            total += torch.nn.functional.cross_entropy(logits[0, :-1], ids[0, 1:], reduction="sum").item()
            count += ids.shape[1] - 1
    return total / max(count, 1)


def base_rows(pkg, questions: list[str]) -> list[Row]:
    names = [("parameters <= 380M", 5), ("generate (non-batched)", 10), ("batched_generate", 10)]
    try:
        llm = pkg.BaseLLM()
    except Exception as error:  # noqa: BLE001 - a grader scores a crash as 0
        return [_failed(name, points, error) for name, points in names]
    rows = []
    try:
        count = sum(p.numel() for p in llm.model.parameters())
        rows.append(Row(*names[0], float(count <= MAX_PARAMETERS), f"{count:,} parameters"))
    except Exception as error:  # noqa: BLE001
        rows.append(_failed(*names[0], error))
    for (name, points), batched in zip(names[1:], (False, True)):
        try:
            answers = llm.batched_generate(questions) if batched else [llm.generate(q) for q in questions]
            loss = self_loss(llm, [q + a for q, a in zip(questions, answers)])
            rows.append(Row(name, points, band(loss, *LOSS_BAND), f"loss {loss:.2f} on its own outputs"))
        except Exception as error:  # noqa: BLE001
            rows.append(_failed(name, points, error))
    return rows


def accuracy_rows(pkg, method: str, max_question: int) -> list[Row]:
    rows = ACCURACY_ROWS[method]
    try:
        model = getattr(pkg, f"load_{method}")()
        accuracy = pkg.data.benchmark(model, pkg.data.Dataset("valid"), max_question).accuracy
    except Exception as error:  # noqa: BLE001 - a missing adapter scores 0, with its message
        return [_failed(name, points, error) for name, points, _, _ in rows]
    detail = f"accuracy {accuracy:.3f} on {max_question} valid questions"
    return [Row(name, points, band(accuracy, low, high), f"{detail} (band {low}-{high})")
            for name, points, low, high in rows]


def run_checks(pkg, max_question: int) -> list[Row]:
    try:
        dataset = pkg.data.Dataset("valid")
        questions = [dataset[i][0] for i in range(min(GENERATION_QUESTIONS, max_question, len(dataset)))]
    except Exception as error:  # noqa: BLE001
        questions = []
        print(f"grade: cannot read the valid split ({type(error).__name__}: {error})", file=sys.stderr)
    rows = base_rows(pkg, questions)
    for method in ACCURACY_ROWS:
        print(f"grade: {method} on {max_question} valid questions ...", file=sys.stderr, flush=True)
        rows += accuracy_rows(pkg, method, max_question)
    return rows


def score_table(rows: list[Row]) -> str:
    lines = [f"{'check':<24} {'score':>11}  detail"]
    lines += [f"{r.name:<24} {r.score:>5.1f} / {r.points:<3g}  {r.detail}" for r in rows]
    main_rows = [r for r in rows if r.name not in EXTRA_CREDIT]
    extra = [r for r in rows if r.name in EXTRA_CREDIT]
    lines.append(f"{'total':<24} {sum(r.score for r in main_rows):>5.1f} / {sum(r.points for r in main_rows):<3g}"
                 f"  + {sum(r.score for r in extra):.1f} / {sum(r.points for r in extra):g} extra credit")
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


def grade(target: Path | None, max_question: int) -> int:
    if target is None:
        pkg = importlib.import_module("unitlm")
        print(score_table(run_checks(pkg, max_question)))
        return 0
    with tempfile.TemporaryDirectory(prefix="unitlm-grade-") as scratch:
        root = package_root(Path(target), Path(scratch)).resolve()
        loaded = sys.modules.get("unitlm")
        if loaded is not None and Path(loaded.__file__).parent.resolve() != root / "unitlm":
            # Another unitlm is already imported here: grade in a fresh process that imports only `root`'s.
            command = [sys.executable, str(Path(__file__).resolve()), str(root), "--max-question", str(max_question)]
            return subprocess.run(command).returncode
        if loaded is None:
            sys.path.insert(0, str(root))
        pkg = importlib.import_module("unitlm")
        if Path(pkg.__file__).parent.resolve() != root / "unitlm":
            raise ImportError(f"imported unitlm from {pkg.__file__}, not from {root}")
        print(f"grading {pkg.__file__}", file=sys.stderr)
        print(score_table(run_checks(pkg, max_question)))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="unitlm grade", description=__doc__, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", nargs="?", type=Path, default=None,
                        help="a zip or a folder holding unitlm/ (default: the installed package)")
    parser.add_argument("--max-question", type=int, default=100, help="valid questions per accuracy check")
    args = parser.parse_args(argv)
    return grade(args.target, args.max_question)


if __name__ == "__main__":
    # Run as a script: this file's folder is the package itself; keep it off sys.path so that
    # `import unitlm` finds only the package being graded.
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if p and str(Path(p).resolve()) != here]
    sys.exit(main())
