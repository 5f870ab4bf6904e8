"""Rejection sampling: sample K reasoning completions per train question, keep the correct ones.

    python -m unitlm.datagen runs/rft_data.json --adapter runs/rft_model   # policy: an RFT adapter
    python -m unitlm.datagen runs/cot_data.json --policy cot --oversample 16

The reward is the benchmark's own rule (`data.is_answer_valid`). Questions with
no correct sample are dropped; of the distinct correct reasonings (by the numbers and
operations they use) up to `--keep-per-question` are kept. Progress is saved after every chunk, so an
interrupted run resumes where it stopped. Beside OUT it writes a stats file (`rft_data.json` -> `rft_data.stats.json`),
which names files relative to OUT's folder.
"""

import argparse
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from tqdm.auto import tqdm

from .base_llm import ANSWER_CLOSE, parse_answer
from .data import DataError, Dataset, is_answer_valid, source_name, write_json_atomic
from .options import add_flags, from_flags, option, validate

_SIGNATURE = re.compile(r"\d+(?:\.\d+)?(?:e-?\d+)?|[*/+-]")


@dataclass
class DatagenConfig:
    out: str = option("runs/rft_data.json", "the JSON file of kept [question, answer, reasoning] entries")
    policy: str = option("rft", "rft: sample from an RFT adapter (round k makes round k+1's data); "
                                "cot: in-context prompting", choices=("rft", "cot"))
    adapter: str | None = option(None, "adapter folder of policy rft (default: the package's rft_model)")
    model: str | None = option(None, "base model (default: the embedded model)")
    train_file: str = option("train", "the questions to sample for: a split name or a data file")
    max_questions: int | None = option(320, "sample for only the first N questions after skip_questions "
                                            "(None: all)", at_least=1)
    skip_questions: int = option(0, "start at this question (e.g. past those the policy was trained on)",
                                 at_least=0)
    oversample: int = option(10, "completions sampled per question", at_least=1)
    temperature: float = option(0.7, "sampling temperature", at_least=0)
    keep_per_question: int = option(2, "distinct correct completions kept per question", at_least=1)
    chunk: int = option(32, "questions per saved step", at_least=1)
    seed: int = option(0, "seed; each chunk's seed derives from it and the chunk's index", at_least=0)

    def __post_init__(self):
        validate(self)


def signature(text: str) -> tuple[str, ...]:
    """What makes two reasonings different: the numbers and operations they use (the tags are neither).

    >>> signature("1 mile = 1609.34 meter. <answer>3 * 1609.34</answer>")
    ('1', '1609.34', '3', '*', '1609.34')
    """
    return tuple(_SIGNATURE.findall(text.replace(ANSWER_CLOSE, " ")))


def keep_correct(completions: list[str], answer: float, limit: int) -> list[str]:
    """Distinct correct completions, cut after their answer closes."""
    kept, seen = [], set()
    for text in completions:
        if "</answer>" not in text or not is_answer_valid(parse_answer(text), answer):
            continue
        reasoning = text[: text.index("</answer>") + len("</answer>")].strip()
        key = signature(reasoning)
        if key not in seen:
            seen.add(key)
            kept.append(reasoning)
    return kept[:limit]


def load_policy(config: DatagenConfig):
    if config.policy == "cot":
        from . import cot

        return cot.load(model=config.model)
    if config.policy == "rft":
        from . import rft

        return rft.load(config.adapter or rft.MODEL_DIR, model=config.model)
    raise ValueError(f"unknown policy {config.policy!r}: use rft or cot")


def _progress_path(out: Path, rank: int, world: int) -> Path:
    return out.with_name(out.name + (f".partial.rank{rank}.jsonl" if world > 1 else ".partial.jsonl"))


def torch_barrier() -> None:
    import torch.distributed

    torch.distributed.barrier()


def _done_chunks(progress: Path, config: DatagenConfig) -> dict[int, dict]:
    """Chunks an interrupted run finished; its settings must be these, or its samples would mix in."""
    done = {}
    if not progress.is_file():
        progress.write_text(json.dumps({"config": asdict(config)}) + "\n")
        return done
    lines = progress.read_text().splitlines()
    if not lines or json.loads(lines[0]).get("config") != asdict(config):
        raise ValueError(f"{progress} holds an interrupted run with other settings; "
                         "rerun with those settings to resume, or delete it to start over")
    for line in lines[1:]:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:  # a line cut by a kill: that chunk is redone
            continue
        done[record["chunk"]] = record
    return done


