import json
import math
from pathlib import Path

import pytest
import torch
import transformers

from unitlm import finetune, sft
from unitlm.base_llm import format_example
from unitlm.finetune import IGNORE, AdapterError, TrainConfig, collate, tokenize


def test_labels_mask_prompt_and_keep_eos(tiny_llm):
    tok = tiny_llm.tokenizer
    ids, labels = tokenize(tok, "How many gram are there per 6 kg?", "<answer>6 * 1000</answer>")
    prompt_len = len(tok(format_example("How many gram are there per 6 kg?"), add_special_tokens=False)["input_ids"])
    assert labels[:prompt_len] == [IGNORE] * prompt_len
    assert labels[prompt_len:] == ids[prompt_len:]
    assert ids[-1] == tok.eos_token_id and labels[-1] == tok.eos_token_id
    assert tok.decode(ids[prompt_len:-1]) == "<answer>6 * 1000</answer>"


def test_collate_masks_padding(tiny_llm):
    tok = tiny_llm.tokenizer
    batch = collate([tokenize(tok, "a?", "<answer>1</answer>"), tokenize(tok, "a much longer question?", "<answer>2</answer>")],
                    tok.pad_token_id)
    short = batch["attention_mask"][0].sum()
    assert (batch["labels"][0, short:] == IGNORE).all()
    assert batch["attention_mask"][0, 0] == 1  # right padding for training
    assert (batch["labels"] != IGNORE).sum(dim=1).min() > 0


def test_inference_prompt_is_prefix_of_training_text():
    entry = ["Express 4 centuries as a quantity of week.", 20871.4, "1 century = 3155760000 second. 1 week = 604800 second. <answer>4 * 3155760000 / 604800</answer>"]
    target = sft.answer_target(*entry)
    assert format_example(entry[0], target).startswith(sft.SFTModel.format_prompt(None, entry[0]))


def test_compact_targets_keep_the_answer():
    """Factors cut to 4 significant digits and no spaces: every train target still evaluates to its answer."""
    from unitlm.base_llm import parse_answer
    from unitlm.data import Dataset

    for question, answer, reasoning in Dataset("train").data[:3000]:
        target = sft.answer_target(question, answer, reasoning)
        assert " " not in target
        assert math.isclose(parse_answer(target), answer, rel_tol=2e-3, abs_tol=1e-9), (question, target)


def test_answer_vocabulary_holds_every_trained_answer_token(tokenizer_dir):
    """SFT generation picks among `answer_characters` tokens: every token a train target
    asks the model for, up to the closing tag's `</`, is among them."""
    from unitlm.base_llm import answer_vocabulary
    from unitlm.data import Dataset

    tokenizer = transformers.AutoTokenizer.from_pretrained(tokenizer_dir)
    vocabulary = set(answer_vocabulary(tokenizer, sft.SFTModel.answer_characters, {tokenizer.eos_token_id}))
    assert 50 < len(vocabulary) < 1000
    for question, answer, reasoning in Dataset("train").data[:3000]:
        prompt = sft.SFTModel.format_prompt(None, question)
        text = format_example(question, sft.answer_target(question, answer, reasoning))
        ids, prompt_ids = tokenizer(text)["input_ids"], tokenizer(prompt)["input_ids"]
        assert ids[: len(prompt_ids)] == prompt_ids
        asked = ids[len(prompt_ids):]
        closing = next(i for i, t in enumerate(asked) if tokenizer.decode([t]).startswith("</"))
        assert set(asked[: closing + 1]) <= vocabulary, (question, text)


def test_doctests():
    import doctest

    from unitlm import cot, demos, units

    for module in (sft, units, cot, demos):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__


@pytest.mark.parametrize("entry", [
    ["How many kelvin are in -7.9 degrees Celsius?", 265.25, "x. <answer>-7.9 + 273.15</answer>"],
    ["Convert 98.6 F to C.", 37.0, "x. <answer>(98.6 - 32) / 1.8</answer>"],
    ["How many gram are there per 6 kg?", 6000.0, None],
])
@pytest.mark.parametrize("answer_format", ["expr", "bare"])
def test_inference_prompt_tokens_are_a_prefix_of_training_tokens(tiny_llm, entry, answer_format):
    """The prompt ends inside the target (`<answer>`): its tokens must still be the training text's first tokens."""
    prompt = tiny_llm.tokenizer(sft.SFTModel.format_prompt(None, entry[0]))["input_ids"]
    text = tiny_llm.tokenizer(format_example(entry[0], sft.answer_target(*entry, answer_format)))["input_ids"]
    assert text[: len(prompt)] == prompt and len(text) > len(prompt)


