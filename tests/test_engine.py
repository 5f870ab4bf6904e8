"""Inference backends: int8 torch, the GGUF conversion for llama.cpp, the engines' decoding."""

import importlib.util
import math
from pathlib import Path

import pytest
import torch
from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

from unitlm import decoding, engine
from unitlm.base_llm import format_example

QUESTIONS = ["Convert 5 gallons to liters.", "How many gram are there per 6 kg?", "x", "1 m?"]


def test_backend_name_comes_from_the_model_then_the_environment(tiny_llm, monkeypatch):
    monkeypatch.delenv("UNITLM_BACKEND", raising=False)
    assert engine.backend_name(tiny_llm) == "auto"
    monkeypatch.setenv("UNITLM_BACKEND", "torch")
    assert engine.backend_name(tiny_llm) == "torch"
    tiny_llm.backend = "int8"
    assert engine.backend_name(tiny_llm) == "int8"
    monkeypatch.setenv("UNITLM_BACKEND", "tensorrt")
    tiny_llm.backend = None
    with pytest.raises(ValueError, match="UNITLM_BACKEND"):
        engine.backend_name(tiny_llm)


def test_auto_runs_each_cpu_model_kind_on_its_table_entry_where_installed(tiny_llm, monkeypatch):
    monkeypatch.setattr(engine, "installed", lambda name: True)
    assert engine.choose("cpu", torch.float32, "SFTModel") == "int8"
    assert engine.choose("cpu", torch.float32, "RFTModel") == engine.choose("cpu", torch.float32, "CoTModel") == "openvino"
    for kind in ("SFTModel", "RFTModel", "CoTModel"):
        assert engine.choose("cpu", torch.bfloat16, kind) == "openvino"
    for kind in ("SFTModel", "RFTModel", "CoTModel"):
        assert engine.choose("cuda", torch.bfloat16, kind) == engine.choose("cuda", torch.float32, kind) == "torch"
    assert engine.choose("cpu", torch.float32, "BaseLLM") == "torch"  # raw text: only the torch loop runs it
    monkeypatch.setattr(engine, "installed", lambda name: name != "openvino")  # an install without it
    assert engine.choose("cpu", torch.float32, "CoTModel") == engine.choose("cpu", torch.bfloat16, "SFTModel") == "torch"
    assert engine.choose("cpu", torch.float32, "SFTModel") == "int8"
    monkeypatch.delenv("UNITLM_BACKEND", raising=False)
    assert engine.resolve(tiny_llm) == "torch"  # a BaseLLM
    monkeypatch.setattr(engine, "AUTO_CPU", {("BaseLLM", torch.float32): "int8"})
    assert engine.resolve(tiny_llm) == "int8"


