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

from .base_llm import BaseLLM
from .data import Dataset, benchmark, file_hash, source_name
from .finetune import TrainConfig, attach_adapter, is_main_process, train_adapter, update_metadata
from .options import add_flags, from_flags
from .units import number, value_in_question

MODEL_DIR = Path(__file__).parent / "sft_model"
MAKE_COMMAND = "python -m unitlm.sft train"
_ANSWER_EXPR = re.compile(r"<answer>(.*?)</answer>")


@dataclass
class SFTConfig(TrainConfig):
    train_file: str = "train"
    output_dir: str = str(MODEL_DIR)
    answer_format: str = "expr"  # expr | bare
    eval_questions: int | None = None  # valid questions scored after training (None: all)


def answer_target(question: str, answer: float, reasoning: str | None, answer_format: str = "expr") -> str:
    """What SFT supervises: the gold expression, or `value * factor` derived from the answer.

    >>> answer_target("6 kg in g?", 6000.0, "1 kilogram = 1000 gram. <answer>6 * 1000</answer>")
    '<answer>6 * 1000</answer>'
    >>> answer_target("How many gram per 6 kg?", 6000.0, None)
    '<answer>6 * 1000</answer>'
    >>> answer_target("6 kg in g?", 6000.0, None, "bare")
    '<answer>6000</answer>'
    """
    if answer_format == "bare":
        return f"<answer>{number(answer)}</answer>"
    if reasoning and (match := _ANSWER_EXPR.search(reasoning)):
        return f"<answer>{match.group(1)}</answer>"
    value = value_in_question(question)
    if value:
        return f"<answer>{number(value)} * {number(answer / value)}</answer>"
    return f"<answer>{number(answer)}</answer>"


class SFTModel(BaseLLM):
    max_new_tokens = 40


def train_model(config: SFTConfig) -> SFTModel:
    entries = Dataset(config.train_file).data[: config.max_examples]
    pairs = [(e[0], answer_target(e[0], e[1], e[2] if len(e) > 2 else None, config.answer_format)) for e in entries]
    path = Dataset(config.train_file).path
    metadata = {"stage": "sft", "train_file": source_name(config.train_file), "train_file_sha256": file_hash(path),
                "answer_format": config.answer_format, "command": MAKE_COMMAND}
    train_adapter(pairs, Path(config.output_dir), config, metadata)
    if not is_main_process():  # under torchrun, rank 0 saved the adapter and evaluates it
        return None
    result = test_model(config.output_dir, max_question=config.eval_questions)
    update_metadata(Path(config.output_dir), valid_accuracy=result.accuracy, valid_answer_rate=result.answer_rate)
    return result


def load(path: str | Path = MODEL_DIR, model: str | None = None) -> SFTModel:
    return attach_adapter(SFTModel(model), Path(path), MAKE_COMMAND)


def test_model(path: str | Path = MODEL_DIR, split: str = "valid", max_question: int | None = None):
    result = benchmark(load(path), Dataset(split), max_question)
    print(f"sft on {split}: {result.summary()}")
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    add_flags(sub.add_parser("train", help="train the SFT adapter"), SFTConfig)
    test = sub.add_parser("test", help="accuracy and answer rate on a split")
    test.add_argument("--path", default=str(MODEL_DIR))
    test.add_argument("--split", default="valid")
    test.add_argument("--max-question", type=int, default=None)
    args = parser.parse_args(argv)
    if args.command == "train":
        train_model(from_flags(args, SFTConfig))
    else:
        test_model(args.path, args.split, args.max_question)


if __name__ == "__main__":
    main()
