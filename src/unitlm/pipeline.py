"""Every stage of a recipe end to end into one run folder, resumable stage by stage, then the report.

    unitlm pipeline                                  # recipes/small.toml into runs/small
    unitlm pipeline --budget full                    # recipes/full.toml, the shipped adapters' recipe, into runs/full
    unitlm pipeline --recipe my.toml --run runs/try  # run the same command again to resume
    unitlm ship runs/full                            # then, to update the package: copy the run's adapters into it

Stages: data (record the shipped splits), cot (eval), sft (train), sft_forms
(the sft adapter continued on the forms split, everyday pairs in the forms people
type, with train questions mixed in), sft_letters (that adapter continued on the
letters split, units written as letters, "20 C to F", with train questions mixed
in + test), rft_gold (RFT round 0: the sft
stage's adapter, trained further on the generator's gold reasoning), datagen
(sample from that adapter, keep what is correct), rft (round 1: round 0 continued
on the kept samples), rft_forms (round 2: round 1 continued on the forms split as
sft_forms does), rft_letters (round 3: round 2 continued on the whole letters split,
its parts for RFT too, + test), then `unitlm report`.
Every file of a run is in its folder: RUN/sft_round1_model, RUN/sft_forms_model, RUN/sft_model,
RUN/rft_gold_model, RUN/rft_data.json, RUN/rft_round1_model, RUN/rft_forms_model, RUN/rft_model (the
adapters `unitlm ship` takes are sft_model and rft_model), their logs,
RUN/results/<method>.json (see report.py). A finished stage writes
RUN/stages/<name>.done with its result and is skipped on a rerun; delete that
file to redo it (and the stages that read what it makes). A resumed run may
change the recipe's tables and the forms and letters splits for the stages not
yet done (redo the forms stages after editing [sft_forms]),
nothing a finished stage used. Nothing here writes into the package.

A recipe is a TOML file with a table per stage ([evaluate], [sft], [sft_forms],
[sft_letters], [rft_gold], [datagen], [rft], [rft_forms], [rft_letters]); each sets fields of that stage's
config class, and a field it leaves out keeps its default (`unitlm sft train --help` lists them). Where each
stage reads and writes is the pipeline's to set, not the recipe's.
"""

import argparse
import functools
import json
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from . import report
from .options import from_table, option, validate

STAGES = ("data", "cot", "sft", "sft_forms", "sft_letters", "rft_gold", "datagen", "rft", "rft_forms", "rft_letters")
TRAINED = tuple(name for name in STAGES if name.startswith(("sft", "rft")))  # the stages that train an adapter
SCORED_AS = {"sft_letters": "sft", "rft_letters": "rft"}  # the stages whose adapter is a method's final one
READ_BY = {"forms": {"sft_forms", "rft_forms"}, "letters": {"sft_letters", "rft_letters"}}  # splits only some stages read
RECIPES_DIR = Path(__file__).resolve().parents[2] / "recipes"  # beside src/ in a checkout
EPILOG = "example: unitlm pipeline --budget small && unitlm report runs/small"


@dataclass
class EvalConfig:
    """How each method is scored once its stage is done."""

    split: str = option("test", "the split (or data file) every method is scored on")
    max_questions: int | None = option(None, "score only the first N questions of it (default: all)", at_least=1)
    methods: str = option("cot,sft,rft", "the methods scored, comma-separated; cot's stage is skipped without it "
                                         "(its score does not depend on training)")

    def __post_init__(self):
        validate(self)
        unknown = set(self.scored()) - set(report.METHODS)
        if unknown:
            raise ValueError(f"methods: unknown {', '.join(sorted(unknown))} (known: {', '.join(report.METHODS)})")

    def scored(self) -> list[str]:
        return [m.strip() for m in self.methods.split(",") if m.strip()]


def recipe_path(budget: str) -> Path:
    """The shipped recipe named `budget`: recipes/<budget>.toml."""
    path = RECIPES_DIR / f"{budget}.toml"
    if not path.is_file():
        names = ", ".join(sorted(p.stem for p in RECIPES_DIR.glob("*.toml"))) or "none"
        raise ValueError(f"no recipe {path} (shipped recipes: {names}); pass a recipe file with --recipe")
    return path


def read_recipe(path: str | Path) -> dict:
    """The tables of a recipe file, as written."""
    try:
        return tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"cannot read the recipe {path}: {error}") from None