def test_auto_starts_openvino_for_large_batches_or_once_it_runs(tiny_llm, monkeypatch):
    from unitlm.rft import RFTModel

    monkeypatch.delenv("UNITLM_BACKEND", raising=False)
    monkeypatch.setattr(engine, "installed", lambda name: True)
    made = []
    monkeypatch.setattr(engine, "OpenVinoEngine", lambda model, tokenizer: made.append(model) or "engine")
    llm = RFTModel.__new__(RFTModel)
    llm.model, llm.tokenizer, llm.backend = tiny_llm.model, tiny_llm.tokenizer, None
    assert engine.resolve(llm) == "openvino"
    assert engine.external(llm, questions=engine.AUTO_ENGINE_QUESTIONS - 1) is None and not made
    assert engine.external(llm, questions=engine.AUTO_ENGINE_QUESTIONS) == "engine"
    assert engine.external(llm, questions=1) == "engine" and made == [tiny_llm.model]  # made once, then kept
    assert engine.external(llm, n=2, questions=500) is None  # sampling several answers stays on torch


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    """Calibration ranges and engine files go to a cache of this test's own."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def _decoder_linears(model):
    return {name for name, module in model.named_modules()
            if isinstance(module, torch.nn.Linear) and module is not model.get_output_embeddings()}


def test_calibration_records_every_decoder_linear_once_and_caches_it(tiny_llm, monkeypatch):
    ranges = engine.calibrate(tiny_llm, QUESTIONS[:2])
    assert set(ranges) == _decoder_linears(tiny_llm.model)
    assert all(r.shape == (m.in_features,) and bool((r > 0).all()) and bool(r.isfinite().all())
               for name, m in tiny_llm.model.named_modules() if (r := ranges.get(name)) is not None)
    assert not any(m._forward_pre_hooks for m in tiny_llm.model.modules())  # hooks taken off
    monkeypatch.setattr(tiny_llm, "batched_generate", lambda *a, **k: pytest.fail("not read from the cache"))
    again = engine.calibrate(tiny_llm, QUESTIONS[:2])
    assert all(torch.equal(ranges[k], again[k]) for k in ranges)


def _with_outliers(model, channel=5, scale=60.0):
    """The same function, but the inputs of every q/k/v and gate/up hold one channel `scale` times larger."""
    import copy

    model = copy.deepcopy(model)
    with torch.no_grad():
        for layer in model.model.layers:
            for norm, linears in ((layer.input_layernorm, (layer.self_attn.q_proj, layer.self_attn.k_proj,
                                                           layer.self_attn.v_proj)),
                                  (layer.post_attention_layernorm, (layer.mlp.gate_proj, layer.mlp.up_proj))):
                norm.weight[channel] *= scale
                for linear in linears:
                    linear.weight[:, channel] /= scale
    return model


def test_smoothing_keeps_the_function_and_saves_int8_from_outliers(tiny_llm):
    inputs = tiny_llm.tokenizer([format_example(q) for q in QUESTIONS], return_tensors="pt", padding=True,
                                padding_side="left")
    tiny_llm.model = _with_outliers(tiny_llm.model)
    before = {k: v.clone() for k, v in tiny_llm.model.state_dict().items()}
    smoothed = engine.smooth(tiny_llm.model, engine.calibrate(tiny_llm))
    assert all(torch.equal(before[k], v) for k, v in tiny_llm.model.state_dict().items())
    assert not torch.equal(smoothed.model.layers[0].input_layernorm.weight, tiny_llm.model.model.layers[0].input_layernorm.weight)
    with torch.inference_mode():
        reference = tiny_llm.model(**inputs).logits[:, -1]
        assert torch.allclose(smoothed(**inputs).logits[:, -1], reference, atol=1e-4, rtol=1e-4)
        plain = (engine.quantize_int8(tiny_llm.model)(**inputs).logits[:, -1] - reference).abs().max()
        smooth = (engine.quantize_int8(smoothed)(**inputs).logits[:, -1] - reference).abs().max()
    assert smooth < plain / 2, (float(smooth), float(plain))


def test_auto_makes_the_int8_copy_for_large_batches_or_when_prepared(tiny_llm, monkeypatch):
    monkeypatch.delenv("UNITLM_BACKEND", raising=False)
    monkeypatch.setattr(engine, "AUTO_CPU", {("BaseLLM", torch.float32): "int8"})
    assert engine.torch_model(tiny_llm, questions=engine.AUTO_INT8_QUESTIONS - 1) is tiny_llm.model
    quantized = engine.torch_model(tiny_llm, questions=engine.AUTO_INT8_QUESTIONS)
    assert quantized is not tiny_llm.model
    assert engine.torch_model(tiny_llm, questions=1) is quantized  # once made, every batch runs it
    other = type(tiny_llm)(tiny_llm.model.name_or_path, device="cpu", dtype=torch.float32)
    engine.prepare(other)
    assert engine.torch_model(other, questions=1) is not other.model
    made = engine._RUNNERS[other.model]  # a service's warm-up: the bf16 copy for single questions too
    assert set(made) == {"int8", "bf16"} and engine.torch_model(other, questions=1, prompt_tokens=12) is made["bf16"]


def test_auto_decodes_one_short_prompt_of_a_fp32_model_with_a_bf16_copy(tiny_llm, monkeypatch):
    monkeypatch.delenv("UNITLM_BACKEND", raising=False)
    before = {k: v.clone() for k, v in tiny_llm.model.state_dict().items()}
    short = engine.BF16_DECODE_TOKENS
    copy = engine.torch_model(tiny_llm, questions=1, prompt_tokens=short)
    assert copy is not tiny_llm.model and next(copy.parameters()).dtype == torch.bfloat16
    assert engine.torch_model(tiny_llm, questions=engine.BF16_DECODE_ROWS, prompt_tokens=12) is copy  # made once
    assert all(torch.equal(before[k], v) for k, v in tiny_llm.model.state_dict().items())  # the fp32 model as it was
    # more rows, a long prompt, sampling, several sequences, no token count, or another backend: the model itself
    assert engine.torch_model(tiny_llm, questions=engine.BF16_DECODE_ROWS + 1, prompt_tokens=12) is tiny_llm.model
    assert engine.torch_model(tiny_llm, questions=1, prompt_tokens=short + 1) is tiny_llm.model
    assert engine.torch_model(tiny_llm, temperature=0.7, questions=1, prompt_tokens=12) is tiny_llm.model
    assert engine.torch_model(tiny_llm, n=2, questions=1, prompt_tokens=12) is tiny_llm.model
    assert engine.torch_model(tiny_llm, questions=1) is tiny_llm.model
    tiny_llm.backend = "torch"
    assert engine.torch_model(tiny_llm, questions=1, prompt_tokens=12) is tiny_llm.model
    tiny_llm.backend = None
    calls, forward = [], copy.forward
    copy.forward = lambda *args, **kwargs: calls.append(1) or forward(*args, **kwargs)
    text = tiny_llm.generate(QUESTIONS[0])
    assert calls, "generate() of one short prompt did not run the bf16 copy"
    prompt = tiny_llm.tokenizer(f"{QUESTIONS[0].strip()} ", return_tensors="pt")  # the plain model's raw prompt
    tokens = decoding.decode(copy, prompt["input_ids"], prompt["attention_mask"], tiny_llm.raw_new_tokens, set(),
                             lambda row: False)
    assert text == tiny_llm.tokenizer.decode(tokens[0], skip_special_tokens=True)


def test_int8_copy_quantizes_every_linear_and_leaves_the_model(tiny_llm):
    tiny_llm.backend = "int8"
    before = {k: v.clone() for k, v in tiny_llm.model.state_dict().items()}
    quantized = engine.torch_model(tiny_llm)
    assert quantized is not tiny_llm.model and engine.torch_model(tiny_llm) is quantized  # made once
    assert not any(type(m) is torch.nn.Linear for m in quantized.modules())
    assert isinstance(quantized.lm_head, DynamicLinear) and isinstance(quantized.model.layers[1].self_attn.q_proj, DynamicLinear)
    assert all(isinstance(m, torch.nn.Linear) for m in [tiny_llm.model.lm_head, tiny_llm.model.model.layers[0].mlp.up_proj])
    assert all(torch.equal(before[k], v) for k, v in tiny_llm.model.state_dict().items())
    # sampling and several sequences per prompt stay on the float model
    assert engine.torch_model(tiny_llm, n=1, temperature=0.7) is tiny_llm.model
    assert engine.torch_model(tiny_llm, n=4, temperature=0.0) is tiny_llm.model


def test_down_proj_quantizes_each_row_on_its_own_scale(tiny_llm):
    """A row batched with one 1000 times larger keeps its precision in down_proj (one int8 scale per row);
    the other Linears keep torch's one scale per tensor, under which the small row is nearly lost."""
    quantized = engine.quantize_int8(tiny_llm.model)
    mlp, float_mlp = quantized.model.layers[0].mlp, tiny_llm.model.model.layers[0].mlp
    assert type(mlp.down_proj) is engine.RowScaledLinear and type(mlp.up_proj) is engine.FullRangeLinear
    torch.manual_seed(0)
    for layer, float_layer in ((mlp.down_proj, float_mlp.down_proj), (mlp.up_proj, float_mlp.up_proj)):
        small = torch.randn(1, float_layer.in_features)
        batch = torch.cat([small, 1000 * torch.randn(1, float_layer.in_features)])
        with torch.inference_mode():
            reference = float_layer(small)[0]
            error = (layer(batch)[0] - reference).abs().max() / reference.abs().max()
            alone = (layer(small)[0] - reference).abs().max() / reference.abs().max()
        if layer is mlp.down_proj:
            assert error < 0.05 and alone < 0.05
        else:
            assert error > 0.3 and alone < 0.05


