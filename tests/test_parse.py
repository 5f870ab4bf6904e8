import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from unitlm import calc
from unitlm.base_llm import parse_answer
from unitlm.data import is_answer_valid

CASES = [
    ("<answer>6000</answer>", 6000.0),
    ("<answer>6,000.5</answer>", 6000.5),
    ("<answer>1.2e4</answer>", 12000.0),
    ("<answer>-3</answer>", -3.0),
    ("<answer>42", 42.0),  # missing closing tag
    ("<answer>7.5</answer> and then some text 99", 7.5),
    ("reasoning 1 mile = 5280 foot. <answer>3 * 5280</answer>", 15840.0),
    ("<answer>(212 - 32) / 1.8</answer>", 100.0),
    ("<answer>6000 grams</answer>", 6000.0),
    ("<answer> 12 </answer><answer>13</answer>", 12.0),
    ("<answer>1,234,567</answer>", 1234567.0),
    ("<answer>8.8 * 1000 / 10</answ", 880.0),  # generation cut inside the closing tag
]
NAN_CASES = ["", "no tags at all 5", "<answer></answer>", "<answer>abc</answer>", "<answer>1e400</answer>",
             "<answer>1 / 0</answer>", "<<<>>>answer", "<answer>__import__('os').system('x')</answer>"]


@pytest.mark.parametrize("text,expected", CASES)
def test_parse_answer_table(text, expected):
    assert parse_answer(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", NAN_CASES)
def test_parse_answer_nan(text):
    assert math.isnan(parse_answer(text))


@pytest.mark.parametrize("expr", ["2 ** 1000", "x + 1", "abs(3)", "[1]", "1 if 1 else 2", "9" * 200])
def test_calculator_refuses_non_arithmetic(expr):
    with pytest.raises(ValueError):
        calc.evaluate(expr)


@given(st.text(max_size=300))
def test_parse_answer_never_raises(text):
    value = parse_answer(text)
    assert isinstance(value, float)


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9))
def test_parse_answer_reads_back_numbers(x):
    assert parse_answer(f"<answer>{x!r}</answer>") == pytest.approx(x)


@given(st.one_of(st.floats(), st.integers()), st.one_of(st.floats(), st.integers()))
def test_is_answer_valid_never_raises_and_nan_never_valid(a, b):
    result = is_answer_valid(a, b)
    assert isinstance(result, bool)
    if math.isnan(float(a)) or math.isnan(float(b)):
        assert result is False


@given(st.floats(min_value=1, max_value=1e6), st.floats(min_value=0.9, max_value=1.1))
def test_is_answer_valid_scales_symmetrically(correct, ratio):
    """Relative tolerance: scaling both sides by 10 keeps the verdict (away from the 3-decimal floor)."""
    assert is_answer_valid(correct * ratio, correct) == is_answer_valid(10 * correct * ratio, 10 * correct) or (
        abs(abs(ratio - 1) - 0.05) < 1e-3
    )


def test_is_answer_valid_rules():
    assert is_answer_valid(6000, 6000)
    assert is_answer_valid(6290, 6000)
    assert not is_answer_valid(6310, 6000)
    assert is_answer_valid(0.0004, 0.0)
    assert not is_answer_valid(0.01, 0.0)
    assert not is_answer_valid(float("inf"), float("inf"))
    assert not is_answer_valid(float("nan"), 1.0)
