"""Inference backends behind `BaseLLM.answer()`: the torch loop, int8 torch, OpenVINO GenAI, llama.cpp,
ONNX Runtime GenAI.

    UNITLM_BACKEND=int8 python -m unitlm.sft test           # one backend for every model of the process
    python -m unitlm.bench --questions 100                   # every backend side by side (bench.py)

`auto` (the default) runs a CPU model on `AUTO_CPU`, by kind of model and dtype: OpenVINO
GenAI (a dependency of unitlm) or int8 torch where they won, else the torch loop; a GPU model
on the torch loop. A backend replaces the torch loop only once the bench shows it faster and
within 1 point of fp32 accuracy on all 1000 valid questions (SFT's int8 also on test and
written), natively and as an AVX2-only processor (docs/performance.md). auto starts OpenVINO
for batches of AUTO_ENGINE_QUESTIONS or more, the int8 copy for AUTO_INT8_QUESTIONS or more,
or either once `prepare`d.
Only greedy decoding of one sequence per prompt (what `answer()` does) leaves the torch
model: sampling (datagen, votes) and training always run the torch model in its own dtype,
so a shipped recipe makes the same data and adapters whatever the backend.

Every backend sees the merged model (adapter folded in), made on first use and kept per
model object: an int8 copy (SmoothQuant, then torch dynamic quantization of every Linear,
output layer included; down_proj's activations one scale per row), or an external engine's
file written once into the cache, keyed by the weights.
Constrained decoding survives in all of them: a row's next token is the likeliest among
the model's `_vocabulary` (SFT: the 137 answer tokens) when it has one.
"""

import copy
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
import weakref
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

BACKENDS = ("auto", "torch", "int8", "openvino", "llama.cpp", "onnxruntime")
EXTERNAL = ("openvino", "llama.cpp", "onnxruntime")  # engines outside torch: their `decode` takes token lists
# What `auto` runs on a CPU, by model class and dtype, where that backend is installed (others: the torch
# loop): the fastest in bench runs natively and as an AVX2-only processor, within 1 point of fp32 torch's
# accuracy on all 1000 valid questions (docs/performance.md).
AUTO_CPU = {
    ("SFTModel", torch.float32): "int8",
    ("RFTModel", torch.float32): "openvino",
    ("CoTModel", torch.float32): "openvino",
    ("SFTModel", torch.bfloat16): "openvino",
    ("RFTModel", torch.bfloat16): "openvino",
    ("CoTModel", torch.bfloat16): "openvino",
}
# auto starts OpenVINO (about 5 s the first time per weights, when the GGUF is written and OpenVINO's model built
# from it and saved; 2-4 s after) for batches this large only, or once it runs for the model; a grader's 100 CoT
# questions repay it, a one-question `unitlm ask` would not
AUTO_ENGINE_QUESTIONS = 64
EXTERNAL_BATCH = 256  # prompts per call of an external engine, which batches them itself
LLAMA_CPP_SLOTS = 64  # sequences llama.cpp decodes at once; a finished one's slot takes the next prompt
LLAMA_CPP_BATCH_TOKENS = 2048  # tokens per llama_decode call (prompts and one-token steps together)
ORT_BATCH = 32  # onnxruntime-genai refuses larger batches
# Key/value cache OpenVINO's scheduler holds, in GB; 0: it grows as the running sequences need it
# rather than filling a fixed size under load (the service's soak: docs/performance.md).
OPENVINO_CACHE_GB = 0
OPENVINO_SEQUENCES = 256  # sequences one OpenVINO scheduler step may hold
OPENVINO_STEP_TOKENS = 4096  # prompt and decode tokens one OpenVINO step may take
# Input shapes whose compiled kernels OpenVINO's CPU plugin keeps (CPU_RUNTIME_CACHE_CAPACITY; the
# plugin's default is 5000). Nearly every step of continuous batching has a new token count, so under a
# long-running service that cache is what grows (jemalloc's heap profile of the soak: docs/log.md).
OPENVINO_RUNTIME_CACHE = 100
OPENVINO_XML = "openvino_model.xml"  # the model file OpenVINO GenAI saves from a GGUF, and reads from a folder
# The int8 copy's Linears whose activations are quantized with a scale per row, not per tensor: SmolLM2's
# largest outliers are down_proj inputs, and one scale for a whole batch cost SFT 1.7 points on test on an
# AVX2-only processor; per row on the others as well gained nothing more (docs/log.md)
ROW_SCALED = ("down_proj",)
SMOOTH_ALPHA = 0.5  # SmoothQuant migration strength: how much of each activation channel's range moves into weights
# auto makes the int8 copy (SmoothQuant and quantization: about 10 s on 2 cores) for batches this large only
AUTO_INT8_QUESTIONS = 256
CALIBRATION_QUESTIONS = 64  # train questions whose greedy answers give the activation ranges for SmoothQuant
# Under auto, a fp32 model on a CPU decodes one or two short prompts with a bf16 copy of its weights: a step of
# one row reads every weight from memory, and bf16 halves what it reads. Beyond these, the steps are compute,
# which bf16 slows on a CPU without AVX512-BF16 or AMX (the sizes where it stops paying: docs/performance.md).
BF16_DECODE_ROWS = 2
BF16_DECODE_TOKENS = 64  # prompt tokens of those rows together

