import pytest
import torch

from unitlm.base_llm import BaseLLM, format_example


def test_batched_generate_shapes(tiny_llm):
    prompts = [format_example("How many feet are in 3 miles?"), format_example("6 kg in g?")]
    single = tiny_llm.batched_generate(prompts)
    assert isinstance(single, list) and len(single) == 2 and all(isinstance(t, str) for t in single)
    many = tiny_llm.batched_generate(prompts, num_return_sequences=3, temperature=1.0, seed=0)
    assert len(many) == 2 and all(len(row) == 3 for row in many)


def test_greedy_is_deterministic(tiny_llm):
    prompts = [format_example("Convert 5 gallons to liters.")]
    assert tiny_llm.batched_generate(prompts) == tiny_llm.batched_generate(prompts)


def test_sampling_same_seed_same_output(tiny_llm):
    prompts = [format_example("Convert 5 gallons to liters.")]
    a = tiny_llm.batched_generate(prompts, num_return_sequences=2, temperature=1.0, seed=7)
    b = tiny_llm.batched_generate(prompts, num_return_sequences=2, temperature=1.0, seed=7)
    assert a == b


def test_left_padding_matches_one_at_a_time(tiny_llm):
    questions = ["Convert 5 gallons to liters.", "How many gram are there per 6 kg and a much longer tail here?", "x"]
    prompts = [format_example(q) for q in questions]
    batched = tiny_llm.batched_generate(prompts)
    alone = [tiny_llm.generate(p) for p in prompts]
    assert batched == alone
    assert tiny_llm.tokenizer.padding_side == "left"


def test_micro_batches_give_same_result(tiny_llm):
    prompts = [format_example(f"Convert {i} m to cm.") for i in range(5)]
    full = tiny_llm.batched_generate(prompts)
    tiny_llm.micro_batch = 2
    assert tiny_llm.batched_generate(prompts) == full


def test_answer_passes_model_text_through_parser(tiny_llm, monkeypatch):
    """Whatever the model generates is what answer() parses: no other source of numbers."""
    monkeypatch.setattr(tiny_llm, "batched_generate", lambda prompts: ["<answer>3 * 7</answer>", "nothing"])
    assert tiny_llm.answer("a?", "b?")[0] == 21.0
    import math

    assert math.isnan(tiny_llm.answer("a?", "b?")[1])


def test_generation_stops_at_answer_close(tiny_llm):
    from unitlm.base_llm import closes_answer

    encode = tiny_llm.tokenizer.encode
    assert closes_answer(tiny_llm.tokenizer, encode("<answer>5</answer>"))
    assert closes_answer(tiny_llm.tokenizer, encode("<answer>5</"))
    assert not closes_answer(tiny_llm.tokenizer, encode("<answer>5 ***"))


def test_returned_text_completes_the_closing_tag():
    from unitlm.base_llm import complete_close, parse_answer

    assert complete_close("1 m = 100 cm. <answer>3 * 100</") == "1 m = 100 cm. <answer>3 * 100</answer>"
    assert complete_close("no answer") == "no answer"
    assert parse_answer("<answer>3 * 100</") == 300


def test_model_from_env(tiny_model_dir, monkeypatch):
    monkeypatch.setenv("UNITLM_MODEL", tiny_model_dir)
    assert BaseLLM().model_name == tiny_model_dir


def test_prompt_is_prefix_of_training_text():
    assert format_example("q?", "<answer>1</answer>").startswith(format_example("q?"))


def test_cot_prompt_has_chat_turns_and_computed_worked_answers(tiny_model_dir):
    from unitlm import cot

    assert cot.worked_answer(3, "mile", "foot") == "<answer>3 * 5280</answer>"
    assert cot.worked_answer(212, "degree Fahrenheit", "degree Celsius").startswith("<answer>(212 - 32)")
    llm = cot.CoTModel(tiny_model_dir, demos="fixed", device="cpu", dtype=torch.float32)
    prompt = llm.format_prompt("How many feet are in 2 miles?")
    assert prompt.count("<answer>") == len(cot.EXAMPLES) + 1 and cot.INSTRUCTION in prompt  # + the instruction
    assert prompt.rstrip().endswith("assistant")
    with pytest.raises(ValueError, match="demos"):
        cot.CoTModel(tiny_model_dir, demos="table", device="cpu")


def test_retrieved_examples_are_alike_and_never_the_question(tiny_model_dir):
    """The default CoT prompt shows the nearest train questions, the nearest last, never the
    asked one: a train question's own gold answer stays out of its prompt."""
    from unitlm import cot, demos
    from unitlm.data import Dataset

    llm = cot.CoTModel(tiny_model_dir, device="cpu", dtype=torch.float32)
    examples = llm.examples("How many kilograms are in 9 ounces?")
    assert len(examples) == cot.RETRIEVED_EXAMPLES
    nearest = examples[-1][0].lower()
    assert "kilogram" in nearest and demos._after_number(nearest, 1)[0].startswith("ounce"), nearest
    for question, answer, reasoning in Dataset("train").data[:5]:
        prompt = llm.format_prompt(question)
        assert prompt.count(question) == 1 and cot.pool_answer(question, answer, reasoning) not in prompt
        assert prompt.count("<answer>") == cot.RETRIEVED_EXAMPLES + 1
