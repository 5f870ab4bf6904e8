"""cot.py: the in-context prompt, with fixed or retrieved worked examples."""

import pytest
import torch


def test_cot_prompt_has_chat_turns_and_computed_worked_answers(tiny_model_dir):
    from unitlm import cot

    assert cot.worked_answer(3, "mile", "foot") == "<answer>3 * 5280</answer>"
    assert cot.worked_answer(212, "degree Fahrenheit", "degree Celsius").startswith("<answer>(212 - 32)")
    llm = cot.CoTModel(tiny_model_dir, demos="fixed", device="cpu", dtype=torch.float32)
    prompt = llm.format_prompt("How many feet are in 2 miles?")
    assert prompt.count("<answer>") == len(cot.EXAMPLES) + 1 and cot.INSTRUCTION in prompt  # + the instruction
    assert prompt.rstrip().endswith("assistant")
    typed = llm.format_prompt("1 1/2   cups to ml")  # written as SFT and RFT prompt it
    assert "1.5 cups to ml" in typed and "1 1/2" not in typed
    with pytest.raises(ValueError, match="demos"):
        cot.CoTModel(tiny_model_dir, demos="table", device="cpu")


def test_retrieved_examples_are_alike_and_never_the_question(tiny_model_dir):
    """The default CoT prompt shows the nearest train questions, the nearest last, never the
    asked one: a train question's own gold answer stays out of its prompt."""
    from unitlm import cot, demos
    from unitlm.data import Dataset

    llm = cot.CoTModel(tiny_model_dir, device="cpu", dtype=torch.float32)
    examples = llm.examples("How many grams are in 9 ounces?")
    assert len(examples) == cot.RETRIEVED_EXAMPLES
    nearest = examples[-1][0].lower()
    assert "gram" in nearest and demos._after_number(nearest, 1)[0].startswith("ounce"), nearest
    train = Dataset("train").data
    worked = [cot.pool_answer(*entry) for entry in train]
    for (question, answer, reasoning), own in zip(train[:5], worked):
        prompt = llm.format_prompt(question)
        assert prompt.count(question) == 1 and question not in [q for q, _ in llm.examples(question)]
        if worked.count(own) == 1:  # another train question may share the same worked answer
            assert own not in prompt
        assert prompt.count("<answer>") == cot.RETRIEVED_EXAMPLES + 1