_RUNNERS: "weakref.WeakKeyDictionary[torch.nn.Module, dict]" = weakref.WeakKeyDictionary()


def backend_name(llm=None) -> str:
    """The backend asked for: `llm.backend` when set, else UNITLM_BACKEND, else auto."""
    name = getattr(llm, "backend", None) or os.environ.get("UNITLM_BACKEND") or "auto"
    if name not in BACKENDS:
        raise ValueError(f"UNITLM_BACKEND must be one of {', '.join(BACKENDS)}, not {name!r}")
    return name


def resolve(llm) -> str:
    """The backend that will run `llm`'s greedy decoding: `auto` made concrete."""
    name = backend_name(llm)
    if name != "auto":
        return name
    param = next(llm.model.parameters())
    return choose(param.device.type, param.dtype, type(llm).__name__)


def choose(device_type: str, dtype: torch.dtype, kind: str = "") -> str:
    """What `auto` runs for a model of class `kind` and `dtype` on `device_type`."""
    name = AUTO_CPU.get((kind, dtype), "torch") if device_type == "cpu" else "torch"
    return name if installed(name) else "torch"


def installed(name: str) -> bool:
    """Whether the package that backend `name` needs can be imported here."""
    import importlib.util

    package = {"openvino": "openvino_genai", "llama.cpp": "llama_cpp", "onnxruntime": "onnxruntime_genai"}.get(name)
    return package is None or importlib.util.find_spec(package) is not None


def _runner(llm, name: str):
    cache = _RUNNERS.setdefault(llm.model, {})
    if name not in cache:
        if name == "int8":
            cache[name] = quantize_int8(smooth(llm.model, calibrate(llm)), inplace=True)  # smooth made a copy
        elif name == "bf16":
            cache[name] = copy.deepcopy(llm.model).to(torch.bfloat16).eval()
        elif name == "openvino":
            cache[name] = OpenVinoEngine(llm.model, llm.tokenizer)
        elif name == "llama.cpp":
            cache[name] = LlamaCppEngine(llm.model, llm.tokenizer)
        else:
            cache[name] = OrtGenaiEngine(llm.model, llm.tokenizer)
    return cache[name]


def torch_model(llm, n: int = 1, temperature: float = 0.0, questions: int = AUTO_INT8_QUESTIONS,
                prompt_tokens: int | None = None) -> torch.nn.Module:
    """The torch module that runs a batch of `questions` (`prompt_tokens` long in all, padding included):
    `llm.model`, or for greedy single answers its int8 copy or, under `auto`, a bf16 copy of a fp32 model
    on a CPU for one or two short prompts (BF16_DECODE_ROWS). `auto` builds the int8 copy only for a batch
    of AUTO_INT8_QUESTIONS or more (or once `prepare` has): a few questions never repay the seconds it takes."""
    if n != 1 or temperature > 0:
        return llm.model
    if (_fp32_on_cpu_under_auto(llm) and questions <= BF16_DECODE_ROWS and prompt_tokens is not None
            and prompt_tokens <= BF16_DECODE_TOKENS):
        return _runner(llm, "bf16")  # before int8, whose per-call quantization costs as much at one row as fp32
    if resolve(llm) == "int8":
        made = "int8" in _RUNNERS.get(llm.model, {})
        if made or backend_name(llm) == "int8" or questions >= AUTO_INT8_QUESTIONS:
            return _runner(llm, "int8")
    return llm.model


def _fp32_on_cpu_under_auto(llm) -> bool:
    param = next(llm.model.parameters())
    return backend_name(llm) == "auto" and param.device.type == "cpu" and param.dtype == torch.float32


