"""Supervised fine-tuning: LoRA that answers `<answer>EXPRESSION</answer>`.

    python -m unitlm.sft train                      # the train split -> runs/sft_model
    python -m unitlm.sft train --train-file course/train.json --epochs 3
    python -m unitlm.sft test --path runs/sft_model # accuracy on valid (default: the package's adapter)
    unitlm ship runs                                # runs/sft_model -> the package's sft_model

The model writes the conversion as arithmetic from the factors it recalls
(`<answer>6 * 1000</answer>`); the calculator in `parse_answer` does the
arithmetic. `--answer-format bare` trains on the plain number instead.
Training, loading and testing are finetune.py's; this file says what SFT supervises.
"""

import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from . import finetune
from .base_llm import ANSWER_CLOSE, ANSWER_OPEN, BaseLLM, format_example, parse_answer
from .finetune import Stage, TrainConfig
from .options import option
from .units import factor_text, number, value_in_question

MODEL_DIR = Path(__file__).parent / "sft_model"
MAKE_COMMAND = "python -m unitlm.sft train"
ANSWER_FORMATS = ("expr", "bare")
_ANSWER_EXPR = re.compile(r"<answer>(.*?)</answer>")


@dataclass
class SFTConfig(TrainConfig):
    output_dir: str = option("runs/sft_model", "where the adapter goes; the package's own folder "
                                               "(src/unitlm/sft_model) only when named here or by `unitlm ship`")
    answer_format: str = option("expr", "expr: the answer as value * factor for the calculator; bare: the number",
                                choices=ANSWER_FORMATS)


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
        body = compact(f"{number(value)} * {factor_text(answer / value)}")
    else:
        body = number(answer)
    return f"{ANSWER_OPEN}{body}{ANSWER_CLOSE}"


FACTOR_DIGITS = 4  # significant digits of each factor: at most 0.05% off, far inside the 5% tolerance
_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:e-?\d+)?")


def compact(expression: str) -> str:
    """Fewer tokens to generate: no spaces, factors to 4 significant digits, the value as written.
    Offsets (temperature's 273.15) stay whole: cutting them shifts the answer, not scales it.

    >>> compact("7.5 * 1609.34 / 0.3048"), compact("2 * 3.15576e9 / 604800"), compact("(262.2 - 273.15) * 1.8 + 32")
    ('7.5*1609/0.3048', '2*3.156e9/604800', '(262.2-273.15)*1.8+32')
    """
    if "+" in expression or " - " in expression:
        return expression.replace(" ", "")
    value = _NUMBER.search(expression)

    def shorten(match: re.Match) -> str:
        if match.start() == value.start():
            return match.group()
        return factor_text(float(f"{float(match.group()):.{FACTOR_DIGITS}g}"))

    return _NUMBER.sub(shorten, expression).replace(" ", "")


class SFTModel(BaseLLM):
    """Every SFT target opens with `<answer>`, so the prompt carries that opening: the
    model starts at the expression. The prompt is still a prefix of the training text.

    What follows is arithmetic and the closing tag, so generation picks among the tokens
    made of `answer_characters` (with the closing tag's start and EOS): the output layer,
    a large share of a decode step's work, shrinks to those rows. Every token a train
    target asks for is among them (tests/test_sft.py checks it).
    """

    max_new_tokens = 40
    answer_characters = "0123456789.*/+-()e"
    micro_batch = 512  # with the cut output layer, more rows per forward pass pay off (docs/performance.md)

    def format_prompt(self, question: str) -> str:
        return format_example(question, ANSWER_OPEN)

    def parse_answer(self, text: str) -> float:
        return parse_answer(ANSWER_OPEN + text)


def training_pair(entry: list, config: SFTConfig) -> tuple[str, str]:
    """(question, answer target) of any [question, answer(, reasoning)] entry."""
    reasoning = entry[2] if len(entry) > 2 else None
    return entry[0], answer_target(entry[0], entry[1], reasoning, config.answer_format)


STAGE = Stage("sft", SFTModel, MODEL_DIR, SFTConfig, training_pair, MAKE_COMMAND, __doc__)
# The stage's public functions, finetune's own with this stage filled in:
# load(path=MODEL_DIR, model=None, dtype=None, device=None) -> SFTModel; train_model(config: SFTConfig) -> the
# valid BenchmarkResult; test_model(path=MODEL_DIR, split="valid", max_questions=None); main(argv=None).
load, train_model, test_model, main = (partial(finetune.load, STAGE), partial(finetune.train, STAGE),
                                       partial(finetune.evaluate, STAGE), partial(finetune.main, STAGE))

if __name__ == "__main__":
    main()
