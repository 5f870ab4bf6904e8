"""A Markdown report of one run, with PNG plots.

    unitlm report runs/small         # writes runs/small/report.md and runs/small/plots/*.png

A run folder (what `unitlm pipeline` writes) holds:

    results/<method>.json   {"method": "sft", "split": "test", "accuracy": ..., "answer_rate": ..., "n": ...,
                             "by_group": {"category/length": {"accuracy": ..., "n": ...}, "pairs/unseen": ...},
                             "log_dir": "sft_model_logs"}       # log_dir: optional, relative to the run folder
    *_logs/                 tensorboard logs of training (scalar `train/loss`)
    stages/<name>.done      {"stage": "sft", "seconds": ..., "result": {...}}
    recipe.json             the recipe the run was made with
    environment.json        python, torch, transformers, CPUs, device of the machine that ran it

The report's results table is the one the README copies.
"""

import argparse
import json
import math
import os
import platform
import sys
from pathlib import Path

RUNS_DIR = Path("runs")
LOSS_TAG = "train/loss"
METHODS = ("cot", "sft", "rft")  # report order; any other method follows, alphabetically
EPILOG = "example: unitlm report runs/small && less runs/small/report.md"


def write_result(run: Path, method: str, result, split: str, log_dir: str | Path | None = None) -> dict:
    """Save a BenchmarkResult as RUN/results/<method>.json; returns what it wrote."""
    from .data import write_json_atomic

    record = {"method": method, "split": split, "accuracy": result.accuracy, "answer_rate": result.answer_rate,
              "n": len(result.samples), "by_group": result.by_group}
    if log_dir is not None:
        record["log_dir"] = str(log_dir)
    path = Path(run) / "results" / f"{method}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, record)
    return record


def read_results(run: Path) -> list[dict]:
    records = [json.loads(path.read_text()) for path in sorted((Path(run) / "results").glob("*.json"))]
    rank = {method: i for i, method in enumerate(METHODS)}
    return sorted(records, key=lambda r: (rank.get(r["method"], len(METHODS)), r["method"]))


def environment() -> dict:
    import torch
    import transformers

    from .base_llm import pick_device, pick_dtype

    device = pick_device()
    return {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
            "cpus": os.cpu_count(), "cpu": cpu_model(), "device": device,
            "dtype": str(pick_dtype(device)).removeprefix("torch."), "platform": platform.platform()}


def cpu_model() -> str:
    """The processor's name as the OS reports it (Linux: /proc/cpuinfo), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def loss_curves(run: Path, records: list[dict]) -> dict[str, tuple[list[int], list[float]]]:
    """`train/loss` of the latest training in every `*_logs` folder in RUN, plus those the results name
    (relative to RUN).

    Each training writes a new event file into its folder; older ones are earlier runs.
    """
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    folders = {p.resolve() for p in Path(run).rglob("*_logs") if p.is_dir()}
    named = [Path(run) / r["log_dir"] for r in records if r.get("log_dir")]
    folders |= {folder.resolve() for folder in named if folder.is_dir()}
    curves = {}
    for folder in sorted(folders):
        files = sorted(folder.glob("events.out.tfevents.*"), key=os.path.getmtime)
        if not files:
            continue
        events = EventAccumulator(str(files[-1]), size_guidance={"scalars": 0})
        events.Reload()
        if LOSS_TAG in events.Tags().get("scalars", []):
            scalars = events.Scalars(LOSS_TAG)
            curves[folder.name.removesuffix("_logs")] = ([s.step for s in scalars], [s.value for s in scalars])
    return curves


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_losses(curves: dict, path: Path) -> None:
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(7, 4))
    for name, (steps, values) in curves.items():
        axes.plot(steps, values, label=name)
    axes.set(xlabel="step", ylabel="training loss", title="Training loss", yscale="log")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def plot_bars(path: Path, title: str, labels: list[str], series: dict[str, list[float]]) -> None:
    """Grouped bars: one group per label, one bar per series; NaN (no data) draws no bar."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(max(6, 2 + 0.4 * len(labels) * len(series)), 4))
    width = 0.8 / max(1, len(series))
    for i, (name, values) in enumerate(series.items()):
        axes.bar([x + i * width - 0.4 + width / 2 for x in range(len(labels))], values, width, label=name)
    crowded = len(labels) > 4
    axes.set_xticks(range(len(labels)), labels, rotation=30 if crowded else 0, ha="right" if crowded else "center")
    axes.set(ylim=(0, 1.05), ylabel="share of questions", title=title)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _group(record: dict, name: str) -> float:
    return record["by_group"].get(name, {}).get("accuracy", math.nan)


