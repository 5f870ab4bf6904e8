"""Speed benchmark (a script, not a test): load time, answer() throughput beside two plain
transformers baselines run in the same process, SFT training throughput, peak memory.

    python -m unitlm.bench                                    # 1000 valid questions; many minutes on 2 CPU cores
    python -m unitlm.bench --questions 64 --skip-train --out /tmp/bench.json
    python -m unitlm.bench --sft-path runs/small/sft_model --rft-path runs/small/rft_model
    python -m unitlm.bench --isa avx2 --questions 100         # as a processor without AVX512 or bf16

Each row names its backend (torch fp32/bf16, torch int8, OpenVINO GenAI fp32/bf16, llama.cpp, onnxruntime-genai) and
dtype; the JSON names the processor and the instruction set each library ran.

Throughput ratios are against baseline (b), plain batched fp32 `generate`, timed in the
same process on the same questions: they hold on a noisy machine, absolute figures do not.
"""

import argparse
import importlib.util
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
from tqdm.auto import tqdm

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
    for i in range(0, len(questions), batch_size):
        prompts = [llm.format_prompt(q) for q in questions[i : i + batch_size]]
        inputs = tokenizer(prompts, return_tensors="pt", padding=True, padding_side="left").to(model.device)
        output = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                                pad_token_id=tokenizer.pad_token_id)
        texts = tokenizer.batch_decode(output[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
        answers += [llm.parse_answer(t) for t in texts]
    return answers


def load_sft(path: Path | None, dtype: torch.dtype | None = None):
    """The merged SFT model (None: the package's adapter) in `dtype` (None: the device's default)."""
    from . import sft

    return sft.load(path, dtype=dtype)


def load_rft(path: Path | None, dtype: torch.dtype | None = None):
    """(the merged RFT model, None), or (None, why not) when there is no RFT adapter."""
    from . import rft
    from .finetune import AdapterError

    try:
        return rft.load(path, dtype=dtype), None
    except AdapterError as error:
        return None, f"RFT skipped: {error}"


ONE = "(a) generate 1 at a time, fp32, 32 tok"
BATCHED = "(b) batched generate, fp32, b64, 16 tok"


BF16_BACKENDS = ("torch", "openvino")  # backends that run a bf16 model in bf16 (rows for both dtypes)


def available_backends() -> list[str]:
    """The inference backends this install can run: torch always, the external engines when installed."""
    from . import engine

    return [name for name in engine.BACKENDS if name != "auto" and engine.installed(name)]


def _entrants(sft_path, rft_path, backends: list[str], cot_questions: int) -> tuple[dict, list[str]]:
    """name -> (answer function, row description, question limit): every backend on the same fp32
    SFT and RFT models (one merged model each, its int8 copy and engine files made from it),
    bf16 torch where the processor has it; CoT (the base model) likewise, on fewer questions."""
    from . import cot, engine
    from .base_llm import pick_dtype
    from .finetune import AdapterError

    notes = []
    try:
        sft_fp32 = load_sft(sft_path, torch.float32)
    except AdapterError as error:
        raise SystemExit(f"unitlm.bench: {error}\n(pass --sft-path to benchmark another adapter)") from None
    rft_fp32, why = load_rft(rft_path, torch.float32)
    if why:
        notes.append(why)
    default_dtype = pick_dtype("cpu")
    bf16 = default_dtype == torch.bfloat16
    entrants = {}

    def add(name, llm, backend, limit=None):
        def answer(questions, llm=llm, backend=backend):
            llm.backend = backend
            return llm.answer(*questions)

        llm.backend = backend
        entrants[name] = (answer, engine.describe(llm), limit)

    bf16_backends = [backend for backend in BF16_BACKENDS if bf16 and backend in backends]

    def add_stage(stage, fp32, load_bf16, limit=None):
        """Every backend on the fp32 model, then the bf16 backends on one bf16 model (loaded only if any)."""
        for backend in backends:
            add(f"{stage} answer() {backend}{' fp32' if backend in BF16_BACKENDS else ''}", fp32, backend, limit)
        if bf16_backends:
            model = load_bf16()
            for backend in bf16_backends:
                add(f"{stage} answer() {backend} bf16", model, backend, limit)

    add_stage("sft", sft_fp32, lambda: load_sft(sft_path, torch.bfloat16))
    if rft_fp32 is not None:
        add_stage("rft", rft_fp32, lambda: load_rft(rft_path, torch.bfloat16)[0])
    if not bf16:
        notes.append("no torch bf16 rows: the processor has no AVX512-BF16/AMX (or UNITLM_CPU_DTYPE=fp32)")
    if cot_questions:
        add_stage("cot", cot.CoTModel(dtype=torch.float32), lambda: cot.CoTModel(dtype=torch.bfloat16), cot_questions)
    kinds = ("SFTModel", "RFTModel", "CoTModel")
    runs = ", ".join(f"{kind} {engine.choose('cpu', default_dtype, kind)}" for kind in kinds)
    notes.append(f"answer() runs by default here: {runs} "
                 f"(models load in {str(default_dtype).removeprefix('torch.')})")
    entrants[ONE] = (lambda questions: generate_one_at_a_time(sft_fp32, questions),
                     {"backend": "transformers generate", "dtype": "float32"}, ONE_AT_A_TIME_QUESTIONS)
    entrants[BATCHED] = (lambda questions: generate_batched(sft_fp32, questions),
                         {"backend": "transformers generate", "dtype": "float32"}, None)
    return entrants, notes


def answer_throughput(entries: list[list], sft_path: Path | None, rft_path: Path | None,
                      backends: list[str] | None = None, cot_questions: int = 100) -> dict:
    """answer() of SFT, RFT and CoT on each backend, beside baselines (a) and (b) on the fp32 SFT model.

    The methods take turns on each block of ROUND_QUESTIONS questions, so a change in the
    machine's load during the run slows all of them alike and the ratios to (b) still hold.
    answer() gets a whole block per call (it sorts by length within what it is given).
    Rows with a limit (baseline (a), CoT) answer the first questions of each block up to it.
    """
    entrants, notes = _entrants(sft_path, rft_path, backends or available_backends(), cot_questions)
    blocks = [entries[i : i + ROUND_QUESTIONS] for i in range(0, len(entries), ROUND_QUESTIONS)]
    totals = {name: {"seconds": 0.0, "cpu_seconds": 0.0, "answers": [], "entries": []} for name in entrants}
    setup = {}
    progress = tqdm(total=len(entrants) * (len(blocks) + 1), desc="bench", unit="call")
    for name, (method, _, _) in entrants.items():
        progress.set_postfix_str(f"{name}, first call")
        start = time.perf_counter()
        method([entries[0][0]])  # the first call pays one-time setup (int8 copy, engine files); not timed below
        setup[name] = time.perf_counter() - start
        progress.update()
    for block in blocks:
        for name, (method, _, limit) in entrants.items():
            progress.set_postfix_str(name)
            total = totals[name]
            part = block
            if limit is not None:
                per_block = math.ceil(min(limit, len(entries)) / len(blocks))
                part = block[: min(per_block, min(limit, len(entries)) - len(total["entries"]))]
            if part:
                wall, cpu = time.perf_counter(), time.process_time()
                answers = method([e[0] for e in part])
                total["seconds"] += time.perf_counter() - wall
                total["cpu_seconds"] += time.process_time() - cpu
                total["answers"] += answers
                total["entries"] += part
            progress.update()
    progress.close()

    rows = {}
    for name, total in totals.items():
        n = len(total["entries"])
        rows[name] = {"questions": n, "seconds": total["seconds"], "questions_per_second": n / total["seconds"],
                      "seconds_per_question": total["seconds"] / n, **entrants[name][1],
                      "first_call_seconds": setup[name],
                      # CPU seconds per wall second: about the thread count on a quiet machine, less when starved
                      "cpu_use": total["cpu_seconds"] / total["seconds"], **score(total["answers"], total["entries"])}
    for row in rows.values():
        row["ratio_to_b"] = row["questions_per_second"] / rows[BATCHED]["questions_per_second"]
    accuracy = {}
    for name, row in rows.items():
        stage = name.split()[0]
        reference = rows.get(f"{stage} answer() torch fp32")
        if reference and row is not reference and row["questions"] == reference["questions"]:
            accuracy[name] = 100 * (row["accuracy"] - reference["accuracy"])
    return {"rows": rows, "accuracy_points_vs_torch_fp32": accuracy, "round_questions": ROUND_QUESTIONS,
            "notes": notes}


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


AVX2_ENV = {  # each library that picks kernels by the processor's instruction set, capped at AVX2
    "ATEN_CPU_CAPABILITY": "avx2",  # torch's own vectorized kernels
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",  # fp32 GEMMs (MKL sgemm)
    "ONEDNN_MAX_CPU_ISA": "AVX2",  # oneDNN (bf16/int8 paths, convolutions), and OpenVINO's copy of it
    "OV_CPU_MAX_ISA": "AVX2",  # OpenVINO's own kernels (honoured from its release builds that read it)
    "DNNL_MAX_CPU_ISA": "AVX2",  # the same, its older name
    "FBGEMM_ENABLE_INSTRUCTIONS": "AVX2",  # int8 dynamic Linear (fbgemm)
    "UNITLM_CPU_DTYPE": "fp32",  # no bf16 on such a processor: unitlm picks fp32 there
}
ISA_MARK = "UNITLM_BENCH_ISA"  # set in the re-executed process, so it does not re-execute again

# Runs one fp32 GEMM (MKL), a convolution and a bf16 GEMM (oneDNN) and an int8 dynamic Linear (fbgemm) with the
# libraries' verbose modes on: their own lines say which instruction set their kernels use.
_ISA_PROBE = (
    "import torch\n"
    "a = torch.randn(256, 256)\n"
    "(a @ a).sum()\n"
    "torch.nn.functional.conv2d(torch.randn(1, 64, 56, 56), torch.randn(64, 64, 3, 3))\n"
    "(a.bfloat16() @ a.bfloat16()).sum()\n"
    "q = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(torch.nn.Linear(256, 256)), {torch.nn.Linear})\n"
    "q(a)\n"
    "print('capability', torch.backends.cpu.get_cpu_capability())\n"
)
# OpenVINO's fully connected layer with int8 weights (as the Q8_0 model's): its kernel name carries the ISA.
_OPENVINO_PROBE = (
    "import numpy as np, openvino as ov\n"
    "import openvino.opset13 as ops\n"
    "x = ops.parameter([-1, 256], np.float32)\n"
    "w = ops.convert(ops.constant(np.random.randint(-127, 127, (256, 256)).astype(np.int8)), np.float32)\n"
    "w = ops.multiply(w, ops.constant(np.full((256, 1), 0.01, np.float32)))\n"
    "compiled = ov.Core().compile_model(ov.Model([ops.matmul(x, w, False, True)], [x]), 'CPU',\n"
    "                                   {'INFERENCE_PRECISION_HINT': 'f32'})\n"
    "request = compiled.create_infer_request()\n"
    "request.infer(np.ones((4, 256), np.float32))\n"
    "kinds = {op.get_rt_info()['layerType'].astype(str): op.get_rt_info()['primitiveType'].astype(str)\n"
    "         for op in request.get_compiled_model().get_runtime_model().get_ordered_ops()}\n"
    "print('OpenVINO', ov.get_version(), 'int8-weight FullyConnected:', kinds.get('FullyConnected'))\n"
)


def processor() -> dict:
    """The processor's model name (lscpu) and the instruction-set flags that matter here."""
    name = None
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        name = next((line.split(":", 1)[1].strip() for line in lscpu.splitlines() if line.startswith("Model name")), None)
    except OSError:
        pass
    try:
        flags = set(next(l for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("flags")).split())
    except (OSError, StopIteration):
        flags = set()
    wanted = ["avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8"]
    return {"model_name": name, "flags": [f for f in wanted if f in flags]}


def isa_in_effect() -> dict:
    """The instruction set each library runs here, read from its verbose output in a fresh process."""
    env = {**os.environ, "MKL_VERBOSE": "1", "ONEDNN_VERBOSE": "1", "DNNL_VERBOSE": "1"}
    done = subprocess.run([sys.executable, "-c", _ISA_PROBE], env=env, capture_output=True, text=True, check=False)
    lines = (done.stdout + done.stderr).splitlines()
    mkl = next((l for l in lines if l.startswith("MKL_VERBOSE") and "Product build" in l), None)
    sgemm = next((l for l in lines if l.startswith("MKL_VERBOSE SGEMM")), None)
    onednn_isa = next((l for l in lines if "isa:" in l), None)
    onednn_exec = next((l for l in lines if ",exec," in l), None)
    capability = next((l.split()[1] for l in lines if l.startswith("capability ")), None)
    openvino = None
    if importlib.util.find_spec("openvino"):
        probe = subprocess.run([sys.executable, "-c", _OPENVINO_PROBE], capture_output=True, text=True, check=False)
        openvino = next((l for l in probe.stdout.splitlines() if l.startswith("OpenVINO")), probe.stderr[-300:])
    return {
        "requested": os.environ.get(ISA_MARK, "native"),
        "aten_capability": capability,
        "mkl": mkl,
        "mkl_sgemm_call": sgemm,
        "onednn": onednn_isa,
        "onednn_kernel": onednn_exec,
        "openvino": openvino,
        "fbgemm": f"FBGEMM_ENABLE_INSTRUCTIONS={os.environ.get('FBGEMM_ENABLE_INSTRUCTIONS', '(unset: best available)')} "
                  "(fbgemm has no verbose mode)",
        "env": {key: os.environ[key] for key in AVX2_ENV if key in os.environ},
    }


def run(questions: int, skip_train: bool, sft_path: Path | None = None, rft_path: Path | None = None,
        backends: list[str] | None = None, cot_questions: int = 100) -> dict:
    from .base_llm import pick_device

    results = {"device": pick_device(), "processor": processor(), "isa": isa_in_effect(), "torch": torch.__version__,
               "threads": torch.get_num_threads(), "cpu_count": os.cpu_count(), "questions": questions}
    results["load"] = load_times()
    results["answer"] = answer_throughput(valid_questions(questions), sft_path, rft_path, backends, cot_questions)
    results["peak_memory_mib"] = {"after_answer": peak_memory_mib()}
    results["train"] = None if skip_train else train_throughput()
    results["peak_memory_mib"]["after_train"] = None if skip_train else peak_memory_mib()
    return results


def table(results: dict) -> str:
    answer, isa = results["answer"], results["isa"]
    lines = [f"processor {results['processor']['model_name']} ({' '.join(results['processor']['flags'])}), "
             f"run as {isa['requested']}: ATen {isa['aten_capability']}; "
             f"{results['threads']} torch threads, torch {results['torch']}",
             f"  MKL: {isa['mkl']}", f"  oneDNN: {isa['onednn']}", f"  {isa.get('openvino') or 'OpenVINO: not installed'}", "",
             f"{'answer throughput':<36}{'backend':>19}{'n':>6}{'q/s':>9}{'x (b)':>8}{'acc':>7}{'ans':>7}{'cpu':>6}"]
    for name, row in answer["rows"].items():
        lines.append(f"{name:<36}{row['backend']:>19}{row['questions']:>6}{row['questions_per_second']:>9.2f}"
                     f"{row['ratio_to_b']:>8.2f}{row['accuracy']:>7.3f}{row['answer_rate']:>7.3f}{row['cpu_use']:>6.2f}")
        lines.append(f"{'':<8}dtype: {row['dtype']}")
    lines.append(f"  x (b): throughput over baseline (b); cpu: CPU seconds per second (about {results['threads']} "
                 f"when the machine is quiet); methods took turns on blocks of {answer['round_questions']} questions")
    for name, points in answer["accuracy_points_vs_torch_fp32"].items():
        lines.append(f"accuracy of {name}: {points:+.1f} points vs torch fp32 (target: within 1)")
    lines += [f"note: {note}" for note in answer["notes"]]
    load = results["load"]
    lines += ["", f"load_model() of {load['model']}: cold {load['cold']['load_model_seconds']:.2f} s, "
              f"warm {load['warm']['load_model_seconds']:.2f} s (target: warm <= 2 s); "
              f"whole process {load['cold']['process_seconds']:.1f} / {load['warm']['process_seconds']:.1f} s"]
    train = results["train"]
    if train is None:
        lines.append("training: skipped (--skip-train)")
    else:
        lines.append(f"sft training: {train['tokens_per_second']:.0f} tokens/s, {train['seconds_per_epoch_of_1000']:.0f} s "
                     f"per epoch of 1000, {train['seconds_for_3_epochs_of_1000']:.0f} s for 3 (target: <= 180 s); "
                     f"from {train['steps']} steps of {train['batch_size']}")
    memory, cold = results["peak_memory_mib"], load["cold"]["peak_mib"]
    lines.append(f"peak memory (MiB): {memory['after_answer']:.0f} after the answer runs (several models loaded)"
                 + (f", {memory['after_train']:.0f} after training" if memory["after_train"] else "")
                 + (f"; cold load alone {cold:.0f}, warm load alone {load['warm']['peak_mib']:.0f}" if cold else ""))
    return "\n".join(lines)


def as_avx2(argv: list[str]) -> None:
    """Run this same bench again in a fresh process whose libraries are capped at AVX2 (AVX2_ENV)."""
    env = {**os.environ, **AVX2_ENV, ISA_MARK: "avx2"}
    os.execve(sys.executable, [sys.executable, "-m", "unitlm.bench", *argv], env)


def main(argv=None):
    from .data import write_json_atomic

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="unitlm bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=1000, help="valid questions to answer (default: 1000)")
    parser.add_argument("--cot-questions", type=int, default=100,
                        help="of those, how many CoT answers (0: no CoT rows; default: 100)")
    parser.add_argument("--backends", default=None,
                        help="comma-separated, of torch,int8,openvino,llama.cpp,onnxruntime (default: all installed)")
    parser.add_argument("--isa", choices=["native", "avx2"], default="native",
                        help="avx2: run as a processor without AVX512/bf16 (caps torch, MKL, oneDNN, fbgemm; fp32)")
    parser.add_argument("--skip-train", action="store_true", help="skip the training-throughput run")
    parser.add_argument("--sft-path", type=Path, default=None, help="SFT adapter (default: the package's sft_model)")
    parser.add_argument("--rft-path", type=Path, default=None, help="RFT adapter (default: the package's rft_model)")
    parser.add_argument("--out", type=Path, default=Path("bench.json"), help="JSON results (default: bench.json)")
    args = parser.parse_args(argv)
    if args.questions < 1:
        parser.error("--questions must be at least 1")
    if args.isa == "avx2" and os.environ.get(ISA_MARK) != "avx2":
        as_avx2(argv)
    backends = args.backends.split(",") if args.backends else None
    results = run(args.questions, args.skip_train, args.sft_path, args.rft_path, backends, args.cot_questions)
    print(table(results))
    write_json_atomic(args.out, results)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