def test_two_steps_change_lora_not_base(tiny_model_dir, tmp_path, monkeypatch):
    pairs = [(f"Convert {i} km to m.", f"<answer>{i} * 1000</answer>") for i in range(1, 5)]
    before = {}
    original = finetune.lora_model

    def spy(model, config):
        before.update({k: v.detach().clone() for k, v in model.state_dict().items()})
        wrapped = original(model, config)
        before["lora"] = {k: v.detach().clone() for k, v in wrapped.named_parameters() if "lora_B" in k}
        return wrapped

    monkeypatch.setattr(finetune, "lora_model", spy)
    config = TrainConfig(model=tiny_model_dir, epochs=1, batch_size=2, learning_rate=1e-2, top_layers=0)
    model, _ = finetune.train_adapter(pairs, tmp_path / "adapter", config, {"stage": "test"})
    after = dict(model.named_parameters())
    changed = [k for k, v in before["lora"].items() if not torch.equal(v, after[k].detach())]
    assert changed, "LoRA weights did not change"
    base = model.get_base_model().state_dict()
    for name, value in before.items():
        if name == "lora":
            continue
        key = name.replace(".weight", ".base_layer.weight") if name.replace(".weight", ".base_layer.weight") in base else name
        assert torch.equal(base[key], value), f"base weight {name} changed"
    metadata = json.loads((tmp_path / "adapter" / finetune.METADATA).read_text())
    assert math.isfinite(metadata["final_loss"]) and metadata["base_model"] == tiny_model_dir
    assert list((tmp_path / "adapter_logs").glob("events.out.tfevents*"))


@pytest.fixture(scope="module")
def trained_adapter(tiny_model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("sft") / "sft_model"
    pairs = [(f"Convert {i} km to m.", f"<answer>{i} * 1000</answer>") for i in range(1, 9)]
    finetune.train_adapter(pairs, out, TrainConfig(model=tiny_model_dir, epochs=1, batch_size=4), {"stage": "sft"})
    return out


def test_save_load_answer_round_trip(trained_adapter, tiny_model_dir):
    model = sft.load(trained_adapter, model=tiny_model_dir)
    assert model.metadata["stage"] == "sft"
    answers = model.answer("Convert 3 km to m.", "Convert 4 km to m.")
    assert len(answers) == 2 and all(isinstance(a, float) for a in answers)


def test_load_refuses_other_base_model(trained_adapter, tiny_model_dir, tmp_path):
    meta_path = trained_adapter / finetune.METADATA
    metadata = json.loads(meta_path.read_text())
    copy = tmp_path / "copy"
    import shutil

    shutil.copytree(trained_adapter, copy)
    (copy / finetune.METADATA).write_text(json.dumps({**metadata, "base_model": "someone/else"}))
    with pytest.raises(AdapterError, match="trained on 'someone/else'"):
        sft.load(copy, model=tiny_model_dir)
    (copy / finetune.METADATA).write_text(json.dumps({**metadata, "prompt_format": "old"}))
    with pytest.raises(AdapterError, match="prompt format"):
        sft.load(copy, model=tiny_model_dir)


def test_load_without_adapter_says_how_to_make_one(tmp_path, tiny_model_dir):
    with pytest.raises(AdapterError, match="python -m unitlm.sft train"):
        sft.load(tmp_path / "nothing", model=tiny_model_dir)


def test_corrupted_adapter_is_clear_error(trained_adapter, tiny_model_dir, tmp_path):
    import shutil

    copy = tmp_path / "broken"
    shutil.copytree(trained_adapter, copy)
    (copy / "adapter_model.safetensors").write_bytes(b"garbage")
    with pytest.raises(AdapterError, match="Could not load the adapter"):
        sft.load(copy, model=tiny_model_dir)


def test_atomic_save_keeps_previous_adapter_on_failure(trained_adapter, tmp_path, monkeypatch):
    import shutil

    target = tmp_path / "model"
    shutil.copytree(trained_adapter, target)

    class Broken:
        def save_pretrained(self, path):
            Path(path, "partial").write_text("x")
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        finetune.save_adapter(Broken(), target, {})
    assert (target / "adapter_config.json").is_file()
    assert not (target / "partial").exists()


def test_answer_target_from_plain_pairs():
    assert sft.answer_target("How many gram are there per 6 kg?", 6000.0, None) == "<answer>6*1000</answer>"
    assert sft.answer_target("no number here", 5.0, None) == "<answer>5</answer>"


def test_interrupted_training_resumes_to_the_same_adapter(tiny_model_dir, tmp_path, monkeypatch):
    """Stop after a checkpoint, rerun: training resumes there and ends where an uninterrupted run ends."""
    from safetensors.torch import load_file

    pairs = [(f"Convert {i} km to m.", f"<answer>{i} * 1000</answer>") for i in range(1, 13)]
    config = TrainConfig(model=tiny_model_dir, epochs=1, batch_size=2, learning_rate=1e-2, checkpoint_every=2)
    finetune.train_adapter(pairs, tmp_path / "whole", config, {})

    real_clip = torch.nn.utils.clip_grad_norm_
    calls = {"n": 0}

    def stop_at_step_five(params, norm):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt("simulated kill")
        return real_clip(params, norm)

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", stop_at_step_five)
    with pytest.raises(KeyboardInterrupt):
        finetune.train_adapter(pairs, tmp_path / "resumed", config, {})
    assert (tmp_path / ".resumed.checkpoint.pt").is_file()
    resumed_steps = []

    def count(params, norm):
        resumed_steps.append(1)
        return real_clip(params, norm)

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", count)
    finetune.train_adapter(pairs, tmp_path / "resumed", config, {})
    assert len(resumed_steps) == 2, "did not resume at the step-4 checkpoint (6 steps in all)"
    assert not (tmp_path / ".resumed.checkpoint.pt").exists()
    whole = load_file(tmp_path / "whole" / "adapter_model.safetensors")
    resumed = load_file(tmp_path / "resumed" / "adapter_model.safetensors")
    assert all(torch.allclose(whole[k], resumed[k], atol=1e-6) for k in whole)