def stage_configs(recipe: dict, run: Path, where: str = "recipe") -> dict:
    """Each stage's config: the recipe's values over the config defaults, the run folder's paths set here."""
    from .datagen import DatagenConfig
    from .rft import RFTConfig
    from .sft import SFTConfig

    tables = ("evaluate", *STAGES[2:])
    unknown = sorted(set(recipe) - set(tables))
    if unknown or not all(isinstance(recipe.get(name, {}), dict) for name in tables):
        raise ValueError(f"{where}: a recipe holds only the tables {', '.join(tables)}"
                         + (f", not {', '.join(unknown)}" if unknown else ""))

    def build(name, config_class, **fixed):
        return from_table(config_class, recipe.get(name, {}), f"{where} [{name}]", **fixed)

    return {
        "evaluate": build("evaluate", EvalConfig),
        "sft": build("sft", SFTConfig, output_dir=str(run / "sft_round1_model")),
        "sft_forms": build("sft_forms", SFTConfig, output_dir=str(run / "sft_forms_model"),
                           init_adapter=str(run / "sft_round1_model"), train_file="forms"),
        "sft_letters": build("sft_letters", SFTConfig, output_dir=str(run / "sft_model"),
                             init_adapter=str(run / "sft_forms_model"), train_file="letters"),
        "rft_gold": build("rft_gold", RFTConfig, output_dir=str(run / "rft_gold_model"),
                          init_adapter=str(run / "sft_round1_model")),
        "datagen": build("datagen", DatagenConfig, out=str(run / "rft_data.json"),
                         adapter=str(run / "rft_gold_model")),
        "rft": build("rft", RFTConfig, output_dir=str(run / "rft_round1_model"),
                     init_adapter=str(run / "rft_gold_model"), train_file=str(run / "rft_data.json")),
        "rft_forms": build("rft_forms", RFTConfig, output_dir=str(run / "rft_forms_model"),
                           init_adapter=str(run / "rft_round1_model"), train_file="forms"),
        "rft_letters": build("rft_letters", RFTConfig, output_dir=str(run / "rft_model"),
                             init_adapter=str(run / "rft_forms_model"), train_file="letters"),
    }


def stage_inputs(configs: dict) -> dict[str, set[str]]:
    """For each stage, the stages whose adapter or data file it reads, from the paths `stage_configs` set."""
    made = {name: getattr(config, "output_dir", None) or getattr(config, "out", None)
            for name, config in configs.items()}
    return {name: {other for other, path in made.items()
                   if path and path in {getattr(config, f, None) for f in ("init_adapter", "train_file", "adapter")}}
            for name, config in configs.items()}


def stage_data(run: Path, configs: dict) -> dict:
    from .data import SPLITS, Dataset, file_hash, split_path

    return {split: {"n": len(Dataset(split)), "sha256": file_hash(split_path(split))} for split in SPLITS}


def stage_cot(run: Path, configs: dict) -> dict:
    from . import cot

    evaluation = configs["evaluate"]
    if "cot" not in evaluation.scored():
        return {"skipped": "cot is not among the recipe's [evaluate] methods"}
    result = cot.test_model(None, evaluation.split, evaluation.max_questions)
    return report.write_result(run, "cot", result, evaluation.split)


def _trained(run: Path, configs: dict, name: str) -> dict:
    """Train the adapter of stage `name`; score it on the evaluation split when it is the final adapter of a
    method of the report (SCORED_AS)."""
    from . import rft, sft

    module = sft if name.startswith("sft") else rft
    config, evaluation = configs[name], configs["evaluate"]
    valid = module.train_model(config)
    folder = Path(config.output_dir).name
    record = {"output_dir": folder, "valid_accuracy": valid.accuracy, "valid_answer_rate": valid.answer_rate}
    method = SCORED_AS.get(name)
    if method in evaluation.scored():
        result = module.test_model(config.output_dir, evaluation.split, evaluation.max_questions, model=config.model)
        record |= report.write_result(run, method, result, evaluation.split, log_dir=f"{folder}_logs")
    return record


def stage_datagen(run: Path, configs: dict) -> dict:
    from . import datagen

    stats = datagen.generate_data(configs["datagen"])
    return {**stats, "out": Path(configs["datagen"].out).name}


def _done(run: Path) -> set[str]:
    return {path.stem for path in (run / "stages").glob("*.done")}


