"""sft.py: what SFT supervises, its prompt, its answer vocabulary, and an adapter trained, saved and loaded."""

import json
import math

import pytest
import transformers

from unitlm import finetune, sft
from unitlm.base_llm import format_example, parse_answer
from unitlm.data import Dataset


@pytest.fixture(scope="module")
def tokenizer(tokenizer_dir):
    return transformers.AutoTokenizer.from_pretrained(tokenizer_dir)


def _trained() -> list:
    """Train entries and the forms split's (fractions copied into the expression: "3/4*0.2366/0.001")."""
    return Dataset("train").data[:3000] + Dataset("forms").data


def test_compact_targets_keep_the_answer():
    """Factors cut to 4 significant digits and no spaces: every train or forms target still evaluates to its answer."""
    for question, answer, reasoning in _trained():
        target = sft.answer_target(question, answer, reasoning)
        assert " " not in target
        assert math.isclose(parse_answer(target), answer, rel_tol=2e-3, abs_tol=1e-9), (question, target)


@pytest.mark.parametrize("answer_format", sft.ANSWER_FORMATS)
def test_prompt_tokens_are_a_prefix_of_every_training_text(tokenizer, answer_format):
    """The prompt ends inside the target (`<answer>`): for every train entry its tokens must still
    be the training text's first tokens, or the model is asked to continue text it never saw."""
    config = sft.SFTConfig(answer_format=answer_format)
    for entry in _trained():
        question, target = sft.training_pair(entry, config)
        prompt = tokenizer(sft.SFTModel.format_prompt(None, question))["input_ids"]
        text = tokenizer(format_example(question, target))["input_ids"]
        assert text[: len(prompt)] == prompt and len(text) > len(prompt), (question, target)


def test_answer_vocabulary_holds_every_trained_answer_token(tokenizer):
    """SFT generation picks among `answer_characters` tokens: every token a train target
    asks the model for, up to the closing tag's `</`, is among them."""
    from unitlm.base_llm import answer_vocabulary

    vocabulary = set(answer_vocabulary(tokenizer, sft.SFTModel.answer_characters, {tokenizer.eos_token_id}))
    assert 50 < len(vocabulary) < 1000
    for question, answer, reasoning in _trained():
        prompt = sft.SFTModel.format_prompt(None, question)
        text = format_example(question, sft.answer_target(question, answer, reasoning))
        ids, prompt_ids = tokenizer(text)["input_ids"], tokenizer(prompt)["input_ids"]
        asked = ids[len(prompt_ids):]
        closing = next(i for i, t in enumerate(asked) if tokenizer.decode([t]).startswith("</"))
        assert set(asked[: closing + 1]) <= vocabulary, (question, text)


def test_config_refuses_an_unknown_answer_format():
    with pytest.raises(ValueError, match="answer_format must be one of expr, bare"):
        sft.SFTConfig(answer_format="words")


@pytest.fixture(scope="module")
def trained(tiny_model_dir, tmp_path_factory):
    """sft.train_model on eight questions of a data file: the adapter folder and the valid result."""
    run = tmp_path_factory.mktemp("run")
    (run / "train.json").write_text(json.dumps([[f"Convert {i} km to m.", 1000.0 * i] for i in range(1, 9)]))
    config = sft.SFTConfig(model=tiny_model_dir, train_file=str(run / "train.json"), output_dir=str(run / "sft_model"),
                           epochs=1, batch_size=4, max_questions=3)
    with pytest.warns(UserWarning, match="answer_rate"):  # an untrained-size model rarely closes an answer
        valid = sft.train_model(config)
    return run / "sft_model", valid


def test_train_save_load_answer_round_trip(trained, tiny_model_dir):
    """The loaded adapter answers with the parse of its own generation, and its metadata says what made it."""
    adapter, valid = trained
    model = sft.load(adapter, model=tiny_model_dir)
    metadata = model.metadata
    assert metadata["stage"] == "sft" and metadata["examples"] == 8 and metadata["train_file"] == "train.json"
    assert metadata["config"]["answer_format"] == "expr" and metadata["valid_accuracy"] == valid.accuracy
    questions = ["Convert 3 km to m.", "Convert 4 km to m."]
    expected = [model.parse_answer(model.generate(model.format_prompt(q))) for q in questions]
    got = model.answer(*questions)
    assert all(a == b or (math.isnan(a) and math.isnan(b)) for a, b in zip(got, expected, strict=True))
    assert len(valid.samples) == 3


def test_the_adapters_answers_are_the_parse_of_its_own_texts(trained, tiny_model_dir, stub_generation):
    """SFT's prompt opens the answer tag, so its text is the expression and the closing tag; answer()
    returns that text's parse, whatever the text says (a wrong expression gives a wrong answer)."""
    model = sft.load(trained[0], model=tiny_model_dir)
    questions = ["Convert 3 km to m.", "Convert 4 km to m.", "6 kg in g?"]
    seen = stub_generation(model, ["3 * 1000</answer>", "17</answer>", "grams"])
    got = model.answer(*questions)
    assert seen == [model.format_prompt(q) for q in questions]
    assert got[:2] == [3000.0, 17.0] and math.isnan(got[2])


def test_load_and_answer_read_no_data_file(trained, tiny_model_dir, watch_opens):
    adapter, _ = trained
    with watch_opens() as opened:
        llm = sft.load(adapter, model=tiny_model_dir)
    assert opened.data_files() == []
    assert any(adapter in p.parents for p in opened), "loading should read the adapter folder"
    with watch_opens() as opened:
        llm.answer("Convert 3 km to m.", "How many gram are there per 6 kg?")
        llm.batched_generate([llm.format_prompt("Convert 3 km to m.")], num_return_sequences=2, temperature=1.0, seed=0)
    assert list(opened) == [], f"answering opened files: {list(opened)}"


def test_test_command_scores_an_adapter(trained, tiny_model_dir, capsys):
    adapter, _ = trained
    with pytest.warns(UserWarning, match="answer_rate"):
        sft.main(["test", "--path", str(adapter), "--model", tiny_model_dir, "--max-questions", "2"])
    out = capsys.readouterr().out
    assert "sft on valid: accuracy" in out and "(n=2)" in out
