"""Datasets, the one scoring rule, and the benchmark.

    from unitlm import data
    result = data.benchmark(model, data.Dataset("valid"), 100)

A dataset is a JSON list of `[question, answer]` or `[question, answer, reasoning]`.
The shipped splits carry a sidecar `<split>.tags.json` (unit category, and
whether the unit pair is unseen in training) so results can be broken down.
"""

import hashlib
import json
import math
import os
import sys
import tempfile
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

SPLITS_DIR = Path(__file__).parent / "splits"
SPLITS = ("train", "valid", "test", "written", "ambiguous", "forms", "letters", "shorthand", "more")
LOW_ANSWER_RATE = 0.5


class DataError(ValueError):
    """A data file that cannot be used, with the file and entry named."""


def split_path(split: str) -> Path:
    return SPLITS_DIR / f"{split}.json"


def resolve(split_or_path: str | Path) -> Path:
    return split_path(str(split_or_path)) if str(split_or_path) in SPLITS else Path(split_or_path)


def source_name(split_or_path: str | Path, run_dir: str | Path) -> str:
    """How run metadata names a file: a split by its name, any other path relative to the run folder.

    >>> source_name("train", "runs/full"), source_name("runs/full/rft_data.json", "runs/full")
    ('train', 'rft_data.json')
    """
    if str(split_or_path) in SPLITS:
        return str(split_or_path)
    return os.path.relpath(Path(split_or_path).resolve(), Path(run_dir).resolve())


