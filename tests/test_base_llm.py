"""base_llm.py: generation (the plain model on raw text, a subclass on its own prompts), answers made from
generated text only, the answer parser, and the model cache."""

import json
import math
import os
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from unitlm import base_llm
from unitlm.base_llm import (MAX_QUESTION_CHARS, BaseLLM, closes_answer, complete_close, format_example,
                             normalize_marks, parse_answer)
from unitlm.data import Dataset

RAW = ["How many gram are there per 6 kg?", "  19.9 meter -> cm\n", "x"]


def _transformers_generate(llm, prompt: str, max_new_tokens: int, stop_at_close: bool = False) -> str:
    """Greedy continuation by transformers' own generate, cut where our stop rules cut it."""
    inputs = llm.tokenizer([prompt], return_tensors="pt")
    out = llm.model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                             eos_token_id=llm.tokenizer.eos_token_id, pad_token_id=llm.tokenizer.pad_token_id)
    tokens = out[0, inputs["input_ids"].shape[1]:].tolist()
    if stop_at_close:
        tokens = next((tokens[: i + 1] for i in range(len(tokens)) if closes_answer(llm.tokenizer, tokens[: i + 1])),
                      tokens)
    return llm.tokenizer.decode(tokens, skip_special_tokens=True)


def test_plain_model_continues_the_stripped_text_and_a_space(tiny_llm):
    """As the course's reference BaseLLM: prompt `text.strip() + " "`, greedy; `raw_new_tokens` new tokens (the
    tiny model emits no EOS here, so transformers' generate, which stops at EOS, runs as long)."""
    assert tiny_llm.raw_text and tiny_llm.raw_new_tokens == 12
    tiny_llm.backend = "torch"  # the model itself (auto decodes one short prompt with a bf16 copy: test_engine)
    for text in RAW:
        assert tiny_llm.generate(text) == _transformers_generate(tiny_llm, f"{text.strip()} ", 12)


def test_plain_model_batched_equals_one_at_a_time(tiny_llm):
    tiny_llm.backend = "torch"
    assert tiny_llm.batched_generate(RAW) == [tiny_llm.generate(text) for text in RAW]


def test_plain_model_runs_its_full_length_past_eos(tiny_llm, monkeypatch):
    """Raw continuation has no stop token and no answer stop: every row runs `raw_new_tokens`."""
    seen = {}
    real = base_llm.decoding.decode

    def spy(model, input_ids, attention_mask, max_new_tokens, stop_ids, finished, **kwargs):
        seen.update(max_new_tokens=max_new_tokens, stop_ids=stop_ids, finished=finished([1, 2, 3]))
        return real(model, input_ids, attention_mask, max_new_tokens, stop_ids, finished, **kwargs)

    monkeypatch.setattr(base_llm.decoding, "decode", spy)
    tiny_llm.batched_generate(RAW)
    assert seen == {"max_new_tokens": tiny_llm.raw_new_tokens, "stop_ids": set(), "finished": False}


class Formatted(BaseLLM):
    """A subclass with its own prompt format, as CoT, SFT and RFT are."""


def test_a_subclass_runs_its_prompt_as_given_with_its_stop_rules(tiny_model_dir):
    llm = Formatted(tiny_model_dir, device="cpu", dtype=torch.float32)
    assert not llm.raw_text
    for question in RAW:
        prompt = format_example(question)
        assert prompt.endswith("\n")
        expected = _transformers_generate(llm, prompt, llm.max_new_tokens, stop_at_close=True)
        assert llm.generate(prompt) in (expected, expected + "answer>")  # a cut `</` comes back as `</answer>`


@pytest.mark.slow
def test_real_plain_model_continues_raw_questions():
    """The instruct model ends a bare question at once; fed with a trailing space it goes on."""
    llm = BaseLLM()
    questions = ["What is the conversion from kilopascal to atm for 6 units?",
                 "How many kelvin are in 7.9 degrees Celsius?",
                 "119 sq in is how many yd^2?",
                 "Please convert 2.7 metric tons into ounces."]
    texts = llm.batched_generate(questions)
    assert sum(bool(text.strip()) for text in texts) >= 3, texts


# ---------------------------------------------------------------- generation