def prepare(llm) -> None:
    """Make what `auto` will run for `llm` now rather than on a later call (a service's warm-up): its
    engine or int8 copy, and the bf16 copy for single questions where torch runs them."""
    name = resolve(llm)
    if name in ("int8", *EXTERNAL):
        _runner(llm, name)
    if name not in EXTERNAL and _fp32_on_cpu_under_auto(llm):
        _runner(llm, "bf16")


def external(llm, n: int = 1, temperature: float = 0.0, questions: int = AUTO_ENGINE_QUESTIONS):
    """The external engine that runs a batch of `questions` (its `decode` takes token lists), or None: torch
    runs it. `auto` starts one only for a batch of AUTO_ENGINE_QUESTIONS or more, or once it runs."""
    name = resolve(llm)
    if n != 1 or temperature > 0 or getattr(llm, "raw_text", False) or name not in EXTERNAL:
        return None
    if name in _RUNNERS.get(llm.model, {}) or backend_name(llm) == name or questions >= AUTO_ENGINE_QUESTIONS:
        return _runner(llm, name)
    return None


def describe(llm) -> dict:
    """Backend, dtype and kernels of `llm`'s greedy decoding, for bench rows."""
    name = resolve(llm)
    dtype = str(next(llm.model.parameters()).dtype).removeprefix("torch.")
    if name == "int8":
        return {"backend": "torch int8", "dtype": f"int8 weights (7-bit, per row), int8 activations (dynamic, per "
                                                  f"row in {'/'.join(ROW_SCALED)}, per tensor elsewhere; SmoothQuant "
                                                  f"alpha {SMOOTH_ALPHA}), fp32 rest",
                "kernels": f"torch.backends.quantized.engine={torch.backends.quantized.engine}"}
    if name == "openvino":
        return {"backend": "openvino-genai", "dtype": f"Q8_0 weights (GGUF), {OpenVinoEngine.precision(llm.model)} "
                                                      f"inference precision", "kernels": OpenVinoEngine.version()}
    if name == "llama.cpp":
        return {"backend": "llama.cpp", "dtype": "Q8_0 weights", "kernels": LlamaCppEngine.system_info()}
    if name == "onnxruntime":
        return {"backend": "onnxruntime-genai", "dtype": "int8 weights (MatMulNBits, block 32), fp32 activations",
                "kernels": "onnxruntime MLAS, its own CPU dispatch"}
    return {"backend": "torch", "dtype": dtype, "kernels": f"ATen {torch.backends.cpu.get_cpu_capability()}"}


def quantize_int8(model: torch.nn.Module, inplace: bool = False) -> torch.nn.Module:
    """An int8 copy of `model` for inference: every Linear (output layer too) with int8 weights and
    activations quantized on the fly (torch dynamic quantization, fbgemm kernels). The float model
    stays as it was, for sampling and training, unless `inplace` (a copy already made) says not to.

    Weights get a scale per output row and 7 bits (-64..63), activations all 8 bits: on AVX2
    without VNNI the int8 dot product adds pairs of u8 x s8 products in 16 bits, which 255 x 64 x 2
    never overflows. torch's default is the other way round (8-bit weights, 7-bit activations), and
    activations are what lose precision: torch's kernel takes one scale for the whole input tensor,
    so a row is quantized as coarsely as the batch's largest value allows. down_proj, whose inputs
    hold SmolLM2's largest outliers, gets one scale per row instead (`RowScaledLinear`)."""
    quantized = (model if inplace else copy.deepcopy(model)).float().eval()
    with warnings.catch_warnings():  # torch points eager quantization users to torchao; this API still runs fbgemm
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*")
        from torch.ao.quantization import QConfig, observer

        qconfig = QConfig(
            activation=observer.PlaceholderObserver.with_args(dtype=torch.quint8, quant_min=0, quant_max=255,
                                                              is_dynamic=True),
            weight=observer.PerChannelMinMaxObserver.with_args(dtype=torch.qint8, quant_min=-64, quant_max=63,
                                                               qscheme=torch.per_channel_symmetric))
        quantized = torch.ao.quantization.quantize_dynamic(quantized, {torch.nn.Linear: qconfig}, dtype=torch.qint8,
                                                           inplace=True)  # quantized is already a copy
    for name, module in quantized.named_modules():
        if isinstance(module, DynamicLinear):
            row_scaled = name.endswith(ROW_SCALED) and module.bias() is None  # a bias would be scaled too
            module.__class__ = RowScaledLinear if row_scaled else FullRangeLinear
    return quantized