def file_hash(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


class Dataset:
    def __init__(self, split_or_path: str | Path = "train"):
        path = resolve(split_or_path)
        self.path = path
        self.data = read_entries(path)
        tags_path = path.with_suffix(".tags.json")
        try:
            self.tags = json.loads(tags_path.read_text()) if tags_path.is_file() else None
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise DataError(f"{tags_path}: not a JSON file ({error})") from None
        if self.tags is not None and len(self.tags) != len(self.data):
            raise DataError(f"{tags_path}: {len(self.tags)} tags for {len(self.data)} entries")

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        return self.data[index]

    def __iter__(self):
        return iter(self.data)


def read_entries(path: Path) -> list[list]:
    """Entries of a data file, checked: `[str, finite number]` plus an optional reasoning string."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such data file (splits are {', '.join(SPLITS)})")
    try:
        entries = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: not a JSON file ({error})") from None
    if not isinstance(entries, list):
        raise DataError(f"{path}: expected a JSON list of [question, answer] entries")
    for index, entry in enumerate(entries):
        problem = _entry_problem(entry)
        if problem:
            raise DataError(f"{path}: entry {index} {problem}: {json.dumps(entry)[:200]}")
    return entries


def _entry_problem(entry) -> str | None:
    if not isinstance(entry, list) or len(entry) not in (2, 3):
        return "is not [question, answer] or [question, answer, reasoning]"
    question, answer = entry[0], entry[1]
    if not isinstance(question, str) or not question.strip():
        return "has no question text"
    if isinstance(answer, bool) or not isinstance(answer, (int, float)) or not math.isfinite(answer):
        return "has an answer that is not a finite number"
    if len(entry) == 3 and not isinstance(entry[2], str):
        return "has a reasoning that is not a string"
    return None


def write_json_atomic(path: Path, value) -> None:
    """Write JSON to a temporary file beside `path`, then rename: readers never see half a file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(value, handle, indent=1)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def is_answer_valid(answer: float, correct_answer: float, relative_tolerance: float = 0.05) -> bool:
    """The scoring rule, and the RFT reward: within 5% after rounding both to 3 decimals.

    >>> is_answer_valid(6000, 6000.0), is_answer_valid(6250, 6000), is_answer_valid(float("nan"), 1)
    (True, True, False)
    >>> is_answer_valid(0.0004, 0.0), is_answer_valid(0.002, 0.0)
    (True, False)
    """
    try:
        answer, correct_answer = float(answer), float(correct_answer)
    except (TypeError, ValueError):
        return False
    if not (math.isfinite(answer) and math.isfinite(correct_answer)):
        return False
    difference = abs(round(answer, 3) - round(correct_answer, 3))
    return difference < 1e-3 or difference < relative_tolerance * abs(round(correct_answer, 3))


@dataclass
class Sample:
    question: str
    answer: float
    correct_answer: float
    is_correct: bool
    tags: dict | None = None


@dataclass
class BenchmarkResult:
    accuracy: float
    answer_rate: float
    samples: list[Sample]
    by_group: dict[str, dict[str, float]] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [f"accuracy {self.accuracy:.3f}  answer_rate {self.answer_rate:.3f}  (n={len(self.samples)})"]
        for group, stats in sorted(self.by_group.items()):
            lines.append(f"  {group:<28} accuracy {stats['accuracy']:.3f}  (n={int(stats['n'])})")
        return "\n".join(lines)


def benchmark(model, dataset: Dataset, max_question: int | None = None) -> BenchmarkResult:
    """Answer the first `max_question` questions (None: all) with `model.answer` and score them.

    The argument keeps the name course graders call it by; everywhere else it is `max_questions`.
    """
    if max_question is not None and max_question < 1:
        raise ValueError(f"max_question must be at least 1 (None: every question), not {max_question}")
    entries = dataset.data[:max_question]
    _warn_on_leakage(model, [entry[0] for entry in entries])
    tags = dataset.tags[: len(entries)] if getattr(dataset, "tags", None) else [None] * len(entries)
    answers = model.answer(*[entry[0] for entry in entries])
    samples = [
        Sample(entry[0], float(answer), float(entry[1]), is_answer_valid(answer, entry[1]), tag)
        for entry, answer, tag in zip(entries, answers, tags)
    ]
    n = max(len(samples), 1)
    result = BenchmarkResult(
        accuracy=sum(s.is_correct for s in samples) / n,
        answer_rate=sum(not math.isnan(s.answer) for s in samples) / n,
        samples=samples,
        by_group=_groups(samples),
    )
    if samples and result.answer_rate < LOW_ANSWER_RATE:
        _shout_low_answer_rate(result)
    return result


def benchmark_and_print(model, name: str, split: str = "valid", max_questions: int | None = None) -> BenchmarkResult:
    """The stages' `test` command: score the first `max_questions` of a split and print the summary."""
    result = benchmark(model, Dataset(split), max_questions)
    print(f"{name} on {split}: {result.summary()}")
    return result


def _warn_on_leakage(model, questions: list[str]) -> None:
    """Warn when evaluated questions were in the adapter's training file (named in its metadata,
    relative to the folder that holds the adapter: its run folder)."""
    metadata = getattr(model, "metadata", None) or {}
    name = metadata.get("train_file")
    if not name:
        return
    folder = getattr(model, "adapter_dir", None)
    path = resolve(name) if name in SPLITS or folder is None else Path(folder).parent / name
    if not path.is_file():
        return
    if metadata.get("train_file_sha256") not in (None, file_hash(path)):
        warnings.warn(f"the adapter's train file {path} changed since training; leakage not checked", stacklevel=3)
        return
    train = {entry[0] for entry in read_entries(path)}
    overlap = sum(question in train for question in questions)
    if overlap:
        warnings.warn(f"{overlap} of {len(questions)} evaluated questions are in the adapter's train file "
                      f"{path}: this accuracy measures memory, not generalization", stacklevel=3)


def _groups(samples: list[Sample]) -> dict[str, dict[str, float]]:
    groups = defaultdict(list)
    for sample in samples:
        if sample.tags:
            groups[f"category/{sample.tags['category']}"].append(sample.is_correct)
            groups["pairs/unseen" if sample.tags.get("unseen_pair") else "pairs/seen"].append(sample.is_correct)
    return {name: {"accuracy": sum(v) / len(v), "n": len(v)} for name, v in groups.items()}


def _shout_low_answer_rate(result: BenchmarkResult):
    message = (
        f"answer_rate is {result.answer_rate:.2f} (< {LOW_ANSWER_RATE}): most outputs have no "
        "<answer>NUMBER</answer>. The likely cause is that the model's output format does not match "
        "the parser (a prompt format different from the one it was trained on, or an untrained model)."
    )
    print("\n" + "!" * 80 + f"\nWARNING: {message}\n" + "!" * 80 + "\n", file=sys.stderr)
    warnings.warn(message, stacklevel=3)
