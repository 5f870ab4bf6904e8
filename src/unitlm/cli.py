"""The `unitlm` command. It only parses arguments and calls the stage functions.

    unitlm ask "How many feet are in 3.5 miles?" --model rft --show-reasoning
    unitlm data generate --n 8000 --seed 0
    unitlm cot test | unitlm sft train | unitlm sft test | unitlm datagen ... | unitlm rft train
    unitlm pipeline --budget small && unitlm report runs/small
    unitlm bundle --out handin.zip && unitlm grade handin.zip

`unitlm STAGE --help` shows each stage's own options.
"""

import argparse
import importlib
import math
import sys
import traceback

from .options import checked

# `unitlm STAGE ...` hands the rest of the command line to that module's own main(argv):
# the same function as `python -m unitlm.<module>`, not a copy.
STAGES = {
    "data": ("questions", "generate question splits, or check data files for overlap"),
    "base": ("base_llm", "show the base model's generations on a few questions"),
    "cot": ("cot", "test in-context chain-of-thought prompting"),
    "sft": ("sft", "train or test the SFT adapter"),
    "datagen": ("datagen", "sample reasoning for train questions, keep the correct ones (RFT data)"),
    "rft": ("rft", "train or test the RFT adapter"),
    "bench": ("bench", "time loading, answering and training"),
    "pipeline": ("pipeline", "every stage end to end into one run folder, resumable"),
    "report": ("report", "a Markdown report with plots for a run folder"),
    "ship": ("ship", "copy a run's adapters into the package (replaces the shipped ones)"),
    "bundle": ("bundle", "zip the package and its adapters (under 50 MB) for hand-in"),
    "grade": ("grade", "score a package or zip with a course grader's checks"),
    "serve": ("serve", "a local answer service and web page that batches concurrent questions"),
}
MODELS = ("sft", "rft", "cot")

ASK_EXAMPLE = """example: unitlm ask "How many feet are in 3.5 miles?" --show-reasoning
         unitlm ask "4 G in MB" "72 F in C"     # several: a line each, answer<TAB>question
         unitlm ask - < questions.txt           # a question a line from stdin, blank lines skipped"""


def read_questions(given: list[str], stdin) -> list[str]:
    """The questions `ask` answers: its arguments, or stdin's non-blank lines for `-`."""
    if given == ["-"]:
        return [line.strip() for line in stdin if line.strip()]
    if "-" in given:
        raise ValueError("`-` (read stdin) stands alone, not beside other questions")
    return given


def ask(questions: list[str], model: str, show_reasoning: bool, base: str | None, votes: int = 1) -> int:
    """Answer every question in one batched call; one line each, in order (the bare number for one question)."""
    from .base_llm import majority, vote_key

    try:
        questions = read_questions(questions, sys.stdin)
    except ValueError as error:
        print(f"unitlm: {error}", file=sys.stderr)
        return 2
    empty = [i + 1 for i, question in enumerate(questions) if not question.strip()]
    if not questions or empty:
        where = f" (question {', '.join(map(str, empty))})" if len(questions) > 1 else ""
        print(f"unitlm: the question is empty{where}; nothing was asked", file=sys.stderr)
        return 2
    llm = importlib.import_module(f"unitlm.{model}").load(model=base)
    status = 0
    for question, texts in zip(questions, llm.vote_texts(questions, votes, progress=len(questions) > 1)):
        values = [llm.parse_answer(text) for text in texts]
        value = majority(values)
        if show_reasoning:
            shown = next((t for t, v in zip(texts, values) if vote_key(v) == vote_key(value)), texts[0])
            agree = sum(vote_key(v) == vote_key(value) for v in values)
            print(shown.strip() + (f"  ({agree} of {votes} votes)" if votes > 1 else ""))
        if math.isnan(value):
            hint = "" if show_reasoning else " (--show-reasoning shows what it wrote)"
            print(f"unitlm: the {model} model gave no answer to {question!r}{hint}", file=sys.stderr)
            status = 1
        shown_value = "no answer" if math.isnan(value) else f"{value:.6g}"
        if len(questions) > 1:
            print(f"{shown_value}\t{question}")
        elif not math.isnan(value):
            print(shown_value)
    return status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="unitlm", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--verbose", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)
    ask_parser = sub.add_parser("ask", help="answer questions (arguments, or stdin's lines with -)",
                                epilog=ASK_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    ask_parser.add_argument("question", nargs="+", help="the questions; - reads one a line from stdin")
    # RFT by default: the most accurate on questions as people type them (docs/results.md); for one question
    # the process's start costs far more than RFT's longer generation
    ask_parser.add_argument("--model", choices=MODELS, default="rft", help="method (default: %(default)s)")
    ask_parser.add_argument("--show-reasoning", action="store_true", help="print the model's text before the number")
    ask_parser.add_argument("--base", default=None, help="base model (HF id, folder, .gguf); default embedded")
    ask_parser.add_argument("--votes", type=checked(int, {"at_least": 1}), default=1,
                            help="sample this many answers and return the most common (self-consistency; default 1: greedy)")
    for name, (_, help_text) in STAGES.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Everything after a stage's name is that stage's own (`unitlm sft --help` is sft's help).
    first = next((i for i, arg in enumerate(argv) if not arg.startswith("-")), len(argv))
    is_stage = first < len(argv) and argv[first] in STAGES
    args = build_parser().parse_args(argv[: first + 1] if is_stage else argv)
    rest = argv[first + 1 :] if is_stage else []
    try:
        if args.command == "ask":
            return ask(args.question, args.model, args.show_reasoning, args.base, args.votes)
        name = STAGES[args.command][0]
        try:
            module = importlib.import_module(f"unitlm.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"unitlm.{name}":
                raise
            print(f"unitlm: `unitlm {args.command}` is not in this install (no module unitlm.{name})", file=sys.stderr)
            return 1
        return module.main(rest) or 0
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