def test_int8_greedy_decoding_is_close_to_fp32(tiny_llm):
    """int8 logits stay near fp32 ones, and answer() runs on the int8 copy, restricted vocabulary and all."""
    inputs = tiny_llm.tokenizer([format_example(q) for q in QUESTIONS], return_tensors="pt", padding=True, padding_side="left")
    tiny_llm.backend = "int8"
    tiny_llm.answer_characters = "0123456789.*/+-()e"
    quantized = engine.torch_model(tiny_llm)
    with torch.inference_mode():
        ours = quantized(**inputs).logits[:, -1]
        reference = tiny_llm.model(**inputs).logits[:, -1]
    assert (ours - reference).abs().max() < 0.05 * reference.abs().max()
    calls, forward = [], quantized.forward
    quantized.forward = lambda *args, **kwargs: calls.append(1) or forward(*args, **kwargs)
    answers = tiny_llm.answer(*QUESTIONS)
    assert calls, "answer() did not run the int8 copy"
    texts = tiny_llm.batched_generate([tiny_llm.format_prompt(q) for q in QUESTIONS])
    assert [repr(a) for a in answers] == [repr(tiny_llm.parse_answer(t)) for t in texts]  # NaN-safe equality
    allowed = set(tiny_llm._vocabulary)
    tokens = decoding.decode(quantized, inputs["input_ids"], inputs["attention_mask"], 6, set(), lambda row: False,
                             vocabulary=sorted(allowed))
    assert all(t in allowed for row in tokens for t in row)


