"""A tiny arithmetic evaluator: the calculator behind `<answer>3 * 5280</answer>`.

The model writes every number; this only does the arithmetic. It accepts
numbers, + - * /, unary minus and parentheses, nothing else: no names, no
calls, no powers, and a bounded size, so model output can never run code or
take long.

>>> evaluate("3 * 5280")
15840.0
>>> evaluate("(212 - 32) / 1.8")
100.0
>>> evaluate("__import__('os')")
Traceback (most recent call last):
...
ValueError: not arithmetic: __import__('os')
"""

import ast
import math
import operator

MAX_CHARS = 120
MAX_NODES = 40

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}


def evaluate(expression: str) -> float:
    """The value of an arithmetic expression; ValueError for anything else."""
    text = expression.strip()
    if not text or len(text) > MAX_CHARS:
        raise ValueError(f"not arithmetic: {expression[:40]!r}")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise ValueError(f"not arithmetic: {expression}") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise ValueError(f"expression too long: {expression}")
    try:
        value = float(_eval(tree.body, expression))
    except (ZeroDivisionError, OverflowError):
        return math.nan
    return value if math.isfinite(value) else math.nan


def _eval(node: ast.AST, source: str) -> float:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_eval(node.left, source), _eval(node.right, source))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand, source))
    raise ValueError(f"not arithmetic: {source}")