def _check_recipe(run: Path, name: str, recipe: dict) -> None:
    """A run folder belongs to one recipe: resuming it with another would mix their results. Only the
    tables of stages not yet done may change (and never [evaluate] once one is done): an edited last
    stage reruns from the stages before it."""
    from .data import write_json_atomic

    path = run / "recipe.json"
    done = _done(run) - {"data"}
    if path.is_file():
        started = json.loads(path.read_text())
        changed = {table for table in set(started["recipe"]) | set(recipe)
                   if started["recipe"].get(table) != recipe.get(table)}
        stale = sorted(done if "evaluate" in changed else done & changed, key=STAGES.index)
        if started["name"] != name or stale:
            raise ValueError(f"{run} was started with recipe {started['name']!r} and other values"
                             + (f" for its finished stages ({', '.join(stale)})" if stale else "")
                             + "; resume it with that recipe, delete those stages' RUN/stages/*.done files, "
                               "or pick another --run folder")
    elif done:
        raise ValueError(f"{run} holds stages of a run without a recipe.json (an older unitlm); "
                         f"pick another --run folder")
    write_json_atomic(path, {"name": name, "recipe": recipe})


def _check_data(run: Path) -> None:
    """A run folder belongs to one set of splits: stages trained on other questions would be resumed as done.
    The forms and letters splits are read by some stages alone (READ_BY), so while those are not done they
    may change (a part added for them); the data stage then records the splits as they are now."""
    from .data import write_json_atomic

    path = run / "stages" / "data.done"
    if not path.is_file():
        return
    record = json.loads(path.read_text())
    now = stage_data(run, {})
    changed = [split for split in now if record["result"].get(split) != now[split]]
    done = _done(run) - {"data"}
    stale = [split for split in changed if done & READ_BY.get(split, set(STAGES))]
    if stale:
        raise ValueError(f"{run} was trained on other splits ({', '.join(stale)} changed since its data stage); "
                         f"pick another --run folder, or move this one away to start it again")
    if changed:
        write_json_atomic(path, {**record, "result": now})


def _stamp_adapter(folder: Path, command: str, stage: str) -> None:
    """Record in a stage's adapter metadata the one command that reproduces it."""
    from .finetune import METADATA, update_metadata

    if (folder / METADATA).is_file():
        update_metadata(folder, reproduce=command, pipeline_stage=stage)


def reproduce_command(recipe: Path, run: Path) -> str:
    """The command that makes (or resumes) this run, with the paths as the user gave them."""
    shipped = recipe.resolve() == (RECIPES_DIR / recipe.name).resolve()
    which = f"--budget {recipe.stem}" if shipped else f"--recipe {recipe}"
    where = "" if shipped and run == report.RUNS_DIR / recipe.stem else f" --run {run}"
    return f"unitlm pipeline {which}{where}"


def run_pipeline(recipe: str | Path, run: str | Path | None = None) -> Path:
    """Run every stage of `recipe` (a file) not yet done into `run` (default runs/<recipe name>), then report."""
    from .data import write_json_atomic

    recipe = Path(recipe)
    values = read_recipe(recipe)
    run = Path(run) if run else report.RUNS_DIR / recipe.stem
    configs = stage_configs(values, run, str(recipe))
    (run / "stages").mkdir(parents=True, exist_ok=True)
    _check_recipe(run, recipe.stem, values)
    _check_data(run)
    write_json_atomic(run / "environment.json", report.environment())
    functions = {"data": stage_data, "cot": stage_cot, "datagen": stage_datagen,
                 **{name: functools.partial(_trained, name=name) for name in TRAINED}}
    command = reproduce_command(recipe, run)
    inputs = stage_inputs(configs)
    ran = set()
    for number, name in enumerate(STAGES, 1):
        done = run / "stages" / f"{name}.done"
        redo = sorted(inputs.get(name, set()) & ran)
        if done.is_file() and not redo:
            print(f"pipeline [{number}/{len(STAGES)}] {name}: done before, skipped ({done})")
            continue
        again = f" (again: {', '.join(redo)} ran again)" if done.is_file() else ""
        print(f"pipeline [{number}/{len(STAGES)}] {name} ...{again}", flush=True)
        ran.add(name)
        start = time.time()
        result = json.loads(json.dumps(functions[name](run, configs), default=str))
        seconds = round(time.time() - start, 1)
        write_json_atomic(done, {"stage": name, "seconds": seconds, "result": result})
        if "output_dir" in result:
            _stamp_adapter(run / result["output_dir"], command, name)
        print(f"pipeline [{number}/{len(STAGES)}] {name}: finished in {seconds} s")
    path = report.write_report(run)
    print(f"pipeline: all stages done; report in {path}; `unitlm ship {run}` puts its adapters in the package")
    return run


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="unitlm pipeline", description=__doc__, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--budget", default="small", help="a shipped recipe: recipes/NAME.toml (default: %(default)s)")
    which.add_argument("--recipe", type=Path, default=None, help="a recipe file (instead of --budget)")
    parser.add_argument("--run", type=Path, default=None, help="run folder (default: runs/<recipe name>)")
    args = parser.parse_args(argv)
    run_pipeline(args.recipe or recipe_path(args.budget), args.run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
