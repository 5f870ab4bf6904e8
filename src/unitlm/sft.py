"""Supervised fine-tuning: LoRA that answers `<answer>EXPRESSION</answer>`.

    python -m unitlm.sft train                      # shipped train split -> unitlm/sft_model
    python -m unitlm.sft train --train-file course/train.json --epochs 3
    python -m unitlm.sft test                       # accuracy on valid

The model writes the conversion as arithmetic from the factors it recalls
(`<answer>6 * 1000</answer>`); the calculator in `parse_answer` does the
arithmetic. `--answer-format bare` trains on the plain number instead.
"""

import argparse
import re
from dataclasses import dataclass
from pathlib import Path

from .base_llm import ANSWER_CLOSE, ANSWER_OPEN, BaseLLM, format_example, parse_answer
from .data import Dataset, benchmark_and_print, file_hash, source_name
from .finetune import TrainConfig, attach_adapter, train_and_evaluate
from .options import add_flags, add_test_command, from_flags
from .units import number, value_in_question

MODEL_DIR = Path(__file__).parent / "sft_model"
MAKE_COMMAND = "python -m unitlm.sft train"
_ANSWER_EXPR = re.compile(r"<answer>(.*?)</answer>")


@dataclass
class SFTConfig(TrainConfig):
    train_file: str = "train"
    output_dir: str = str(MODEL_DIR)
    answer_format: str = "expr"  # expr | bare


def answer_target(question: str, answer: float, reasoning: str | None, answer_format: str = "expr") -> str:
    """What SFT supervises: the gold expression, or `value * factor` derived from the answer, made compact.

    >>> answer_target("6 kg in g?", 6000.0, "1 kilogram = 1000 gram. <answer>6 * 1000</answer>")
    '<answer>6*1000</answer>'
    >>> answer_target("How many gram per 6 kg?", 6000.0, None)
    '<answer>6*1000</answer>'
    >>> answer_target("6 kg in g?", 6000.0, None, "bare")
    '<answer>6000</answer>'
    """
    if answer_format == "bare":
        body = number(answer)
    elif reasoning and (match := _ANSWER_EXPR.search(reasoning)):
        body = compact(match.group(1))
    elif value := value_in_question(question):
        body = compact(f"{number(value)} * {number(answer / value)}")
    else:
        body = number(answer)
    return f"{ANSWER_OPEN}{body}{ANSWER_CLOSE}"


FACTOR_DIGITS = 4  # significant digits of each factor: at most 0.05% off, far inside the 5% tolerance
_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:e-?\d+)?")


def compact(expression: str) -> str:
    """Fewer tokens to generate: no spaces, factors to 4 significant digits, the value as written.
    Offsets (temperature's 273.15) stay whole: cutting them shifts the answer, not scales it.

    >>> compact("7.5 * 1609.34 / 0.3048"), compact("2 * 3155760000 / 604800"), compact("(262.2 - 273.15) * 1.8 + 32")
    ('7.5*1609/0.3048', '2*3156000000/604800', '(262.2-273.15)*1.8+32')
    """
    if "+" in expression or " - " in expression:
        return expression.replace(" ", "")
    value = _NUMBER.search(expression)

    def shorten(match: re.Match) -> str:
        if match.start() == value.start():
            return match.group()
        return number(float(f"{float(match.group()):.{FACTOR_DIGITS}g}"))

    return _NUMBER.sub(shorten, expression).replace(" ", "")


class SFTModel(BaseLLM):
    """Every SFT target opens with `<answer>`, so the prompt carries that opening: the
    model starts at the expression. The prompt is still a prefix of the training text.

    What follows is arithmetic and the closing tag, so generation picks among the tokens
    made of `answer_characters` (137 of 49152 with the closing tag's start and EOS): the
    output layer, a fifth of a decode step's work, shrinks to those rows. Every token a
    train target asks for is among them (tested); on all 1000 valid questions the answers
    were those of unrestricted decoding.
    """

    max_new_tokens = 40
    answer_characters = "0123456789.*/+-()e"
    micro_batch = 512  # with the cut output layer, 512 rows beat 256: 68.4 vs 63.9 q/s, 5 rounds of 1000

    def format_prompt(self, question: str) -> str:
        return format_example(question, ANSWER_OPEN)

    def parse_answer(self, text: str) -> float:
        return parse_answer(ANSWER_OPEN + text)


def train_model(config: SFTConfig) -> SFTModel:
    dataset = Dataset(config.train_file)
    entries = dataset.data[: config.max_examples]
    pairs = [(e[0], answer_target(e[0], e[1], e[2] if len(e) > 2 else None, config.answer_format)) for e in entries]
    path = dataset.path
    metadata = {"stage": "sft", "train_file": source_name(config.train_file), "train_file_sha256": file_hash(path),
                "answer_format": config.answer_format, "command": MAKE_COMMAND}
    return train_and_evaluate(pairs, config, metadata, test_model)


def load(path: str | Path = MODEL_DIR, model: str | None = None) -> SFTModel:
    return attach_adapter(SFTModel(model), Path(path), MAKE_COMMAND)


def test_model(path: str | Path = MODEL_DIR, split: str = "valid", max_question: int | None = None):
    return benchmark_and_print(load(path), "sft", split, max_question)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    add_flags(sub.add_parser("train", help="train the SFT adapter",
                             epilog="example: python -m unitlm.sft train --train-file course/train.json"), SFTConfig)
    add_test_command(sub, "sft", MODEL_DIR)
    args = parser.parse_args(argv)
    if args.command == "train":
        train_model(from_flags(args, SFTConfig))
    else:
        test_model(args.path, args.split, args.max_question)


if __name__ == "__main__":
    main()