def _gguf(model, tmp_path, quantization):
    return engine.write_gguf(model, tmp_path / f"tiny-{quantization}.gguf", quantization)


@pytest.mark.parametrize("quantization, tolerance", [("F32", 1e-6), ("Q8_0", 0.02)])
def test_gguf_round_trip_gives_the_model_back(tiny_llm, tmp_path, quantization, tolerance):
    """transformers reads the written GGUF back (undoing the rotary permutation): the same weights and logits."""
    import transformers

    path = _gguf(tiny_llm.model, tmp_path, quantization)
    back = transformers.AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
    ours, theirs = tiny_llm.model.state_dict(), back.state_dict()
    for name in ["model.layers.0.self_attn.q_proj.weight", "model.layers.1.self_attn.k_proj.weight",
                 "model.layers.1.mlp.down_proj.weight", "model.norm.weight"]:
        scale = ours[name].abs().max()
        assert (theirs[name] - ours[name]).abs().max() <= tolerance * scale, name
    inputs = tiny_llm.tokenizer(format_example(QUESTIONS[0]), return_tensors="pt")
    with torch.inference_mode():
        a, b = tiny_llm.model(**inputs).logits, back(**inputs).logits
    assert (a - b).abs().max() <= 10 * tolerance * a.abs().max() + 1e-5


needs_llama = pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="llama-cpp-python not installed")


