"""Speed benchmark (a script, not a test): load time, answer() throughput beside two plain
transformers baselines run in the same process, SFT training throughput, peak memory.

    python -m unitlm.bench                                    # 1000 valid questions; many minutes on 2 CPU cores
    python -m unitlm.bench --questions 64 --skip-train --out /tmp/bench.json
    python -m unitlm.bench --sft-path runs/small/sft_model --rft-path runs/small/rft_model

Throughput ratios are against baseline (b), plain batched fp32 `generate`, timed in the
same process on the same questions: they hold on a noisy machine, absolute figures do not.
"""

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ONE_AT_A_TIME_QUESTIONS = 50  # baseline (a) is slow; it runs on this many and is reported per question
BASELINE_BATCH = 64
ROUND_QUESTIONS = 500  # methods take turns on blocks of this many (see answer_throughput); two for 1000
# questions, each one answer() call, as a user would make it: SFTModel runs 512 rows at once
TRAIN_EXAMPLES = 256
TRAIN_EPOCHS = 0.5  # of TRAIN_EXAMPLES: enough steps to time, few enough to be quick
EPOCH_EXAMPLES = 1000  # the bar is stated for epochs of 1000 examples

# Times load_model() alone: the imports before it are the same for every run. VmHWM is this
# process's own peak; ru_maxrss would carry the parent's size over from fork.
_LOAD_SNIPPET = (
    "import json, re, time\n"
    "from unitlm.base_llm import load_model\n"
    "start = time.perf_counter()\n"
    "load_model()\n"
    "seconds = time.perf_counter() - start\n"
    "try:\n"
    "    peak = int(re.search(r'VmHWM:\\s*(\\d+)', open('/proc/self/status').read()).group(1)) / 1024\n"
    "except (OSError, AttributeError):\n"
    "    peak = None\n"
    "print(json.dumps({'load_model_seconds': seconds, 'peak_mib': peak}))\n"
)


def load_times() -> dict:
    """`load_model()` of the default model in a fresh process: cold (empty cache) and warm (default cache)."""
    from .base_llm import _cache_dir_for, default_model, resolve_source

    with tempfile.TemporaryDirectory(prefix="unitlm-bench-cache-") as empty:
        cold = _time_load_in_subprocess({"XDG_CACHE_HOME": empty})
    folder, gguf_file = resolve_source(default_model())
    if gguf_file is not None and not (_cache_dir_for(folder, gguf_file) / "config.json").is_file():
        _time_load_in_subprocess({})  # fills the default cache, so the next load is a warm one
    warm = _time_load_in_subprocess({})
    return {"model": default_model(), "cold": cold, "warm": warm}


def _time_load_in_subprocess(env: dict) -> dict:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _LOAD_SNIPPET], env={**os.environ, **env},
                          capture_output=True, text=True, check=False)
    process_seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"loading the model in a subprocess failed:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {**result, "process_seconds": process_seconds}


def valid_questions(n: int) -> list[list]:
    """The first `n` entries of the valid split (repeated if `n` is larger than the split)."""
    from .data import Dataset

    entries = Dataset("valid").data
    return [entries[i % len(entries)] for i in range(n)]


def score(answers: list[float], entries: list[list]) -> dict:
    from .data import is_answer_valid

    n = max(len(entries), 1)
    return {
        "accuracy": sum(is_answer_valid(a, e[1]) for a, e in zip(answers, entries)) / n,
        "answer_rate": sum(not math.isnan(a) for a in answers) / n,
    }


def dtype_of(llm) -> str:
    return str(next(llm.model.parameters()).dtype).removeprefix("torch.")


