"""Self-consistency: `answer(..., votes=k)` returns the most common of k sampled answers."""

import math

import pytest

from unitlm import base_llm


def test_majority_ignores_abstentions_and_counts_close_values_once():
    assert base_llm.majority([2.0, math.nan, 3.0, 3.0000000001, 2.0, 3.0]) == 3.0
    assert math.isnan(base_llm.majority([math.nan, math.nan]))
    assert base_llm.majority([7.0]) == 7.0


def test_votes_sample_k_texts_and_return_their_majority(tiny_llm, monkeypatch):
    calls = []

    def fake_generate(prompts, num_return_sequences=None, temperature=0, seed=None, progress=False):
        calls.append((len(prompts), num_return_sequences, temperature))
        texts = ["<answer>5</answer>", "<answer>4</answer>", "<answer>5</answer>", "no answer"]
        return [texts[: num_return_sequences] for _ in prompts] if num_return_sequences else ["<answer>4</answer>"] * len(prompts)

    monkeypatch.setattr(tiny_llm, "batched_generate", fake_generate)
    assert tiny_llm.answer("q1", "", "q2", votes=4)[0::2] == [5.0, 5.0]
    assert math.isnan(tiny_llm.answer("q1", "", votes=4)[1])
    assert calls[0] == (2, 4, base_llm.VOTE_TEMPERATURE)
    assert tiny_llm.answer("q1") == [4.0]  # one vote: greedy, as before
    assert calls[-1] == (1, None, 0)


def test_votes_on_the_tiny_model_run_the_sampler(tiny_llm, parse_by_text):
    question = "How many gram are there per 6 kg?"
    texts = tiny_llm.vote_texts([question], 3)[0]  # the same seed: the texts answer() votes with
    codes = parse_by_text(tiny_llm, texts)
    answers = tiny_llm.answer(question, "", votes=3)
    assert len(texts) == 3 and len(answers) == 2 and math.isnan(answers[1])
    assert answers[0] == base_llm.majority([codes[text] for text in texts]) and answers[0] >= 0


def test_votes_must_be_positive(tiny_llm):
    with pytest.raises(ValueError, match="votes must be at least 1"):
        tiny_llm.answer("q", votes=0)
