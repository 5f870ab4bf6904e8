"""Fixtures: a tiny, randomly initialised Llama with the real SmolLM2 tokenizer."""

import importlib.util

import pytest
import torch
import transformers

from unitlm.base_llm import EMBEDDED_FILE, EMBEDDED_PACKAGE, quiet_transformers


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory):
    quiet_transformers()
    folder = importlib.util.find_spec(EMBEDDED_PACKAGE).submodule_search_locations[0]
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder, gguf_file=EMBEDDED_FILE)
    path = tmp_path_factory.mktemp("tokenizer")
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tokenizer_dir, tmp_path_factory):
    """A 2-layer Llama (hidden 32), seeded, saved as a local model folder."""
    tokenizer = transformers.AutoTokenizer.from_pretrained(tokenizer_dir)
    torch.manual_seed(0)
    config = transformers.LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = transformers.LlamaForCausalLM(config)
    path = tmp_path_factory.mktemp("tiny-llama")
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


@pytest.fixture()
def tiny_llm(tiny_model_dir):
    from unitlm.base_llm import BaseLLM

    return BaseLLM(tiny_model_dir, device="cpu", dtype=torch.float32)


class StubModel:
    """Returns canned generations: whatever `answer` returns comes from this text."""

    def __init__(self, texts):
        self.texts = dict(texts)
        self.calls = []

    def answer(self, *questions):
        from unitlm.base_llm import parse_answer

        self.calls.append(questions)
        return [parse_answer(self.texts.get(q, "")) for q in questions]


@pytest.fixture()
def stub_model():
    return StubModel


@pytest.fixture()
def stub_generation(monkeypatch):
    """`stub_generation(llm, texts)` replaces llm's generation with canned texts (one per prompt, in
    order, repeated as needed) and returns the list of prompts it is given."""
    def stub(llm, texts):
        seen = []

        def fake(prompts, *args, **kwargs):
            seen.extend(prompts)
            return [texts[i % len(texts)] for i in range(len(prompts))]

        monkeypatch.setattr(llm, "batched_generate", fake)
        return seen

    return stub


@pytest.fixture()
def parse_by_text(monkeypatch):
    """`parse_by_text(llm, texts)` makes llm's parser give each distinct text of `texts` its own finite number
    (its index) and any other text -1, and returns that map. On a random model, whose generations hold no
    answer, an answer then still shows which generated text it was parsed from."""
    def patch(llm, texts, patcher=monkeypatch):
        codes = {text: float(i) for i, text in enumerate(dict.fromkeys(texts))}
        patcher.setattr(llm, "parse_answer", lambda text: codes.get(text, -1.0))
        return codes

    return patch


@pytest.fixture(scope="session", autouse=True)
def shipped_adapters_stay_untouched():
    """No test may write into the package's own adapter folders (they are committed artifacts)."""
    import hashlib
    from pathlib import Path

    import unitlm

    package = Path(unitlm.__file__).parent

    def snapshot():
        return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
                for folder in ("sft_model", "rft_model") for p in sorted((package / folder).glob("*")) if p.is_file()}

    before = snapshot()
    yield
    assert snapshot() == before, "a test changed the shipped adapters in src/unitlm/*_model"


class OpenedFiles(list):
    """Paths opened while watched; `data_files()` keeps those that are data (splits or data JSON)."""

    MODEL_JSON = {"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                  "special_tokens_map.json", "added_tokens.json", "vocab.json", "chat_template.json",
                  "adapter_config.json", "unitlm_adapter.json"}

    def data_files(self) -> list[str]:
        from unitlm import data

        splits = data.SPLITS_DIR.resolve()
        return [str(p) for p in self if splits == p.resolve() or splits in p.resolve().parents
                or (p.suffix == ".json" and p.name not in self.MODEL_JSON)]


@pytest.fixture()
def watch_opens():
    """A context manager recording every file opened through open/io.open/Path.read_text/Path.read_bytes."""
    import builtins
    import contextlib
    import io
    import os
    import pathlib

    @contextlib.contextmanager
    def watch():
        opened = OpenedFiles()
        # open(file), io.open(file), Path.read_text(self), Path.read_bytes(self): the file comes first.
        targets = [(builtins, "open"), (io, "open"), (pathlib.Path, "read_text"), (pathlib.Path, "read_bytes")]
        real = [getattr(owner, name) for owner, name in targets]

        def spy(function):
            def recording(file, *args, **kwargs):
                if isinstance(file, (str, bytes, os.PathLike)):
                    opened.append(pathlib.Path(os.fsdecode(file)))
                return function(file, *args, **kwargs)
            return recording

        for (owner, name), function in zip(targets, real):
            setattr(owner, name, spy(function))
        try:
            yield opened
        finally:
            for (owner, name), function in zip(targets, real):
                setattr(owner, name, function)

    return watch


@pytest.fixture()
def run_cli():
    """`unitlm ARGS...` in this process; returns its exit code (argparse's SystemExit included)."""
    from unitlm import cli

    def run(argv) -> int:
        try:
            return cli.main([str(a) for a in argv])
        except SystemExit as exit:
            return exit.code

    return run


@pytest.fixture()
def fake_result():
    """A BenchmarkResult with `accuracy` on `n` questions and per-group accuracies derived from it."""
    from unitlm import data

    def make(accuracy: float, n: int = 4) -> data.BenchmarkResult:
        samples = [data.Sample(f"q{i}", 1.0, 1.0, i < accuracy * n) for i in range(n)]
        groups = {"category/length": {"accuracy": accuracy, "n": 2}, "category/time": {"accuracy": accuracy / 2, "n": 2},
                  "pairs/seen": {"accuracy": accuracy, "n": 3}, "pairs/unseen": {"accuracy": accuracy / 2, "n": 1}}
        return data.BenchmarkResult(accuracy, 1.0, samples, groups)

    return make
