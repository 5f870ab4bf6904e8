"""In-context chain of thought: the base model, a chat prompt, and worked examples.

    python -m unitlm.cot test                   # accuracy and answer rate on valid
    python -m unitlm.cot test --max-question 100

The model states the factor, then writes the multiplication inside
<answer></answer>; the calculator does the arithmetic.
"""

import argparse

from .base_llm import BaseLLM
from .data import benchmark_and_print
from .units import BY_NAME, convert, number

INSTRUCTION = (
    "You convert units. State the conversion factor as '1 A = F B.', then write the "
    "multiplication inside <answer></answer>. Be concise."
)

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
    """`1 mile = 5280 foot. <answer>3 * 5280</answer>`; temperature gets its formula."""
    a, b = BY_NAME[source], BY_NAME[target]
    if a.category == "temperature":
        from .units import expression

        fact, expr = expression(value, a, b)
        return f"{fact} <answer>{expr}</answer>"
    factor = number(convert(1, a, b))
    return f"1 {a.name} = {factor} {b.name}. <answer>{number(value)} * {factor}</answer>"


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
