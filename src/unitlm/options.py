"""Command-line flags made from a config dataclass, so each default lives only in the dataclass."""

import argparse
import dataclasses
import types
import typing


def add_flags(parser: argparse.ArgumentParser, config_class) -> None:
    hints = typing.get_type_hints(config_class)
    for field in dataclasses.fields(config_class):
        kind = hints[field.name]
        if isinstance(kind, types.UnionType):  # `int | None` -> int
            kind = next(arg for arg in typing.get_args(kind) if arg is not type(None))
        if kind is bool:  # --resume / --no-resume
            parser.add_argument("--" + field.name.replace("_", "-"), action=argparse.BooleanOptionalAction,
                                default=field.default, help=f"(default: {field.default})")
            continue
        parser.add_argument(
            "--" + field.name.replace("_", "-"),
            type=kind,
            default=field.default,
            help=f"(default: {field.default})",
        )


def from_flags(args: argparse.Namespace, config_class):
    return config_class(**{f.name: getattr(args, f.name) for f in dataclasses.fields(config_class)})


def add_test_command(sub, stage: str, model_dir) -> None:
    """`STAGE test [--path D] [--split S] [--max-question N]`, the same for every trained stage."""
    test = sub.add_parser("test", help="accuracy and answer rate on a split",
                          epilog=f"example: python -m unitlm.{stage} test --split test")
    test.add_argument("--path", default=str(model_dir), help="adapter folder (default: %(default)s)")
    test.add_argument("--split", default="valid", help="split name or data file (default: %(default)s)")
    test.add_argument("--max-question", type=int, default=None, help="score only the first N questions")