@torch.inference_mode()
def generate_one_at_a_time(llm, questions: list[str], max_new_tokens: int = 32) -> list[float]:
    """Baseline (a): plain `generate`, one question per call, greedy."""
    model, tokenizer, answers = llm.model, llm.tokenizer, []
    for question in questions:
        inputs = tokenizer(llm.format_prompt(question), return_tensors="pt").to(model.device)
        output = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                                pad_token_id=tokenizer.pad_token_id)
        answers.append(llm.parse_answer(tokenizer.decode(output[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)))
    return answers


@torch.inference_mode()
def generate_batched(llm, questions: list[str], batch_size: int = BASELINE_BATCH, max_new_tokens: int = 16) -> list[float]:
    """Baseline (b): plain batched `generate`, left padding, questions in the given order, no early stop."""
    model, tokenizer, answers = llm.model, llm.tokenizer, []
    tokenizer.padding_side = "left"
    for i in range(0, len(questions), batch_size):
        prompts = [llm.format_prompt(q) for q in questions[i : i + batch_size]]
        inputs = tokenizer(prompts, return_tensors="pt", padding=True).to(model.device)
        output = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                                pad_token_id=tokenizer.pad_token_id)
        texts = tokenizer.batch_decode(output[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
        answers += [llm.parse_answer(t) for t in texts]
    return answers


def load_sft(path: Path | None, dtype: torch.dtype | None = None):
    """The merged SFT model (None: the package's adapter) in `dtype` (None: the device's default)."""
    from . import sft
    from .finetune import attach_adapter

    return attach_adapter(sft.SFTModel(dtype=dtype), Path(path or sft.MODEL_DIR), sft.MAKE_COMMAND)


def load_rft(path: Path | None):
    """(the RFT model, None), or (None, why not) when there is no RFT stage or adapter."""
    from .finetune import AdapterError

    try:
        from . import rft
    except ImportError as error:
        return None, f"RFT skipped: unitlm.rft is not available ({error})"
    try:
        return (rft.load(path) if path else rft.load()), None
    except AdapterError as error:
        return None, f"RFT skipped: {error}"


ONE = "(a) generate 1 at a time, fp32, 32 tok"
BATCHED = "(b) batched generate, fp32, b64, 16 tok"


def answer_throughput(entries: list[list], sft_path: Path | None, rft_path: Path | None) -> dict:
    """answer() for SFT (default dtype and fp32) and RFT, beside baselines (a) and (b) on the fp32 SFT model.

    The methods take turns on each block of ROUND_QUESTIONS questions, so a change in the
    machine's load during the run slows all of them alike and the ratios to (b) still hold.
    answer() gets a whole block per call (it sorts by length within what it is given).
    """
    from .finetune import AdapterError

    try:
        sft_default, sft_fp32 = load_sft(sft_path), load_sft(sft_path, torch.float32)
    except AdapterError as error:
        raise SystemExit(f"unitlm.bench: {error}\n(pass --sft-path to benchmark another adapter)") from None
    models = {"sft answer()": sft_default, "sft answer() fp32": sft_fp32}
    rft_model, why = load_rft(rft_path)
    if rft_model is not None:
        models["rft answer()"] = rft_model
    methods = {name: (lambda questions, llm=llm: llm.answer(*questions)) for name, llm in models.items()}
    methods[ONE] = lambda questions: generate_one_at_a_time(sft_fp32, questions)
    methods[BATCHED] = lambda questions: generate_batched(sft_fp32, questions)
    dtypes = {**{name: dtype_of(llm) for name, llm in models.items()}, ONE: "float32", BATCHED: "float32"}

    blocks = [entries[i : i + ROUND_QUESTIONS] for i in range(0, len(entries), ROUND_QUESTIONS)]
    one_per_block = math.ceil(min(ONE_AT_A_TIME_QUESTIONS, len(entries)) / len(blocks))
    totals = {name: {"seconds": 0.0, "cpu_seconds": 0.0, "answers": [], "entries": []} for name in methods}
    for method in methods.values():
        method([entries[0][0]])  # the first call pays one-time setup; every method gets it before timing
    for block in blocks:
        for name, method in methods.items():
            left = min(ONE_AT_A_TIME_QUESTIONS, len(entries)) - len(totals[ONE]["entries"])
            part = block[: min(one_per_block, left)] if name == ONE else block
            if not part:
                continue
            wall, cpu = time.perf_counter(), time.process_time()
            answers = method([e[0] for e in part])
            total = totals[name]
            total["seconds"] += time.perf_counter() - wall
            total["cpu_seconds"] += time.process_time() - cpu
            total["answers"] += answers
            total["entries"] += part

    rows = {}
    for name, total in totals.items():
        n = len(total["entries"])
        rows[name] = {"questions": n, "seconds": total["seconds"], "questions_per_second": n / total["seconds"],
                      "seconds_per_question": total["seconds"] / n, "dtype": dtypes[name],
                      # CPU seconds per wall second: about the thread count on a quiet machine, less when starved
                      "cpu_use": total["cpu_seconds"] / total["seconds"], **score(total["answers"], total["entries"])}
    for row in rows.values():
        row["ratio_to_b"] = row["questions_per_second"] / rows[BATCHED]["questions_per_second"]
    accuracy = {
        "sft_default_dtype": rows["sft answer()"]["accuracy"],
        "sft_fp32": rows["sft answer() fp32"]["accuracy"],
        "difference_points": 100 * (rows["sft answer()"]["accuracy"] - rows["sft answer() fp32"]["accuracy"]),
    }
    return {"rows": rows, "accuracy": accuracy, "round_questions": ROUND_QUESTIONS, "notes": [why] if why else []}


def train_throughput(examples: int = TRAIN_EXAMPLES, epochs: float = TRAIN_EPOCHS) -> dict:
    """SFT on `examples` train questions for `epochs`, read back from the adapter's metadata, extrapolated."""
    from .data import Dataset
    from .finetune import METADATA, train_adapter
    from .sft import SFTConfig, answer_target

    entries = Dataset("train").data[:examples]
    pairs = [(e[0], answer_target(e[0], e[1], e[2] if len(e) > 2 else None)) for e in entries]
    config = SFTConfig(epochs=epochs)
    with tempfile.TemporaryDirectory(prefix="unitlm-bench-train-") as tmp:
        train_adapter(pairs, Path(tmp) / "sft_model", config, {"stage": "bench"}, log_dir=Path(tmp) / "logs")
        metadata = json.loads((Path(tmp) / "sft_model" / METADATA).read_text())
    seen = metadata["steps"] * config.batch_size
    per_epoch = metadata["train_seconds"] / seen * EPOCH_EXAMPLES
    return {"examples": examples, "epochs": epochs, "steps": metadata["steps"], "batch_size": config.batch_size,
            "train_seconds": metadata["train_seconds"], "tokens_per_second": metadata["tokens_per_second"],
            "seconds_per_epoch_of_1000": per_epoch, "seconds_for_3_epochs_of_1000": 3 * per_epoch}


def peak_memory_mib() -> float:
    """This process's peak resident memory so far (ru_maxrss: KiB on Linux, bytes on macOS)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2**20 if sys.platform == "darwin" else 1024)


def run(questions: int, skip_train: bool, sft_path: Path | None = None, rft_path: Path | None = None) -> dict:
    from .base_llm import pick_device

    results = {"device": pick_device(), "torch": torch.__version__, "threads": torch.get_num_threads(),
               "cpu_count": os.cpu_count(), "questions": questions}
    results["load"] = load_times()
    results["answer"] = answer_throughput(valid_questions(questions), sft_path, rft_path)
    results["peak_memory_mib"] = {"after_answer": peak_memory_mib()}
    results["train"] = None if skip_train else train_throughput()
    results["peak_memory_mib"]["after_train"] = None if skip_train else peak_memory_mib()
    return results


def table(results: dict) -> str:
    answer = results["answer"]
    lines = [f"device {results['device']}, {results['threads']} torch threads, torch {results['torch']}", "",
             f"{'answer throughput':<42}{'dtype':>9}{'n':>6}{'q/s':>9}{'s/q':>8}{'x (b)':>8}{'acc':>7}{'ans':>7}"
             f"{'cpu':>6}"]
    for name, row in answer["rows"].items():
        lines.append(f"{name:<42}{row['dtype']:>9}{row['questions']:>6}{row['questions_per_second']:>9.2f}"
                     f"{row['seconds_per_question']:>8.3f}{row['ratio_to_b']:>8.2f}{row['accuracy']:>7.3f}"
                     f"{row['answer_rate']:>7.3f}{row['cpu_use']:>6.2f}")
    lines.append(f"  x (b): throughput over baseline (b); cpu: CPU seconds per second (about {results['threads']} "
                 f"when the machine is quiet); methods took turns on blocks of {answer['round_questions']} questions")
    acc = answer["accuracy"]
    lines.append(f"sft accuracy: default dtype {acc['sft_default_dtype']:.3f} vs fp32 {acc['sft_fp32']:.3f} "
                 f"({acc['difference_points']:+.1f} points; bar: within 1)")
    lines += [f"note: {note}" for note in answer["notes"]]
    load = results["load"]
    lines += ["", f"load_model() of {load['model']}: cold {load['cold']['load_model_seconds']:.2f} s, "
              f"warm {load['warm']['load_model_seconds']:.2f} s (bar: warm <= 2 s); "
              f"whole process {load['cold']['process_seconds']:.1f} / {load['warm']['process_seconds']:.1f} s"]
    train = results["train"]
    if train is None:
        lines.append("training: skipped (--skip-train)")
    else:
        lines.append(f"sft training: {train['tokens_per_second']:.0f} tokens/s, {train['seconds_per_epoch_of_1000']:.0f} s "
                     f"per epoch of 1000, {train['seconds_for_3_epochs_of_1000']:.0f} s for 3 (bar: <= 180 s); "
                     f"from {train['steps']} steps of {train['batch_size']}")
    memory, cold = results["peak_memory_mib"], load["cold"]["peak_mib"]
    lines.append(f"peak memory (MiB): {memory['after_answer']:.0f} after the answer runs (up to 3 models loaded)"
                 + (f", {memory['after_train']:.0f} after training" if memory["after_train"] else "")
                 + (f"; cold load alone {cold:.0f}, warm load alone {load['warm']['peak_mib']:.0f}" if cold else ""))
    return "\n".join(lines)


def main(argv=None):
    from .data import write_json_atomic

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=1000, help="valid questions to answer (default: 1000)")
    parser.add_argument("--skip-train", action="store_true", help="skip the training-throughput run")
    parser.add_argument("--sft-path", type=Path, default=None, help="SFT adapter (default: the package's sft_model)")
    parser.add_argument("--rft-path", type=Path, default=None, help="RFT adapter (default: the package's rft_model)")
    parser.add_argument("--out", type=Path, default=Path("bench.json"), help="JSON results (default: bench.json)")
    args = parser.parse_args(argv)
    if args.questions < 1:
        parser.error("--questions must be at least 1")
    results = run(args.questions, args.skip_train, args.sft_path, args.rft_path)
    print(table(results))
    write_json_atomic(args.out, results)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