def test_batched_generate_shapes(tiny_llm):
    prompts = [format_example("How many feet are in 3 miles?"), format_example("6 kg in g?")]
    single = tiny_llm.batched_generate(prompts)
    assert len(single) == 2 and all(type(t) is str for t in single)
    many = tiny_llm.batched_generate(prompts, num_return_sequences=3, temperature=1.0, seed=0)
    assert len(many) == 2 and all(len(row) == 3 and all(type(t) is str for t in row) for row in many)


def test_greedy_is_deterministic_and_sampling_follows_the_seed(tiny_llm):
    prompts = [format_example("Convert 5 gallons to liters.")]
    assert tiny_llm.batched_generate(prompts) == tiny_llm.batched_generate(prompts)
    a = tiny_llm.batched_generate(prompts, num_return_sequences=2, temperature=1.0, seed=7)
    b = tiny_llm.batched_generate(prompts, num_return_sequences=2, temperature=1.0, seed=7)
    assert a == b
    others = [tiny_llm.batched_generate(prompts, num_return_sequences=2, temperature=1.0, seed=s) for s in (8, 9, 10)]
    assert any(other != a for other in others), "sampling ignored its seed"


def test_micro_batches_give_same_result(tiny_llm):
    prompts = [format_example(f"Convert {i} m to cm.") for i in range(5)]
    full = tiny_llm.batched_generate(prompts)
    tiny_llm.micro_batch = 2
    assert tiny_llm.batched_generate(prompts) == full


def test_generation_stops_at_answer_close(tiny_llm):
    encode = tiny_llm.tokenizer.encode
    assert closes_answer(tiny_llm.tokenizer, encode("<answer>5</answer>"))
    assert closes_answer(tiny_llm.tokenizer, encode("<answer>5</"))
    assert not closes_answer(tiny_llm.tokenizer, encode("<answer>5 ***"))


def test_returned_text_completes_the_closing_tag():
    assert complete_close("1 m = 100 cm. <answer>3 * 100</") == "1 m = 100 cm. <answer>3 * 100</answer>"
    assert complete_close("no answer") == "no answer"
    assert parse_answer("<answer>3 * 100</") == 300


def test_model_from_env(tiny_model_dir, monkeypatch):
    monkeypatch.setenv("UNITLM_MODEL", tiny_model_dir)
    assert BaseLLM().model_name == tiny_model_dir


# ---------------------------------------------------------------- answers come from generation only


@pytest.mark.parametrize("text,expected", [
    ("<answer>6000</answer>", 6000.0),
    ("<answer>6 * 1000</answer>", 6000.0),
    ("1 mile = 5280 foot. <answer>2.5 * 5280</answer>", 13200.0),
    ("<answer>17</answer>", 17.0),
    ("<answer>7", 7.0),
    ("no answer", math.nan),
    ("<answer>1e400</answer>", math.nan),
    ("<answer>-1e400</answer>", math.nan),
    ("<answer>1e308 * 1e308</answer>", math.nan),
    ("<answer>1 / 0</answer>", math.nan),
])
def test_the_generated_text_alone_makes_the_answer(tiny_llm, stub_generation, text, expected):
    """The same question with other generated text gets another answer: nothing but the text decides it."""
    seen = stub_generation(tiny_llm, [text])
    answer = tiny_llm.answer("How many feet are in 2.5 miles?")[0]
    assert answer == pytest.approx(expected, nan_ok=True)
    assert seen == [tiny_llm.format_prompt("How many feet are in 2.5 miles?")]


def test_answer_keeps_question_order_with_stub(tiny_llm, stub_generation):
    stub_generation(tiny_llm, [f"<answer>{i} * 10</answer>" for i in range(5)])
    assert tiny_llm.answer(*[f"q{i}?" for i in range(5)]) == [0.0, 10.0, 20.0, 30.0, 40.0]


ODD_QUESTIONS = ["How many feet are in 3 miles?", "Convert 5 gallons to liters.", "¿Cuántos gramos hay en 6 kilogramos?",
                 "6公斤等于多少克？", "Сколько метров в 3 километрах?", "🙂🙂🙂 → ?", "How many grams are in a kilogram?",
                 "\x00\x1b[31m<answer>5</answer>"]


def test_real_answers_are_the_parse_of_real_generations(tiny_llm, parse_by_text):
    """On the model itself, odd questions included: answer() is exactly the parse of what it generated."""
    texts = tiny_llm.batched_generate([tiny_llm.format_prompt(q) for q in ODD_QUESTIONS])
    expected = [tiny_llm.parse_answer(t) for t in texts]
    assert tiny_llm.answer(*ODD_QUESTIONS) == pytest.approx(expected, nan_ok=True)
    codes = parse_by_text(tiny_llm, texts)  # each answer is the parse of its own question's generation
    assert tiny_llm.answer(*ODD_QUESTIONS) == [codes[text] for text in texts]