class FullRangeLinear(DynamicLinear):
    """torch's dynamic int8 Linear with activations over the full 8 bits (its own forward keeps 7)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.quantized.linear_dynamic(x, self._packed_params._packed_params, reduce_range=False).to(x.dtype)


class RowScaledLinear(FullRangeLinear):
    """A `FullRangeLinear` whose activations get one int8 scale per row (token) rather than per tensor:
    each input row is divided by its largest |value| before torch's kernel quantizes the tensor, and
    each output row multiplied back (so only for a layer without bias). A row's precision then no
    longer depends on the largest value anywhere in the batch, and fbgemm's kernel still does the
    arithmetic."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = torch.linalg.vector_norm(x, float("inf"), dim=-1, keepdim=True).clamp_min_(1e-6)
        return super().forward(x / scale).mul_(scale)


def calibrate(llm, questions: list[str] | None = None) -> dict[str, torch.Tensor]:
    """The largest |input| seen per channel by each Linear of the decoder (output layer aside), over
    `llm`'s own greedy float answers to `questions` (default: the first CALIBRATION_QUESTIONS of
    train). Cached on disk per weights, model class and questions: a CoT calibration takes a minute."""
    from .data import Dataset

    questions = questions or [entry[0] for entry in Dataset("train").data[:CALIBRATION_QUESTIONS]]
    asked = hashlib.blake2b("\n".join(questions).encode(), digest_size=6).hexdigest()
    path = _cache("smoothquant", llm.model) / f"{type(llm).__name__}-{asked}.pt"
    if path.is_file():
        return torch.load(path)
    ranges: dict[str, torch.Tensor] = {}

    def record(name):
        def hook(_, args):
            x = args[0].detach().abs().reshape(-1, args[0].shape[-1]).amax(0).float().cpu()
            ranges[name] = torch.maximum(ranges[name], x) if name in ranges else x
        return hook

    hooks = [module.register_forward_pre_hook(record(name)) for name, module in llm.model.named_modules()
             if isinstance(module, torch.nn.Linear) and module is not llm.model.get_output_embeddings()]
    before = llm.__dict__.get("backend")
    llm.backend = "torch"  # the float model, whatever backend was asked for
    try:
        llm.batched_generate([llm.format_prompt(q) for q in questions])
    finally:
        llm.backend = before
        for hook in hooks:
            hook.remove()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # processes calibrating at once never share one
    torch.save(ranges, tmp)
    os.replace(tmp, path)
    return ranges


def smooth(model: torch.nn.Module, ranges: dict[str, torch.Tensor], alpha: float = SMOOTH_ALPHA) -> torch.nn.Module:
    """A float copy of a Llama `model` with activation outliers moved into the weights (SmoothQuant, Xiao et al.
    2023): each input channel j of a Linear is divided by s_j = max|x_j|^alpha / max|W_j|^(1-alpha) and its
    weight column multiplied by s_j, so the product is unchanged but one int8 scale per tensor fits the
    activations. The division is folded into what makes the input: the RMSNorm weight before q/k/v and
    gate/up, and the up_proj rows before down_proj (SmolLM2's largest outliers are down_proj inputs)."""
    smoothed = copy.deepcopy(model).float().eval()
    for i, layer in enumerate(smoothed.model.layers):
        prefix, attention, mlp = f"model.layers.{i}.", layer.self_attn, layer.mlp

        def factor(name, linears):
            activation = ranges[prefix + name].clamp(min=1e-5)
            weight = torch.stack([linear.weight.abs().amax(0) for linear in linears]).amax(0).clamp(min=1e-5)
            return (activation.pow(alpha) / weight.pow(1 - alpha)).clamp(min=1e-5)

        with torch.no_grad():
            for norm, name, linears in (
                    (layer.input_layernorm, "self_attn.q_proj", (attention.q_proj, attention.k_proj, attention.v_proj)),
                    (layer.post_attention_layernorm, "mlp.gate_proj", (mlp.gate_proj, mlp.up_proj))):
                s = factor(name, linears)
                norm.weight /= s
                for linear in linears:
                    linear.weight *= s
            s = factor("mlp.down_proj", [mlp.down_proj])
            mlp.up_proj.weight /= s[:, None]
            mlp.down_proj.weight *= s
    return smoothed


def weights_key(model: torch.nn.Module) -> str:
    """A hash of every weight's bytes: the cache key of a converted model."""
    digest = hashlib.blake2b(digest_size=12)
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().float().contiguous().cpu().numpy())  # its buffer: the bytes, not a copy
    return digest.hexdigest()