def _cell(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.3f}"


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def results_table(records: list[dict]) -> list[str]:
    """The README's results table."""
    rows = [[r["method"], r["split"], r["n"], _cell(r["accuracy"]), _cell(r["answer_rate"]),
             _cell(_group(r, "pairs/seen")), _cell(_group(r, "pairs/unseen"))] for r in records]
    return _table(["method", "split", "questions", "accuracy", "answer rate", "seen pairs", "unseen pairs"], rows)


def write_report(run: Path) -> Path:
    """Write RUN/report.md and its plots in RUN/plots; returns the report's path."""
    run = Path(run)
    records = read_results(run)
    if not records:
        raise FileNotFoundError(f"no results in {run / 'results'}: make a run with `unitlm pipeline --run {run}`")
    plots = run / "plots"
    plots.mkdir(exist_ok=True)
    methods = [r["method"] for r in records]
    lines = [f"# unitlm run `{run}`", "", f"Rebuild this report with `unitlm report {run}`; "
             f"make or resume the run with `unitlm pipeline --run {run}`.", "", "## Results", ""]
    lines += results_table(records)
    plot_bars(plots / "accuracy.png", "Accuracy and answer rate", methods,
              {"accuracy": [r["accuracy"] for r in records], "answer rate": [r["answer_rate"] for r in records]})
    lines += ["", "![accuracy and answer rate](plots/accuracy.png)", "", "## Training loss", ""]
    curves = loss_curves(run, records)
    if curves:
        plot_losses(curves, plots / "loss.png")
        lines += [f"From the tensorboard logs ({', '.join(curves)}).", "", "![training loss](plots/loss.png)"]
    else:
        lines += ["No training logs in this run."]

    categories = sorted({g.split("/", 1)[1] for r in records for g in r["by_group"] if g.startswith("category/")})
    lines += ["", "## Accuracy per unit category", ""]
    if categories:
        series = {r["method"]: [_group(r, f"category/{c}") for c in categories] for r in records}
        plot_bars(plots / "categories.png", "Accuracy per unit category", categories, series)
        rows = [[c, *(_cell(values[i]) for values in series.values())] for i, c in enumerate(categories)]
        lines += _table(["category", *methods], rows)
        lines += ["", "![accuracy per category](plots/categories.png)"]
    else:
        lines += ["The evaluated split has no category tags."]

    lines += ["", "## Seen vs unseen unit pairs", "",
              "Unseen pairs are unit pairs that never appear in the training split.", ""]
    pairs = ["pairs/seen", "pairs/unseen"]
    if any(p in r["by_group"] for r in records for p in pairs):
        series = {r["method"]: [_group(r, p) for p in pairs] for r in records}
        plot_bars(plots / "pairs.png", "Seen vs unseen unit pairs", ["seen", "unseen"], series)
        lines += ["![seen vs unseen pairs](plots/pairs.png)"]
    else:
        lines += ["The evaluated split has no pair tags."]

    stages = [json.loads(p.read_text()) for p in sorted((run / "stages").glob("*.done"), key=os.path.getmtime)]
    if stages:
        lines += ["", "## Stages", ""]
        rows = [[s["stage"], s.get("seconds", "-")] for s in stages]
        total = sum(s.get("seconds", 0) for s in stages)
        lines += _table(["stage", "seconds"], rows + [["total", f"{total:.1f} ({total / 60:.1f} min)"]])

    env_path = run / "environment.json"
    env = json.loads(env_path.read_text()) if env_path.is_file() else environment()
    lines += ["", "## Environment", "", "The machine that ran the pipeline." if env_path.is_file()
              else "No environment.json in the run: this is the machine that wrote the report.", ""]
    lines += _table(["", "value"], [[key, value] for key, value in env.items()])
    path = run / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="unitlm report", description=__doc__, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", nargs="?", type=Path, default=RUNS_DIR / "small", help="default: %(default)s")
    args = parser.parse_args(argv)
    path = write_report(args.run)
    print(f"report: {path}")
    print("\n".join(results_table(read_results(args.run))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
