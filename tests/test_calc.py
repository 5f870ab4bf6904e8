"""calc.py: the calculator evaluates arithmetic and nothing else (its doctests show what it evaluates)."""

import pytest

from unitlm import calc


@pytest.mark.parametrize("expr", ["2 ** 1000", "x + 1", "abs(3)", "[1]", "1 if 1 else 2", "9" * 200,
                                  "__import__('os').system('x')"])
def test_calculator_refuses_non_arithmetic(expr):
    with pytest.raises(ValueError):
        calc.evaluate(expr)