def portable(config: DatagenConfig) -> dict:
    """The config as the stats file records it: paths relative to the output's folder, splits by name."""
    values = asdict(config)
    for name in ("out", "adapter", "train_file"):
        if values[name] is not None:
            values[name] = source_name(values[name], Path(config.out).parent)
    return values


def generate_data(config: DatagenConfig, policy=None) -> dict:
    """Sample, filter, write `config.out` and the stats file beside it (`rft_data.stats.json`); returns the stats.

    Under `torchrun` each process takes every WORLD_SIZE-th chunk (the seeds depend
    on the chunk alone, so the data equals a one-process run) and rank 0 merges.
    """
    from .finetune import distributed

    world, rank = distributed()
    out = Path(config.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    dataset = Dataset(config.train_file)
    entries = dataset.data[config.skip_questions :][: config.max_questions]
    if not entries:
        raise DataError(f"{dataset.path}: no questions to sample for: skip_questions {config.skip_questions} "
                        f"passes all {len(dataset)} of them")
    chunks = [entries[i : i + config.chunk] for i in range(0, len(entries), config.chunk)]
    progress = _progress_path(out, rank, world)
    done = _done_chunks(progress, config)
    mine = [index for index in range(len(chunks)) if index % world == rank and index not in done]
    policy = (policy or load_policy(config)) if mine else policy
    with progress.open("a") as log:
        for index in tqdm(mine, desc="datagen", unit="chunk", disable=rank != 0):
            chunk = chunks[index]
            samples = policy.batched_generate(
                [policy.format_prompt(e[0]) for e in chunk],
                num_return_sequences=config.oversample,
                temperature=config.temperature,
                seed=config.seed * 100_003 + index,
            )
            kept = [keep_correct(s, e[1], config.keep_per_question) for e, s in zip(chunk, samples)]
            record = {
                "chunk": index,
                "samples": sum(len(s) for s in samples),
                "correct": sum(is_answer_valid(parse_answer(t), e[1]) for e, s in zip(chunk, samples) for t in s),
                "kept": [[e[0], e[1], r] for e, k in zip(chunk, kept) for r in k],
                "solved": sum(bool(k) for k in kept),
                "questions": len(chunk),
            }
            log.write(json.dumps(record) + "\n")
            log.flush()
            done[index] = record
    if world > 1:
        torch_barrier()
        if rank != 0:
            return None
        for other in range(1, world):
            done.update(_done_chunks(_progress_path(out, other, world), config))
    records = [done[i] for i in range(len(chunks))]
    data = [entry for record in records for entry in record["kept"]]
    stats = {
        "questions": sum(r["questions"] for r in records),
        "success_rate": sum(r["solved"] for r in records) / max(1, sum(r["questions"] for r in records)),
        "acceptance_rate": sum(r["correct"] for r in records) / max(1, sum(r["samples"] for r in records)),
        "entries": len(data),
        "config": portable(config),
    }
    write_json_atomic(out, data)
    write_json_atomic(out.with_name(out.stem + ".stats.json"), stats)
    for other in range(world):
        _progress_path(out, other, world).unlink()
    print(f"datagen: {stats['entries']} entries from {stats['questions']} questions; "
          f"success rate {stats['success_rate']:.3f}, acceptance rate {stats['acceptance_rate']:.3f} -> {out}")
    return stats


def main(argv=None):
    parser = argparse.ArgumentParser(prog="unitlm datagen", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="example: python -m unitlm.datagen runs/rft_data.json --oversample 10")
    parser.add_argument("out_file", nargs="?", help="output JSON (same as --out)")
    add_flags(parser, DatagenConfig)
    args = parser.parse_args(argv)
    if args.out_file:
        args.out = args.out_file
    generate_data(from_flags(args, DatagenConfig))


if __name__ == "__main__":
    main()
