"""Every stage end to end into one run folder, resumable stage by stage, then the report.

    unitlm pipeline                          # small budget into runs/small (9 minutes on 2 cores)
    unitlm pipeline --budget full            # into runs/full; trains the shipped adapters (28 minutes on 2 cores)
    unitlm pipeline --run runs/try2          # another folder; run the same command again to resume

Stages: data (record the shipped splits), cot (eval), sft (train + test),
rft_gold (RFT round 0: the SFT adapter, trained further on the generator's
gold reasoning), datagen (sample from that adapter, keep what is correct),
rft (train on the kept samples + test), then `unitlm report`. A finished stage writes
RUN/stages/<name>.done with its result and is skipped on a rerun; delete that
file to redo it. Results go to RUN/results/<method>.json (see report.py).
"""

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from . import report

STAGES = ("data", "cot", "sft", "rft_gold", "datagen", "rft")
EPILOG = "example: unitlm pipeline --budget small && unitlm report runs/small"


@dataclass
class Budget:
    """What a run may spend. None means the stage's own default (its config dataclass or function)."""

    eval_split: str = "test"
    eval_questions: int | None = None  # per method; None: the whole split
    valid_questions: int | None = 300  # the check each training ends with; None: all of valid
    sft_examples: int | None = None
    sft_epochs: float | None = None
    rft_gold_examples: int | None = None  # round 0: gold-reasoning examples, starting from the SFT adapter
    rft_mix_gold: int | None = None  # round 1: gold examples mixed into the kept samples
    rft_learning_rate: float | None = None  # round 1 continues round 0's adapter, gently
    datagen_questions: int | None = None
    datagen_skip: int | None = None  # train questions to skip: those round 0 trained on
    datagen_oversample: int | None = None
    adapters_in_run: bool = False  # True: adapters and RFT data under RUN; False: the package's own folders


BUDGETS = {
    # Timed at 8 min 59 s with setup from a fresh clone on 2 CPU cores (README); the bar is 15 minutes.
    "small": Budget(eval_questions=100, valid_questions=100, sft_examples=3072, rft_gold_examples=1024,
                    datagen_questions=192, datagen_skip=1024, datagen_oversample=8, rft_learning_rate=1e-4,
                    adapters_in_run=True),
    # The recipe of the shipped adapters, written to the package folders; timed at 27 min 37 s (README).
    "full": Budget(rft_gold_examples=5000, datagen_skip=5000, rft_learning_rate=1e-4),
}


def _set(**fields) -> dict:
    """Only the fields a budget sets, so every other value keeps its default from the config class."""
    return {key: value for key, value in fields.items() if value is not None}


def _in_run(run: Path, budget: Budget, name: str) -> str | None:
    return str(run / name) if budget.adapters_in_run else None


def stage_data(run: Path, budget: Budget, earlier: dict) -> dict:
    from .data import SPLITS, Dataset, file_hash, split_path

    return {split: {"path": str(split_path(split)), "n": len(Dataset(split)), "sha256": file_hash(split_path(split))}
            for split in SPLITS}


def stage_cot(run: Path, budget: Budget, earlier: dict) -> dict:
    from . import cot

    result = cot.test_model(split=budget.eval_split, max_question=budget.eval_questions)
    return report.write_result(run, "cot", result, budget.eval_split)


def stage_sft(run: Path, budget: Budget, earlier: dict) -> dict:
    from . import sft

    config = sft.SFTConfig(**_set(output_dir=_in_run(run, budget, "sft_model"), max_examples=budget.sft_examples,
                                  epochs=budget.sft_epochs, eval_questions=budget.valid_questions))
    valid = sft.train_model(config)
    result = sft.test_model(config.output_dir, budget.eval_split, budget.eval_questions)
    record = report.write_result(run, "sft", result, budget.eval_split, log_dir=f"{config.output_dir}_logs")
    return {**record, "output_dir": config.output_dir, "valid_accuracy": valid.accuracy}


def stage_rft_gold(run: Path, budget: Budget, earlier: dict) -> dict:
    from . import rft

    output_dir = _in_run(run, budget, "rft_gold_model") or str(run / "rft_gold_model")
    config = rft.RFTConfig(**_set(data_file="train", output_dir=output_dir, init_adapter=earlier["sft"]["output_dir"],
                                  max_examples=budget.rft_gold_examples, eval_questions=budget.valid_questions))
    valid = rft.train_model(config)
    return {"output_dir": config.output_dir, "valid_accuracy": valid.accuracy, "valid_answer_rate": valid.answer_rate}