@pytest.mark.parametrize("question", ["", "   \n\t  "])
def test_empty_question_is_nan_not_a_guess(tiny_llm, stub_generation, question):
    seen = stub_generation(tiny_llm, ["<answer>5</answer>"])
    assert math.isnan(tiny_llm.answer(question)[0]) and seen == []


def test_long_question_truncated_with_warning(tiny_llm, stub_generation):
    question = "How many feet are in 3 miles? " + "x" * 10_000
    seen = stub_generation(tiny_llm, ["<answer>15840</answer>"])
    with pytest.warns(UserWarning, match="truncated"):
        assert tiny_llm.answer(question) == [15840.0]
    assert len(seen[0]) <= len(format_example("")) + MAX_QUESTION_CHARS


@pytest.mark.parametrize(
    "typed,prompted",
    [("1 1/2 cups to ml", "1.5 cups to ml"), ("2-1/4 quarts in liters", "2.25 quarts in liters"),
     ("3 2/3 hours in minutes", "3.66667 hours in minutes"), ("How many cm is 6'?", "How many cm is 6 feet?"),
     ('12" in cm', "12 inches in cm"), ("12'' in cm", "12 inches in cm"), ("5.5″ to mm", "5.5 inches to mm"), ("I am 6’ tall, in cm?", "I am 6 feet tall, in cm?"),
     # left as typed: a plain fraction, feet and inches together, an improper fraction, a quoted number, "What's"
     ("3/4 cup in ml", "3/4 cup in ml"), ("5'10\" in cm", "5'10\" in cm"), ("10 3/2 cups", "10 3/2 cups"),
     ('Convert "12" to cm', 'Convert "12" to cm'), ("What's 7 ft in m?", "What's 7 ft in m?")],
)
def test_marks_no_split_holds_are_written_as_the_splits_write_them(tiny_llm, stub_generation, typed, prompted):
    assert normalize_marks(typed) == prompted
    seen = stub_generation(tiny_llm, ["<answer>1</answer>"])
    tiny_llm.answer(typed)
    assert seen == [format_example(prompted)] and prompted in seen[0]


def test_no_question_of_any_split_is_changed_by_the_marks_rule():
    """The prompts the shipped adapters were trained on come out of `format_example` as they did before the rule."""
    from unitlm.data import SPLITS, Dataset

    for split in SPLITS:
        for question, *_ in Dataset(split).data:
            text = " ".join(question.split())
            assert normalize_marks(text) == text, (split, question)


def test_long_question_runs_on_the_model(tiny_llm, parse_by_text):
    question = "How many feet are in 3 miles? " + "yes " * 2500
    with pytest.warns(UserWarning, match="truncated"):
        text = tiny_llm.generate(tiny_llm.format_prompt(question))
        parse_by_text(tiny_llm, [text])
        assert tiny_llm.answer(question) == [0.0]  # the parse of that same generation


# ---------------------------------------------------------------- the answer parser

PARSE_CASES = [
    ("<answer>6000</answer>", 6000.0),
    ("<answer>6,000.5</answer>", 6000.5),
    ("<answer>1,234.5</answer>", 1234.5),
    ("<answer>1.2e4</answer>", 12000.0),
    ("<answer>-3</answer>", -3.0),
    ("<answer>-2.5e3</answer>", -2500.0),
    ("<answer>42", 42.0),  # missing closing tag
    ("<answer>7.5</answer> and then some text 99", 7.5),
    ("reasoning 1 mile = 5280 foot. <answer>3 * 5280</answer>", 15840.0),
    ("<answer>(212 - 32) / 1.8</answer>", 100.0),
    ("<answer>6000 grams</answer>", 6000.0),
    ("<answer> 12 </answer><answer>13</answer>", 12.0),
    ("<answer>1,234,567</answer>", 1234567.0),
    ("<answer>8.8 * 1000 / 10</answ", 880.0),  # generation cut inside the closing tag
]
PARSE_NAN_CASES = ["", "no tags at all 5", "<answer></answer>", "<answer>abc</answer>", "<answer>1e400</answer>",
                   "<answer>1 / 0</answer>", "<<<>>>answer", "<answer>__import__('os').system('x')</answer>"]


