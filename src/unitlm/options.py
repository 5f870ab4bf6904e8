"""Command-line flags made from a config dataclass, so each default and its help live only in the dataclass.

A field says what it means and which values it takes with `option(...)`, which is
`dataclasses.field(metadata={"help": ...})` plus the accepted range; `--help` prints
the help with the default, and a flag or recipe value out of range is refused in one line.
"""

import argparse
import dataclasses
import math
import types
import typing

_BOUNDS = {"at_least": ("at least", lambda v, b: v >= b), "above": ("above", lambda v, b: v > b),
           "at_most": ("at most", lambda v, b: v <= b), "below": ("below", lambda v, b: v < b)}


def option(default, help: str, *, at_least=None, above=None, at_most=None, below=None, choices=None):
    """A config field with the help text `--help` shows and the values it accepts (None always passes)."""
    limits = {"at_least": at_least, "above": above, "at_most": at_most, "below": below, "choices": choices}
    return dataclasses.field(default=default, metadata={"help": help, **{k: v for k, v in limits.items() if v is not None}})


def problem(value, limits: typing.Mapping) -> str | None:
    """Why `value` is out of the field's range, or None when it is in it.

    >>> problem(-5, {"at_least": 1}), problem(0.5, {"above": 0, "at_most": 1}), problem(None, {"at_least": 1})
    ('must be at least 1', None, None)
    >>> problem(float("nan"), {"above": 0}), problem("tiny", {"choices": ("expr", "bare")})
    ('must be a number', 'must be one of expr, bare')
    """
    if value is None:
        return None
    if "choices" in limits and value not in limits["choices"]:
        return f"must be one of {', '.join(map(str, limits['choices']))}"
    bounds = [(name, limits[name]) for name in _BOUNDS if name in limits]
    if bounds and isinstance(value, float) and not math.isfinite(value):
        return "must be a number"
    for name, bound in bounds:
        words, holds = _BOUNDS[name]
        if not holds(value, bound):
            return f"must be {words} {bound}"
    return None


def validate(config) -> None:
    """Raise ValueError naming the first field of `config` that is out of its range or of the wrong type.

    A whole number given for a float field (a recipe's `epochs = 1`) becomes that float.
    """
    hints = typing.get_type_hints(type(config))
    for field in dataclasses.fields(config):
        value, kind = getattr(config, field.name), _base_type(hints[field.name])
        if value is not None and not _is_a(value, kind):
            raise ValueError(f"{field.name} must be a {kind.__name__}, not {value!r}")
        if kind is float and value is not None:
            value = float(value)
            setattr(config, field.name, value)
        if why := problem(value, field.metadata):
            raise ValueError(f"{field.name} {why}, not {value!r}")


def _base_type(kind):
    """`int | None` -> int."""
    if isinstance(kind, types.UnionType):
        return next(arg for arg in typing.get_args(kind) if arg is not type(None))
    return kind


def _is_a(value, kind) -> bool:
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def checked(kind, limits: typing.Mapping):
    """An argparse `type` that converts to `kind` and refuses values out of `limits`."""

    def convert(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a valid {kind.__name__}: {text!r}") from None
        if why := problem(value, limits):
            raise argparse.ArgumentTypeError(f"{why}, not {text}")
        return value

    convert.__name__ = kind.__name__
    return convert


def add_flags(parser: argparse.ArgumentParser, config_class) -> None:
    """One flag per field of `config_class`, with the field's help, default and range."""
    hints = typing.get_type_hints(config_class)
    for field in dataclasses.fields(config_class):
        kind = _base_type(hints[field.name])
        flag = "--" + field.name.replace("_", "-")
        text = field.metadata.get("help", "")
        if "(default:" not in text:  # a help that says what its default means says it itself
            text = f"{text} (default: {field.default})"
        text = text.replace("%", "%%")
        if kind is bool:  # --resume / --no-resume
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=field.default, help=text)
        else:
            parser.add_argument(flag, type=checked(kind, field.metadata), default=field.default, help=text,
                                metavar=field.name.upper())


def from_flags(args: argparse.Namespace, config_class):
    return config_class(**{f.name: getattr(args, f.name) for f in dataclasses.fields(config_class)})


def from_table(config_class, table: dict, where: str, **fixed):
    """`config_class` from a recipe's table: unknown keys and values out of range are errors naming `where`.

    `fixed` holds the fields the caller sets itself; the table may not set them.
    """
    names = {f.name for f in dataclasses.fields(config_class)}
    unknown = sorted(set(table) - names)
    if unknown:
        raise ValueError(f"{where}: no field {', '.join(unknown)} in {config_class.__name__} "
                         f"(fields: {', '.join(sorted(names - set(fixed)))})")
    taken = sorted(set(table) & set(fixed))
    if taken:
        raise ValueError(f"{where}: {', '.join(taken)} is set by the pipeline, not by a recipe")
    try:
        return config_class(**table, **fixed)
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None


def add_split_flags(parser: argparse.ArgumentParser, *aliases: str) -> None:
    """`--split S` and `--max-questions N` (with any older spellings in `aliases`), as every test command takes them."""
    parser.add_argument("--split", default="valid", help="split name or data file (default: %(default)s)")
    parser.add_argument("--max-questions", *aliases, dest="max_questions", type=checked(int, {"at_least": 1}),
                        default=None, metavar="N", help="score only the first N questions (default: all)")


def add_test_command(sub, stage: str, model_dir) -> None:
    """`STAGE test [--path D] [--split S] [--max-questions N] [--model M]`, the same for every trained stage."""
    test = sub.add_parser("test", help="accuracy and answer rate on a split",
                          epilog=f"example: python -m unitlm.{stage} test --split test")
    test.add_argument("--path", default=str(model_dir), help="adapter folder (default: %(default)s)")
    add_split_flags(test)
    test.add_argument("--model", default=None, help="the base model the adapter was trained on (default: embedded)")