def stage_datagen(run: Path, budget: Budget, earlier: dict) -> dict:
    from . import datagen

    config = datagen.DatagenConfig(**_set(
        out=_in_run(run, budget, "rft_data.json"), adapter=earlier["rft_gold"]["output_dir"],
        max_questions=budget.datagen_questions, skip_questions=budget.datagen_skip,
        oversample=budget.datagen_oversample))
    stats = datagen.generate_data(config)
    return {**stats, "out": str(config.out)}


def stage_rft(run: Path, budget: Budget, earlier: dict) -> dict:
    from . import rft

    config = rft.RFTConfig(**_set(data_file=earlier["datagen"]["out"], output_dir=_in_run(run, budget, "rft_model"),
                                  gold_examples=budget.rft_mix_gold, eval_questions=budget.valid_questions,
                                  init_adapter=earlier["rft_gold"]["output_dir"],
                                  learning_rate=budget.rft_learning_rate))
    valid = rft.train_model(config)
    result = rft.test_model(config.output_dir, budget.eval_split, budget.eval_questions)
    record = report.write_result(run, "rft", result, budget.eval_split, log_dir=f"{config.output_dir}_logs")
    return {**record, "output_dir": config.output_dir, "valid_accuracy": valid.accuracy}


def _check_budget(run: Path, name: str) -> None:
    """A run folder belongs to one budget: resuming it with another would mix their results."""
    from .data import write_json_atomic

    path = run / "budget.json"
    if path.is_file():
        started = json.loads(path.read_text())["name"]
        if started != name:
            raise ValueError(f"{run} was started with --budget {started}; resume it with that budget, "
                             f"or pick another --run folder")
    else:
        write_json_atomic(path, {"name": name, **asdict(BUDGETS[name])})


def _stamp_adapter(result: dict, command: str, stage: str) -> None:
    """Record in a stage's adapter metadata the one command that reproduces it."""
    from .finetune import METADATA, update_metadata

    folder = result.get("output_dir")
    if folder and (Path(folder) / METADATA).is_file():
        update_metadata(Path(folder), reproduce=command, pipeline_stage=stage)


def run_pipeline(budget: str, run: str | Path | None = None) -> Path:
    """Run every stage not yet done into `run` (default runs/<budget>), then write the report."""
    from .data import write_json_atomic

    if budget not in BUDGETS:
        raise ValueError(f"unknown budget {budget!r}; choose from {', '.join(BUDGETS)}")
    run = Path(run) if run else report.RUNS_DIR / budget
    (run / "stages").mkdir(parents=True, exist_ok=True)
    _check_budget(run, budget)
    write_json_atomic(run / "environment.json", report.environment())
    functions = {"data": stage_data, "cot": stage_cot, "sft": stage_sft, "rft_gold": stage_rft_gold,
                 "datagen": stage_datagen, "rft": stage_rft}
    earlier = {}
    for number, name in enumerate(STAGES, 1):
        done = run / "stages" / f"{name}.done"
        if done.is_file():
            earlier[name] = json.loads(done.read_text())["result"]
            print(f"pipeline [{number}/{len(STAGES)}] {name}: done before, skipped ({done})")
            continue
        print(f"pipeline [{number}/{len(STAGES)}] {name} ...", flush=True)
        start = time.time()
        result = json.loads(json.dumps(functions[name](run, BUDGETS[budget], earlier), default=str))
        seconds = round(time.time() - start, 1)
        write_json_atomic(done, {"stage": name, "seconds": seconds, "result": result})
        _stamp_adapter(result, f"unitlm pipeline --budget {budget} --run {run}", name)
        earlier[name] = result
        print(f"pipeline [{number}/{len(STAGES)}] {name}: finished in {seconds} s")
    path = report.write_report(run)
    print(f"pipeline: all stages done; report in {path}")
    return run


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="unitlm pipeline", description=__doc__, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", choices=list(BUDGETS), default="small")
    parser.add_argument("--run", type=Path, default=None, help="run folder (default: runs/<budget>)")
    args = parser.parse_args(argv)
    run_pipeline(args.budget, args.run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