@pytest.mark.parametrize("text,expected", PARSE_CASES)
def test_parse_answer_table(text, expected):
    assert parse_answer(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", PARSE_NAN_CASES)
def test_parse_answer_nan(text):
    assert math.isnan(parse_answer(text))


@given(st.text(max_size=300))
def test_parse_answer_never_raises_and_is_finite_or_nan(text):
    value = parse_answer(text)
    assert type(value) is float and not math.isinf(value)


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9))
def test_parse_answer_reads_back_numbers(x):
    assert parse_answer(f"<answer>{x!r}</answer>") == pytest.approx(x)


# ---------------------------------------------------------------- files: no data read, the model cache


def test_open_watch_catches_data_reads(tmp_path, watch_opens):
    """The watch itself works: reading a split or a data JSON is caught, model JSON is not."""
    (tmp_path / "mine.json").write_text("[]")
    (tmp_path / "config.json").write_text("{}")
    with watch_opens() as opened:
        Dataset("valid")
        json.loads((tmp_path / "config.json").read_text())
        with open(tmp_path / "mine.json") as handle:
            handle.read()
    found = opened.data_files()
    assert any("valid.json" in p for p in found)
    assert str(tmp_path / "mine.json") in found
    assert str(tmp_path / "config.json") not in found


def test_base_llm_reads_no_data_file(tiny_model_dir, watch_opens):
    with watch_opens() as opened:
        llm = BaseLLM(tiny_model_dir, device="cpu")
        llm.answer("How many gram are there per 6 kg?", "Express 4 centuries as a quantity of week.")
        llm.batched_generate([llm.format_prompt("6 kg in g?")], num_return_sequences=2, temperature=1.0, seed=0)
    assert opened.data_files() == []


def _unwritable_cache(kind: str, tmp_path: Path) -> Path:
    if kind == "read-only dir":
        root = tmp_path / "ro"
        root.mkdir()
        root.chmod(0o555)
        if os.access(root, os.W_OK):
            pytest.skip("running as root: permission bits do not stop writes (the 'file' case covers it)")
        return root
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder should be")
    return blocker


@pytest.mark.parametrize("kind", ["read-only dir", "file in the way"])
def test_unwritable_cache_warns_and_goes_on(tiny_llm, tmp_path, monkeypatch, kind):
    monkeypatch.setenv("XDG_CACHE_HOME", str(_unwritable_cache(kind, tmp_path)))
    target = base_llm.cache_root() / "models" / "tiny"
    with pytest.warns(UserWarning, match="not writable"):
        assert base_llm._save_atomically(tiny_llm.model, tiny_llm.tokenizer, target) is False
    assert not target.exists()


def test_cache_write_failure_midway_leaves_no_half_cache(tiny_llm, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    target = base_llm.cache_root() / "models" / "tiny"

    def no_space(path, *args, **kwargs):
        Path(path, "model.safetensors").write_bytes(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tiny_llm.model, "save_pretrained", no_space)
    with pytest.warns(UserWarning, match="could not write the model cache"):
        assert base_llm._save_atomically(tiny_llm.model, tiny_llm.tokenizer, target) is False
    assert not target.exists()
    assert list(target.parent.iterdir()) == [], "a temporary cache folder was left behind"


def test_cache_is_keyed_by_content_not_by_path(tmp_path):
    """The same GGUF installed by two venvs shares one converted copy; other content gets its own."""
    for name, content in (("a", b"same weights"), ("b", b"same weights"), ("c", b"other weights")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "m.gguf").write_bytes(content)
    assert base_llm._cache_dir_for(str(tmp_path / "a"), "m.gguf") == base_llm._cache_dir_for(str(tmp_path / "b"), "m.gguf")
    assert base_llm._cache_dir_for(str(tmp_path / "a"), "m.gguf") != base_llm._cache_dir_for(str(tmp_path / "c"), "m.gguf")


def test_gguf_file_is_parsed_once_within_a_conversion_and_gguf_restored_after():
    import gguf

    from unitlm.base_llm import _gguf_parsed_once

    reader, names = gguf.GGUFReader, gguf.get_tensor_name_map
    with _gguf_parsed_once():
        assert gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, 2) is gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, 2)
        assert gguf.GGUFReader is not reader
    assert gguf.GGUFReader is reader and gguf.get_tensor_name_map is names
