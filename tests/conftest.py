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