@needs_llama
def test_llama_cpp_decodes_the_tokens_torch_decodes(tiny_llm, tmp_path, monkeypatch):
    """Continuously batched llama.cpp (F32 weights) gives torch's greedy tokens, with and without a vocabulary,
    and a row stops as decoding.decode's rows do."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(engine, "LLAMA_CPP_SLOTS", 2)  # fewer slots than prompts: slots are reused
    runner = engine.LlamaCppEngine(tiny_llm.model, tiny_llm.tokenizer, quantization="F32")
    encoded = [tiny_llm.tokenizer(format_example(q))["input_ids"] for q in QUESTIONS]
    inputs = tiny_llm.tokenizer.pad({"input_ids": encoded}, padding_side="left", return_tensors="pt")
    for vocabulary in (None, list(range(100, 400))):
        expected = decoding.decode(tiny_llm.model, inputs["input_ids"], inputs["attention_mask"], 8, {7},
                                   lambda row: len(row) >= 6, vocabulary=vocabulary)
        assert runner.decode(encoded, 8, {7}, lambda row: len(row) >= 6, vocabulary) == expected


needs_openvino = pytest.mark.skipif(importlib.util.find_spec("openvino_genai") is None,
                                    reason="openvino-genai not installed")


@needs_openvino
def test_openvino_decodes_the_tokens_torch_decodes(tiny_llm, tmp_path, monkeypatch):
    """OpenVINO (F16 GGUF, f32 arithmetic) gives the greedy tokens torch gives with the same F16 weights; a
    row that leaves the vocabulary is decoded again by torch with it, and a row that stays in it is not."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    torch.manual_seed(0)
    with torch.no_grad():  # larger random weights, so greedy rows differ; rounded to fp16 (OpenVINO reads no F32 GGUF)
        for parameter in tiny_llm.model.parameters():
            if parameter.ndim == 2:
                parameter.normal_(0, 0.1)
            parameter.copy_(parameter.half().float())
    # no int8 activations (OpenVINO's dynamic quantization of int8/f16-weight layers on VNNI processors)
    runner = engine.OpenVinoEngine(tiny_llm.model, tiny_llm.tokenizer, quantization="F16",
                                   properties={"DYNAMIC_QUANTIZATION_GROUP_SIZE": 0})
    encoded = [tiny_llm.tokenizer(format_example(q))["input_ids"] for q in QUESTIONS]
    inputs = tiny_llm.tokenizer.pad({"input_ids": encoded}, padding_side="left", return_tensors="pt")

    def torch_tokens(vocabulary):
        return decoding.decode(tiny_llm.model, inputs["input_ids"], inputs["attention_mask"], 8, {7},
                               lambda row: len(row) >= 6, vocabulary=vocabulary)

    free = torch_tokens(None)
    assert len({tuple(row) for row in free}) > 1  # rows that differ, so a mix-up of rows shows
    assert runner.decode(encoded, 8, {7}, lambda row: len(row) >= 6) == free
    redone = []
    restricted = runner._restricted
    monkeypatch.setattr(runner, "_restricted", lambda prompts, *rest: redone.append(len(prompts)) or restricted(prompts, *rest))
    narrow = list(range(100, 400))  # the random model's greedy tokens leave it: torch redoes those rows
    assert runner.decode(encoded, 8, {7}, lambda row: len(row) >= 6, narrow) == torch_tokens(narrow)
    assert redone and redone[0] == sum(not set(row) <= set(narrow) for row in free)
    redone.clear()
    used = sorted({token for row in free for token in row} | set(narrow))  # every greedy token allowed: no redo
    assert runner.decode(encoded, 8, {7}, lambda row: len(row) >= 6, used) == free
    assert not redone


