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
        parser.add_argument(
            "--" + field.name.replace("_", "-"),
            type=kind,
            default=field.default,
            help=f"(default: {field.default})",
        )


def from_flags(args: argparse.Namespace, config_class):
    return config_class(**{f.name: getattr(args, f.name) for f in dataclasses.fields(config_class)})