def _cache(kind: str, model) -> Path:
    from .base_llm import cache_root

    return cache_root() / "engines" / f"{kind}-{weights_key(model)}"


def _greedy(logits: np.ndarray, allowed: np.ndarray | None) -> np.ndarray:
    """Each row's likeliest token, among `allowed` ids when given (ties: the lowest id, as torch's argmax)."""
    if allowed is None:
        return logits.argmax(-1)
    return allowed[logits[:, allowed].argmax(-1)]


# --- llama.cpp -------------------------------------------------------------------------------------


def write_gguf(model: torch.nn.Module, target: Path, quantization: str = "Q8_0") -> Path:
    """The merged model as a GGUF file for llama.cpp: metadata and tokenizer copied from the
    embedded GGUF the base model came from, every weight taken from `model` (Q8_0 matrices,
    F32 norms). q and k rows are permuted to llama.cpp's rotary layout, as its converter does."""
    import gguf

    from .base_llm import EMBEDDED, resolve_source

    folder, name = resolve_source(EMBEDDED)
    reader = gguf.GGUFReader(Path(folder) / name)
    config = model.config
    heads, kv_heads = config.num_attention_heads, config.num_key_value_heads
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, config.num_hidden_layers)
    kind = getattr(gguf.GGMLQuantizationType, quantization)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    writer = gguf.GGUFWriter(str(tmp), arch=reader.fields[gguf.Keys.General.ARCHITECTURE].contents())
    shape = {  # the model's own sizes (the embedded file's tokenizer and the rest are kept)
        "llama.block_count": config.num_hidden_layers, "llama.embedding_length": config.hidden_size,
        "llama.feed_forward_length": config.intermediate_size, "llama.attention.head_count": heads,
        "llama.attention.head_count_kv": kv_heads, "llama.vocab_size": config.vocab_size,
        "llama.rope.dimension_count": config.hidden_size // heads,
        "llama.attention.layer_norm_rms_epsilon": config.rms_norm_eps,
        "llama.rope.freq_base": (getattr(config, "rope_parameters", None) or {}).get("rope_theta", 10000.0),
        gguf.Keys.General.FILE_TYPE: {"Q8_0": 7, "F32": 0, "F16": 1}.get(quantization, 7),
    }
    for field in reader.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue
        sub_type = field.types[-1] if field.types[0] == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, shape.get(field.name, field.contents()), field.types[0], sub_type=sub_type)
    for key, tensor in model.state_dict().items():
        if key == "lm_head.weight" and config.tie_word_embeddings:
            continue
        data = tensor.detach().float().cpu().numpy()
        if key.endswith("q_proj.weight"):
            data = _rotary_permute(data, heads)
        elif key.endswith("k_proj.weight"):
            data = _rotary_permute(data, kv_heads)
        gguf_name = names.get_name(key, try_suffixes=(".weight", ".bias"))
        assert gguf_name is not None, f"no GGUF name for {key}"
        if data.ndim == 2 and kind != gguf.GGMLQuantizationType.F32:
            writer.add_tensor(gguf_name, gguf.quants.quantize(data, kind), raw_dtype=kind)
        else:
            writer.add_tensor(gguf_name, data.astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    os.replace(tmp, target)
    return target


def cached_gguf(model: torch.nn.Module, quantization: str = "Q8_0") -> Path:
    """The merged model's GGUF in the cache, written on first use (llama.cpp and OpenVINO read the same file)."""
    path = _cache("gguf", model) / f"model-{quantization}.gguf"
    if not path.is_file():
        write_gguf(model, path, quantization)
    return path


def _rotary_permute(weights: np.ndarray, heads: int) -> np.ndarray:
    return weights.reshape(heads, 2, weights.shape[0] // heads // 2, *weights.shape[1:]).swapaxes(1, 2).reshape(weights.shape)


class LlamaCppEngine:
    """Greedy decoding of many prompts through llama.cpp (llama-cpp-python's C API), continuously
    batched: LLAMA_CPP_SLOTS sequences share each llama_decode call, and a finished one's slot
    takes the next prompt at once."""

    def __init__(self, model: torch.nn.Module, tokenizer, quantization: str = "Q8_0", threads: int | None = None):
        import llama_cpp
        from llama_cpp._internals import LlamaContext, LlamaModel
        from llama_cpp._logger import set_verbose

        set_verbose(False)  # llama.cpp's own log lines: errors only (the Llama class does the same)
        self.lib = llama_cpp
        path = cached_gguf(model, quantization)
        self.tokenizer = tokenizer
        # llama-cpp-python's Llama class gives a context one sequence (n_seq_max is set for embeddings
        # only), so the model and context are made with the C parameters directly.
        self.model = LlamaModel(path_model=str(path), params=llama_cpp.llama_model_default_params(), verbose=False)
        params = llama_cpp.llama_context_default_params()
        params.n_ctx, params.n_batch, params.n_ubatch = LLAMA_CPP_SLOTS * 512, LLAMA_CPP_BATCH_TOKENS, 512
        params.n_seq_max, params.kv_unified = LLAMA_CPP_SLOTS, True
        params.n_threads = params.n_threads_batch = threads or torch.get_num_threads()
        self.context = LlamaContext(model=self.model, params=params, verbose=False)
        self.ctx = self.context.ctx
        self.vocab_size = self.model.n_vocab()
        self.batch = llama_cpp.llama_batch_init(LLAMA_CPP_BATCH_TOKENS, 0, 1)

    @staticmethod
    def system_info() -> str:
        try:
            import llama_cpp
        except ImportError:
            return "llama_cpp not installed"
        return llama_cpp.llama_print_system_info().decode()

    def decode(self, encoded: list[list[int]], max_new_tokens: int, stop_ids: set[int],
               finished: Callable[[list[int]], bool], vocabulary: list[int] | None = None) -> list[list[int]]:
        """New tokens per prompt (token lists, no padding); a row ends as `decoding.decode`'s do."""
        if max_new_tokens < 1:
            return [[] for _ in encoded]
        lib, batch = self.lib, self.batch
        memory = lib.llama_get_memory(self.ctx)
        allowed = None if vocabulary is None else np.asarray(vocabulary)
        outputs: list[list[int]] = [[] for _ in encoded]
        waiting = sorted(range(len(encoded)), key=lambda i: len(encoded[i]), reverse=True)
        free = list(range(LLAMA_CPP_SLOTS))
        running: dict[int, int] = {}  # slot -> row
        lib.llama_memory_clear(memory, True)
        while waiting or running:
            n, owners = 0, []  # owners: the row whose logits each output position carries

            def add(token, position, slot, wants_logits):
                nonlocal n
                batch.token[n], batch.pos[n], batch.n_seq_id[n] = token, position, 1
                batch.seq_id[n][0], batch.logits[n] = slot, wants_logits
                n += 1

            for slot, row in running.items():  # each running row's last token, after its prompt and outputs
                add(outputs[row][-1], len(encoded[row]) + len(outputs[row]) - 1, slot, True)
                owners.append(slot)
            while waiting and free and n + len(encoded[waiting[-1]]) <= LLAMA_CPP_BATCH_TOKENS:
                row, slot = waiting.pop(), free.pop()
                prompt = encoded[row]
                for position, token in enumerate(prompt):
                    add(token, position, slot, position == len(prompt) - 1)
                running[slot] = row
                owners.append(slot)
            assert n, "a prompt longer than LLAMA_CPP_BATCH_TOKENS"
            batch.n_tokens = n
            code = lib.llama_decode(self.ctx, batch)
            if code != 0:
                raise RuntimeError(f"llama_decode failed ({code})")
            logits = np.ctypeslib.as_array(lib.llama_get_logits(self.ctx), shape=(len(owners), self.vocab_size))
            for slot, token in zip(owners, _greedy(logits, allowed).tolist()):
                out = outputs[running[slot]]
                out.append(token)
                if token in stop_ids or finished(out) or len(out) >= max_new_tokens:
                    lib.llama_memory_seq_rm(memory, slot, -1, -1)
                    del running[slot]
                    free.append(slot)
        return outputs

    def __del__(self):
        batch = getattr(self, "batch", None)
        if batch is not None:
            self.lib.llama_batch_free(batch)


# --- OpenVINO GenAI -------------------------------------------------------------------------------


class OpenVinoEngine:
    """Greedy decoding through OpenVINO GenAI's continuous-batching pipeline, which reads the merged
    model's GGUF (Q8_0, the file llama.cpp uses) itself: no export step, no Hugging Face tooling. The
    OpenVINO model it builds from the GGUF is saved in the cache and read from there on later starts.

    OpenVINO has no per-step logits hook, so the restricted vocabulary is checked afterwards: a row
    whose every token lies in it took, at each step, the likeliest token that was also the likeliest
    allowed one, which is what restricted decoding gives; a row that left it is decoded again by
    torch with the restriction (rare: the SFT model answers within its vocabulary). Stopping on
    every token outside the vocabulary instead made OpenVINO three times slower."""

    def __init__(self, model: torch.nn.Module, tokenizer, quantization: str = "Q8_0", threads: int | None = None,
                 properties: dict | None = None):
        import openvino_genai

        self.genai = openvino_genai
        scheduler = openvino_genai.SchedulerConfig()
        scheduler.cache_size = OPENVINO_CACHE_GB
        scheduler.max_num_seqs = OPENVINO_SEQUENCES
        scheduler.max_num_batched_tokens = OPENVINO_STEP_TOKENS
        properties = {"INFERENCE_PRECISION_HINT": self.precision(model),
                      "INFERENCE_NUM_THREADS": threads or torch.get_num_threads(),
                      "CPU_RUNTIME_CACHE_CAPACITY": OPENVINO_RUNTIME_CACHE, **(properties or {})}
        self.pipe = self._pipeline(cached_gguf(model, quantization), scheduler, properties)
        self.tokenizer = tokenizer
        self.model = weakref.ref(model)  # torch, for rows that leave the vocabulary; weak: the runner cache keys on it
        # Rows stop on the tokens that hold the closing tag's start (`finished` then cuts them exactly), not on
        # OpenVINO's stop strings: matching those detokenizes in its sampler threads, which deadlocked a service.
        from .base_llm import ANSWER_CLOSE

        pieces = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
        self.close_ids = {i for i, piece in enumerate(pieces) if piece and ANSWER_CLOSE[:2] in piece}

    def _pipeline(self, gguf_path: Path, scheduler, properties: dict):
        """The pipeline from the OpenVINO model saved beside the GGUF, or on first use from the GGUF itself,
        saving that model: building it from the GGUF takes seconds on every start (a course grader's clock)."""
        folder = gguf_path.parent / f"openvino-{gguf_path.stem}"
        if (folder / OPENVINO_XML).is_file():
            return self.genai.ContinuousBatchingPipeline(str(folder), scheduler, "CPU", properties)
        # OpenVINO saves its model next to the GGUF it reads, so it reads a link to the GGUF in a folder of
        # its own; the files then move into place, the .xml (what the check above looks for) last.
        staging = Path(tempfile.mkdtemp(prefix=".openvino-", dir=gguf_path.parent))
        try:
            try:
                os.link(gguf_path, staging / gguf_path.name)
            except OSError:  # a file system without hard links
                shutil.copyfile(gguf_path, staging / gguf_path.name)
            pipe = self.genai.ContinuousBatchingPipeline(str(staging / gguf_path.name), scheduler, "CPU",
                                                         {**properties, "enable_save_ov_model": True})
            saved = [staging / OPENVINO_XML.replace(".xml", ".bin"), staging / OPENVINO_XML]
            if all(file.is_file() for file in saved):
                folder.mkdir(exist_ok=True)
                for file in saved:
                    os.replace(file, folder / file.name)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return pipe

    @staticmethod
    def precision(model: torch.nn.Module) -> str:
        """OpenVINO's inference precision: the torch model's own (bf16 only where unitlm picked it)."""
        return "bf16" if next(model.parameters()).dtype == torch.bfloat16 else "f32"

    @staticmethod
    def version() -> str:
        try:
            import openvino
        except ImportError:
            return "openvino not installed"
        return f"OpenVINO {openvino.get_version()} CPU plugin"

    def decode(self, encoded: list[list[int]], max_new_tokens: int, stop_ids: set[int],
               finished: Callable[[list[int]], bool], vocabulary: list[int] | None = None) -> list[list[int]]:
        """New tokens per prompt (token lists, no padding); a row ends as `decoding.decode`'s do."""
        if max_new_tokens < 1 or not encoded:
            return [[] for _ in encoded]
        from openvino import Tensor

        config = self.genai.GenerationConfig()
        config.max_new_tokens, config.do_sample = max_new_tokens, False
        config.stop_token_ids = set(stop_ids) | self.close_ids
        if self.tokenizer.eos_token_id is not None:  # the GGUF names it; a model read from its saved folder does not
            config.set_eos_token_id(self.tokenizer.eos_token_id)
        results = self.pipe.generate([Tensor(np.asarray([row], dtype=np.int64)) for row in encoded],
                                     [config] * len(encoded))
        outputs = []
        for result in results:
            out = []
            for token in list(result.m_generation_ids[0]):
                out.append(token)
                if token in stop_ids or finished(out):
                    break
            outputs.append(out)
        allowed = None if vocabulary is None else set(vocabulary)
        strays = [] if allowed is None else [i for i, out in enumerate(outputs) if not allowed.issuperset(out)]
        if strays:
            redone = self._restricted([encoded[i] for i in strays], max_new_tokens, stop_ids, finished, vocabulary)
            for i, out in zip(strays, redone):
                outputs[i] = out
        return outputs

    def _restricted(self, prompts, max_new_tokens, stop_ids, finished, vocabulary) -> list[list[int]]:
        from . import decoding

        inputs = self.tokenizer.pad({"input_ids": prompts}, padding_side="left", return_tensors="pt")
        return decoding.decode(self.model(), inputs["input_ids"], inputs["attention_mask"], max_new_tokens, stop_ids,
                               finished, vocabulary=vocabulary)


# --- ONNX Runtime GenAI ----------------------------------------------------------------------------


def build_onnx(model: torch.nn.Module, tokenizer, target: Path) -> Path:
    """The merged model as an int8 ONNX Runtime GenAI model folder (its model builder, run once)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="unitlm-onnx-", dir=target.parent) as tmp:
        hf = Path(tmp) / "hf"
        model.float().save_pretrained(hf)  # the builder reads a Hugging Face folder
        tokenizer.save_pretrained(hf)
        out = Path(tmp) / "onnx"
        done = subprocess.run([sys.executable, "-m", "onnxruntime_genai.models.builder", "-i", str(hf), "-o", str(out),
                               "-p", "int8", "-e", "cpu", "-c", str(Path(tmp) / "cache")],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"onnxruntime-genai model builder failed:\n{done.stderr[-2000:]}")
        os.replace(out, target)
    return target


class OrtGenaiEngine:
    """Greedy decoding through ONNX Runtime GenAI: prompts in length-sorted, left-padded batches
    of ORT_BATCH; the vocabulary restriction and each row's own stop go through its logits."""

    def __init__(self, model: torch.nn.Module, tokenizer):
        import onnxruntime_genai as og

        self.og = og
        path = _cache("onnx-int8", model)
        if not (path / "genai_config.json").is_file():
            build_onnx(model, tokenizer, path)
        self.model = og.Model(str(path))
        self.pad = tokenizer.pad_token_id

    def decode(self, encoded: list[list[int]], max_new_tokens: int, stop_ids: set[int],
               finished: Callable[[list[int]], bool], vocabulary: list[int] | None = None) -> list[list[int]]:
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
        outputs: list[list[int]] = [[] for _ in encoded]
        for start in range(0, len(order), ORT_BATCH):
            rows = order[start : start + ORT_BATCH]
            for row, tokens in zip(rows, self._batch([encoded[i] for i in rows], max_new_tokens, stop_ids,
                                                    finished, vocabulary)):
                outputs[row] = tokens
        return outputs

    def _batch(self, prompts, max_new_tokens, stop_ids, finished, vocabulary):
        og = self.og
        width = max(map(len, prompts))
        ids = np.full((len(prompts), width), self.pad, dtype=np.int32)
        for i, prompt in enumerate(prompts):
            ids[i, width - len(prompt) :] = prompt
        params = og.GeneratorParams(self.model)
        params.set_search_options(max_length=width + max_new_tokens, batch_size=len(prompts), do_sample=False)
        generator = og.Generator(self.model, params)
        generator.append_tokens(ids)
        outputs = [[] for _ in prompts]
        done = np.zeros(len(prompts), dtype=bool)
        mask = None
        if vocabulary is not None:
            mask = np.full(self.model_vocab(generator), -np.inf, dtype=np.float32)
            mask[np.asarray(vocabulary)] = 0
        for _ in range(max_new_tokens):
            if mask is not None or done.any():
                logits = generator.get_logits().reshape(len(prompts), -1)
                if mask is not None:
                    logits = logits + mask
                logits[done] = -np.inf
                logits[done, self.pad] = 0  # a finished row idles on padding until the batch ends
                generator.set_logits(np.ascontiguousarray(logits, dtype=np.float32))
            generator.generate_next_token()
            for i, token in enumerate(generator.get_next_tokens().tolist()):
                if done[i]:
                    continue
                outputs[i].append(token)
                done[i] = token in stop_ids or finished(outputs[i])
            if done.all() or generator.is_done():
                break
        return outputs

    @staticmethod
    def model_vocab(generator) -> int:
        return generator.get_logits().shape[-1]
