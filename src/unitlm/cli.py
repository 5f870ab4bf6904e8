"""The `unitlm` command. It only parses arguments and calls the stage functions.

    unitlm ask "How many feet are in 3.5 miles?" --model sft
    unitlm data generate --n 8000 --seed 0
    unitlm cot test | unitlm sft train | unitlm sft test
"""

import argparse
import importlib
import math
import sys
import traceback

# `unitlm STAGE ...` hands the rest of the command line to that stage's own main().
STAGES = {
    "data": ("units", "generate question splits, or check data files for overlap"),
    "base": ("base_llm", "show the base model's generations on a few questions"),
    "cot": ("cot", "test in-context chain-of-thought prompting"),
    "sft": ("sft", "train or test the SFT adapter"),
}

ASK_EXAMPLE = 'example: unitlm ask "How many feet are in 3.5 miles?" --model sft --show-reasoning'


def ask(question: str, model: str, show_reasoning: bool, base: str | None) -> int:
    from . import cot, sft

    loaders = {"cot": cot.load, "sft": sft.load}
    llm = loaders[model](model=base)
    text = llm.generate(llm.format_prompt(question))
    value = llm.parse_answer(text)
    if show_reasoning:
        print(text.strip())
    if math.isnan(value):
        print(f"unitlm: the {model} model gave no answer to {question!r}", file=sys.stderr)
        return 1
    print(f"{value:.6g}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="unitlm", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--verbose", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)
    ask_parser = sub.add_parser("ask", help="answer one question", epilog=ASK_EXAMPLE)
    ask_parser.add_argument("question")
    ask_parser.add_argument("--model", choices=["sft", "cot"], default="sft")
    ask_parser.add_argument("--show-reasoning", action="store_true")
    ask_parser.add_argument("--base", default=None, help="base model (HF id, folder, .gguf); default embedded")
    for name, (_, help_text) in STAGES.items():
        stage = sub.add_parser(name, help=help_text, add_help=False)
        stage.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    try:
        if args.command == "ask":
            return ask(args.question, args.model, args.show_reasoning, args.base)
        module = importlib.import_module(f"unitlm.{STAGES[args.command][0]}")
        return module.main(args.rest) or 0
    except KeyboardInterrupt:
        print("unitlm: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - one clear line unless --verbose
        if args.verbose:
            traceback.print_exc()
        print(f"unitlm: {type(error).__name__}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
