"""The real embedded model and the shipped adapters (marked slow; they still run in CI)."""

import math

import pytest

from unitlm import data, units
from unitlm.base_llm import BaseLLM

# Written for this test: phrasings and numbers that no data file holds. Answers come from pint.
INVENTED = [
    ("My recipe wants 2.5 cups of milk. How many millilitres is that?", 2.5, "cup", "milliliter"),
    ("A marathon is 26.2 miles long; what is that in kilometres?", 26.2, "mile", "kilometer"),
    ("The suitcase weighs 23 kg. What's its weight in pounds?", 23, "kilogram", "pound"),
    ("How many seconds are in 3 hours?", 3, "hour", "second"),
    ("Water boils at 212 °F. Give that in Celsius.", 212, "degree Fahrenheit", "degree Celsius"),
    ("A 64 GB card holds how many megabytes?", 64, "gigabyte", "megabyte"),
    ("The speed limit is 65 mph. Convert it to km/h.", 65, "mile per hour", "kilometer per hour"),
    ("How many square feet does a 40 square meter flat have?", 40, "square meter", "square foot"),
    ("I drank 3 pints of water; how many liters is that?", 3, "pint", "liter"),
    ("A tire is inflated to 32 psi. What is that in kPa?", 32, "pound per square inch", "kilopascal"),
    ("How many minutes are there in 7 days?", 7, "day", "minute"),
    ("The board is 8 feet long. How long is it in centimeters?", 8, "foot", "centimeter"),
    ("A snack has 250 kcal. How many kilojoules is that?", 250, "kilocalorie", "kilojoule"),
    ("The room is 21 degrees Celsius; what is it in kelvin?", 21, "degree Celsius", "kelvin"),
    ("How many ounces are in 3 pounds?", 3, "pound", "ounce"),
    ("An 18 hectare farm is how many acres?", 18, "hectare", "acre"),
    ("How many weeks are in 2 years?", 2, "year", "week"),
    ("My download is 700 MB. How many gigabytes is that?", 700, "megabyte", "gigabyte"),
    ("The boat sails at 12 knots; what is that in miles per hour?", 12, "knot", "mile per hour"),
    ("How many millimeters are in 4.5 inches?", 4.5, "inch", "millimeter"),
]


def invented_accuracy(model) -> float:
    answers = model.answer(*[q for q, *_ in INVENTED])
    correct = [data.is_answer_valid(a, units.convert(v, s, t)) for a, (_, v, s, t) in zip(answers, INVENTED)]
    return sum(correct) / len(correct)


@pytest.mark.slow
def test_real_model_loads_and_answers():
    llm = BaseLLM()
    text = llm.generate(llm.format_prompt("How many gram are there per 6 kg?"))
    assert text.strip()
    answer, expected = llm.answer("How many gram are there per 6 kg?")[0], llm.parse_answer(text)
    assert answer == expected or (math.isnan(answer) and math.isnan(expected)), "answer() is not the parse of the text"
    assert sum(p.numel() for p in llm.model.parameters()) < 380_000_000


@pytest.mark.slow
def test_shipped_sft_adapter_answers_unseen_questions():
    from unitlm import load_sft

    model = load_sft()
    test_accuracy = data.benchmark(model, data.Dataset("test"), 100).accuracy
    assert test_accuracy >= 0.7
    assert invented_accuracy(model) >= test_accuracy - 0.25, "far worse on questions outside the data files"


@pytest.mark.slow
def test_shipped_rft_adapter_answers_unseen_questions():
    from unitlm import load_rft

    model = load_rft()
    result = data.benchmark(model, data.Dataset("test"), 100)
    assert result.accuracy >= 0.7 and result.answer_rate >= 0.95
    assert invented_accuracy(model) >= result.accuracy - 0.25
    assert data.is_answer_valid(model.answer("Express 4 centuries as a quantity of week.")[0],
                                units.convert(4, "century", "week"))


@pytest.mark.slow
def test_retrieved_cot_examples_beat_fixed_ones():
    """In-context CoT on the real model: the retrieved worked examples must keep their lead over
    the fixed seven by a wide margin (docs/results.md), and answers must close."""
    from unitlm import load_cot

    valid = data.Dataset("valid")
    retrieved = data.benchmark(load_cot(), valid, 60)
    fixed = data.benchmark(load_cot(demos="fixed"), valid, 60)
    assert retrieved.answer_rate >= 0.95
    assert retrieved.accuracy >= fixed.accuracy + 0.2, (retrieved.accuracy, fixed.accuracy)
