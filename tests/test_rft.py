"""rft.py: what RFT supervises, its prompt against its training text, and an adapter saved and loaded."""

import json
import math

import pytest
import transformers

from unitlm import finetune, rft
from unitlm.base_llm import format_example
from unitlm.data import DataError, Dataset


def test_reasoning_pairs_keep_only_entries_that_end_in_an_answer():
    entries = [["q1", 1.0, "  1 a = 2 b. <answer>1 * 2</answer>\n"], ["q2", 2.0], ["q3", 3.0, "no answer here"]]
    assert [rft.reasoning_pair(entry) for entry in entries] == [("q1", "1 a = 2 b. <answer>1 * 2</answer>"), None, None]


def test_a_file_without_reasoning_fails_before_training(tmp_path, tiny_model_dir):
    data = tmp_path / "plain.json"
    data.write_text(json.dumps([["Convert 2 km to m.", 2000.0], ["q3", 3.0, "no answer here"]]))
    config = rft.RFTConfig(model=tiny_model_dir, train_file=str(data), output_dir=str(tmp_path / "out"))
    with pytest.raises(DataError, match="none of its 2 entries gives a rft training pair"):
        finetune.training_pairs(rft.STAGE, config)


def test_prompt_tokens_are_a_prefix_of_every_training_text(tokenizer_dir):
    """RFT's prompt is the bare question; for every train reasoning, its tokens must still be the
    training text's first tokens (a reasoning that merged with the prompt's newline would not be)."""
    tokenizer = transformers.AutoTokenizer.from_pretrained(tokenizer_dir)
    pairs = [pair for entry in Dataset("train").data[:3000] if (pair := rft.reasoning_pair(entry))]
    assert len(pairs) > 1000
    for question, reasoning in pairs:
        prompt = tokenizer(rft.RFTModel.format_prompt(None, question))["input_ids"]
        text = tokenizer(format_example(question, reasoning))["input_ids"]
        assert text[: len(prompt)] == prompt and len(text) > len(prompt), (question, reasoning)


def test_rft_save_load_round_trip(tiny_model_dir, tmp_path, stub_generation, parse_by_text):
    data = tmp_path / "d.json"
    data.write_text(json.dumps([[f"Convert {i} km to m.", i * 1000.0, f"1 kilometer = 1000 meter. <answer>{i} * 1000</answer>"]
                                for i in range(1, 9)]))
    out = tmp_path / "rft_model"
    config = rft.RFTConfig(model=tiny_model_dir, train_file=str(data), output_dir=str(out), epochs=1, batch_size=4)
    pairs, _ = finetune.training_pairs(rft.STAGE, config)
    finetune.train_adapter(pairs, out, config, {"stage": "rft"})
    model = rft.load(out, model=tiny_model_dir)
    assert isinstance(model, rft.RFTModel) and model.metadata["stage"] == "rft" and model.metadata["examples"] == 8
    text = model.generate(model.format_prompt("Convert 2 km to m."))
    with pytest.MonkeyPatch.context() as patcher:  # the answer is the parse of that same generation
        parse_by_text(model, [text], patcher)
        assert model.answer("Convert 2 km to m.") == [0.0]
    questions = ["Convert 2 km to m.", "Convert 3 km to m.", "Convert 4 km to m."]
    seen = stub_generation(model, ["1 kilometer = 1000 meter. <answer>2 * 1000</answer>", "<answer>7</answer>",
                                   "1 kilometer = 1000 meter."])
    got = model.answer(*questions)
    assert seen == [model.format_prompt(q) for q in questions]
    assert got[:2] == [2000.0, 7.0] and math.isnan(got[2])  # the parse of each text, right or wrong