@needs_openvino
def test_openvino_saves_its_model_and_reads_it_on_later_starts(tiny_llm, tmp_path, monkeypatch):
    """The first engine builds OpenVINO's model from the GGUF and saves it in the cache; the next one reads
    that saved model and decodes the same tokens; no staging folder is left behind."""
    import openvino_genai

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    sources, pipeline = [], openvino_genai.ContinuousBatchingPipeline
    monkeypatch.setattr(openvino_genai, "ContinuousBatchingPipeline",
                        lambda path, *rest: sources.append(Path(path)) or pipeline(path, *rest))
    encoded = [tiny_llm.tokenizer(format_example(q))["input_ids"] for q in QUESTIONS]
    properties = {"DYNAMIC_QUANTIZATION_GROUP_SIZE": 0}
    first = engine.OpenVinoEngine(tiny_llm.model, tiny_llm.tokenizer, quantization="F16", properties=properties)
    tokens = first.decode(encoded, 8, {7}, lambda row: len(row) >= 6)
    second = engine.OpenVinoEngine(tiny_llm.model, tiny_llm.tokenizer, quantization="F16", properties=properties)
    assert sources[0].suffix == ".gguf" and (sources[1] / engine.OPENVINO_XML).is_file()
    assert not any(path.suffix == ".gguf" for path in sources[1].iterdir())
    assert second.decode(encoded, 8, {7}, lambda row: len(row) >= 6) == tokens
    assert not list(sources[1].parent.glob(".openvino-*"))


@needs_openvino
def test_openvino_bounds_its_cpu_plugins_kernel_cache(tiny_llm, tmp_path, monkeypatch):
    """The pipeline is built with the CPU plugin's per-shape kernel cache bounded (the service's memory)."""
    import openvino_genai

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    built = []
    monkeypatch.setattr(openvino_genai, "ContinuousBatchingPipeline", lambda *args: built.append(args))
    engine.OpenVinoEngine(tiny_llm.model, tiny_llm.tokenizer, quantization="F16")
    (path, scheduler, device, properties), = built
    assert properties["CPU_RUNTIME_CACHE_CAPACITY"] == engine.OPENVINO_RUNTIME_CACHE < 5000
    assert scheduler.cache_size == engine.OPENVINO_CACHE_GB


needs_ort = pytest.mark.skipif(importlib.util.find_spec("onnxruntime_genai") is None,
                               reason="onnxruntime-genai not installed")


@needs_ort
@pytest.mark.slow
def test_onnxruntime_genai_decodes_the_restricted_vocabulary_row_by_row(tiny_llm, tmp_path, monkeypatch):
    """The int8 ONNX model decodes the restricted vocabulary only, each row stopping on its own."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    runner = engine.OrtGenaiEngine(tiny_llm.model, tiny_llm.tokenizer)
    encoded = [tiny_llm.tokenizer(format_example(q))["input_ids"] for q in QUESTIONS]
    vocabulary = list(range(100, 400))
    out = runner.decode(encoded, 8, set(), lambda row: len(row) >= 3 + row[0] % 3, vocabulary)
    assert all(set(row) <= set(vocabulary) for row in out)
    assert [len(row) for row in out] == [3 + row[0] % 3 for row in out]


def test_answers_stay_nan_for_empty_questions_on_every_torch_backend(tiny_llm):
    for backend in ("torch", "int8"):
        tiny_llm.backend = backend
        assert math.isnan(tiny_llm.answer("   ")[0])


def test_external_engines_run_greedy_single_answers_only(tiny_llm):
    """Sampling, several sequences and the plain model's raw-text continuation stay on torch."""
    from unitlm.sft import SFTModel

    llm = SFTModel.__new__(SFTModel)
    llm.model, llm.tokenizer, llm.backend = tiny_llm.model, tiny_llm.tokenizer, "llama.cpp"
    assert engine.external(llm, n=2, temperature=0.0) is None
    assert engine.external(llm, n=1, temperature=0.7) is None
    tiny_llm.backend = "onnxruntime"  # the plain BaseLLM continues raw text
    assert engine.external(tiny_llm, n=1, temperature=0.0) is None
    llm.backend = "torch"
    assert engine.external(llm) is None and engine.torch_model(llm) is llm.model
