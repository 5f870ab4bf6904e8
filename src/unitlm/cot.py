"""In-context chain of thought: the base model, a chat prompt, and worked examples.

    python -m unitlm.cot test                   # accuracy and answer rate on valid
    python -m unitlm.cot test --max-question 100

The model writes the conversion as a multiplication by the factor inside
<answer></answer>; the calculator does the arithmetic. Measured on all 1000
valid questions, this direct form (accuracy 0.048, answer rate 1.000) beat
stating the factor first (`1 A = F B. <answer>...`: 0.044, 0.862), which
often ran into endless digits before the answer opened.
"""

import argparse

from .base_llm import BaseLLM
from .data import benchmark_and_print
from .units import BY_NAME, convert, expression, number

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


class CoTModel(BaseLLM):
    max_new_tokens = 48

    def format_prompt(self, question: str) -> str:
        messages = [{"role": "system", "content": INSTRUCTION}]
        for example, value, source, target in EXAMPLES:
            messages.append({"role": "user", "content": example})
            messages.append({"role": "assistant", "content": worked_answer(value, source, target)})
        messages.append({"role": "user", "content": question})
        return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)


def load(model: str | None = None) -> CoTModel:
    return CoTModel(model)


def test_model(model: str | None = None, split: str = "valid", max_question: int | None = None):
    return benchmark_and_print(load(model), "cot", split, max_question)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["test"])
    parser.add_argument("--model", default=None, help="HF id, folder or .gguf path (default: embedded)")
    parser.add_argument("--split", default="valid")
    parser.add_argument("--max-question", type=int, default=None)
    args = parser.parse_args(argv)
    test_model(args.model, args.split, args.max_question)


if __name__ == "__main__":
    main()
