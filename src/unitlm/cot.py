"""In-context chain of thought: the base model, a chat prompt, and worked examples.

    python -m unitlm.cot test                   # accuracy and answer rate on valid
    python -m unitlm.cot test --demos fixed     # the same seven examples for every question

The model writes the conversion as a multiplication by the factor inside
<answer></answer>; the calculator does the arithmetic. The worked examples are
by default the four train questions that read most alike (`demos.py`), so the
model sees factors of the units it is asked about; it still writes every
number of its answer. With the fixed examples, the 135M model rarely recalls
a factor (docs/results.md). Measured on all 1000 valid questions, the direct form
(accuracy 0.048, answer rate 1.000, fixed examples) beat stating the factor
first (`1 A = F B. <answer>...`: 0.044, 0.862), which often ran into endless
digits before the answer opened.
"""

import argparse
import re
from functools import cache

from .base_llm import BaseLLM, clean_question
from .data import Dataset, benchmark_and_print
from .demos import Demonstrations
from .options import add_split_flags
from .units import BY_NAME, convert, expression, number, value_in_question

INSTRUCTION = "You convert units. Answer with the multiplication inside <answer></answer>, nothing else."

# (question, value, from, to): worked examples; their answers are computed, never typed.
EXAMPLES = [
    ("How many feet are in 3 miles?", 3, "mile", "foot"),
    ("How many gram are there per 6 kg?", 6, "kilogram", "gram"),
    ("Express 2 days as a quantity of minute.", 2, "day", "minute"),
    ("Convert 5 gallons to liters.", 5, "gallon", "liter"),
    ("What is 4 GB in megabytes?", 4, "gigabyte", "megabyte"),
    ("What is the conversion from centimeter to inch for 10 units?", 10, "centimeter", "inch"),
    ("How many degrees Celsius is 212 degrees Fahrenheit?", 212, "degree Fahrenheit", "degree Celsius"),
]


def worked_answer(value: float, source: str, target: str) -> str:
    """`<answer>3 * 5280</answer>`; temperature gets its formula."""
    a, b = BY_NAME[source], BY_NAME[target]
    if a.category == "temperature":
        return f"<answer>{expression(value, a, b)[1]}</answer>"
    return f"<answer>{number(value)} * {number(convert(1, a, b))}</answer>"


_EXPRESSION = re.compile(r"<answer>(.*?)</answer>")


def pool_answer(question: str, answer: float, reasoning: str | None = None) -> str | None:
    """A train entry's worked answer: `v * factor`, or its gold formula where an offset makes it
    no product (temperature); None when the question holds no usable number.

    >>> pool_answer("How many gram are there per 6 kg?", 6000.0)
    '<answer>6 * 1000</answer>'
    """
    gold = _EXPRESSION.search(reasoning or "")
    if gold and ("+" in gold.group(1) or " - " in gold.group(1)):
        return gold.group(0)
    value = float(gold.group(1).split(" * ")[0]) if gold and " * " in gold.group(1) else value_in_question(question)
    if not value:
        return None
    return f"<answer>{number(value)} * {number(float(f'{answer / value:.6g}'))}</answer>"


@cache
def train_demonstrations() -> Demonstrations:
    """The shipped train split with a worked answer each, indexed once per process."""
    entries = [[e[0], answer] for e in Dataset("train").data
               if (answer := pool_answer(e[0], e[1], e[2] if len(e) > 2 else None))]
    return Demonstrations(entries)


DEMOS = ("retrieved", "fixed")
# All 1000 valid questions: 4 -> 0.546, 5 -> 0.559, 6 -> 0.555 (docs/log.md). Each example adds about 40 prompt
# tokens, and the prefill of those is a CoT answer's cost: with six, a course grader's 60-s CoT case (100
# questions) took up to 67 s on an AVX2-only CPU; four take 29% fewer tokens than six for a point of accuracy.
RETRIEVED_EXAMPLES = 4


class CoTModel(BaseLLM):
    max_new_tokens = 48
    micro_batch = 64  # ~300-token prompts: peak memory 3.7 GB here, 8.7 GB at 256, no faster

    def __init__(self, model: str | None = None, demos: str = DEMOS[0], **kwargs):
        if demos not in DEMOS:
            raise ValueError(f"demos must be one of {DEMOS}, not {demos!r}")
        super().__init__(model, **kwargs)
        self.demos = demos

    def examples(self, question: str) -> list[tuple[str, str]]:
        """(question, worked answer) pairs shown before `question`."""
        if self.demos == "fixed":
            return [(q, worked_answer(value, a, b)) for q, value, a, b in EXAMPLES]
        return [(q, answer) for q, answer in train_demonstrations().nearest(question, RETRIEVED_EXAMPLES)]

    def format_prompt(self, question: str) -> str:
        question = clean_question(question)  # as SFT and RFT prompt it: "1 1/2 cups" as "1.5 cups"
        messages = [{"role": "system", "content": INSTRUCTION}]
        for example, answer in self.examples(question):
            messages.append({"role": "user", "content": example})
            messages.append({"role": "assistant", "content": answer})
        messages.append({"role": "user", "content": question})
        return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)


def load(model: str | None = None, demos: str = DEMOS[0]) -> CoTModel:
    return CoTModel(model, demos)


def test_model(model: str | None = None, split: str = "valid", max_question: int | None = None,
               demos: str = DEMOS[0]):
    return benchmark_and_print(load(model, demos), "cot", split, max_question)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="unitlm cot", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="example: python -m unitlm.cot test --split test --max-questions 200")
    parser.add_argument("command", choices=["test"])
    parser.add_argument("--model", default=None, help="HF id, folder or .gguf path (default: embedded)")
    add_split_flags(parser, "--max-question")
    parser.add_argument("--demos", choices=DEMOS, default=DEMOS[0],
                        help="worked examples: the train questions most alike (default) or a fixed seven")
    args = parser.parse_args(argv)
    test_model(args.model, args.split, args.max_questions, args.demos)


if __name__ == "__main__":
    main()
