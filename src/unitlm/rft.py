"""Rejection-sampling fine-tuning: LoRA on question -> reasoning -> <answer>EXPR</answer>.

    # round 0: the SFT adapter on the generator's gold reasoning; then sample from it, keep what is correct
    python -m unitlm.rft train --data train --init-adapter src/unitlm/sft_model --max-examples 5000 --output-dir runs/full/rft_gold_model
    python -m unitlm.datagen runs/full/rft_data.json --adapter runs/full/rft_gold_model --skip-questions 5000
    # round 1: continue round 0 on the kept samples, into the package's rft_model
    python -m unitlm.rft train --data runs/full/rft_data.json --init-adapter runs/full/rft_gold_model --learning-rate 1e-4
    python -m unitlm.rft test --split test

The reasoning states the factors it uses ("1 gallon = 3.78541 liter.") and
ends in an expression the calculator evaluates; the reward checks only the
final number (`data.is_answer_valid`).
"""

import argparse
from dataclasses import dataclass
from pathlib import Path

from .base_llm import BaseLLM
from .data import Dataset, benchmark_and_print, file_hash, source_name
from .finetune import TrainConfig, attach_adapter, train_and_evaluate
from .options import add_flags, add_test_command, from_flags

MODEL_DIR = Path(__file__).parent / "rft_model"
MAKE_COMMAND = "python -m unitlm.rft train (see the README's RFT recipe)"


@dataclass
class RFTConfig(TrainConfig):
    data_file: str = "train"  # [question, answer, reasoning] JSON, or a split name
    output_dir: str = str(MODEL_DIR)
    gold_examples: int = 0  # also train on this many gold-reasoning examples of the train split


class RFTModel(BaseLLM):
    max_new_tokens = 80  # two stated factors and the expression: 49 tokens on average, 75 at most in train


def reasoning_pairs(entries: list[list]) -> list[tuple[str, str]]:
    """(question, reasoning) for entries that carry a reasoning ending in an answer."""
    pairs = [(e[0], e[2].strip()) for e in entries if len(e) > 2 and "</answer>" in e[2]]
    assert pairs, "no [question, answer, reasoning] entries with <answer>...</answer> to train on"
    return pairs


def train_model(config: RFTConfig):
    dataset = Dataset(config.data_file)
    pairs = reasoning_pairs(dataset.data)[: config.max_examples]
    if config.gold_examples:
        seen = {question for question, _ in pairs}
        gold = [p for p in reasoning_pairs(Dataset("train").data) if p[0] not in seen]
        pairs += gold[: config.gold_examples]
    metadata = {"stage": "rft", "train_file": source_name(config.data_file), "train_file_sha256": file_hash(dataset.path),
                "command": MAKE_COMMAND}
    return train_and_evaluate(pairs, config, metadata, test_model)


def load(path: str | Path = MODEL_DIR, model: str | None = None) -> RFTModel:
    return attach_adapter(RFTModel(model), Path(path), MAKE_COMMAND)


def test_model(path: str | Path = MODEL_DIR, split: str = "valid", max_question: int | None = None):
    return benchmark_and_print(load(path), "rft", split, max_question)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train the RFT adapter", epilog="example: python -m unitlm.rft train --data runs/rft_data.json")
    add_flags(train, RFTConfig)
    train.add_argument("--data", dest="data_file", default=RFTConfig.data_file, help="alias of --data-file")
    add_test_command(sub, "rft", MODEL_DIR)
    args = parser.parse_args(argv)
    if args.command == "train":
        train_model(from_flags(args, RFTConfig))
    else:
        test_model(args.path, args.split, args.max_question)


if __name__ == "__main__":
    main()
