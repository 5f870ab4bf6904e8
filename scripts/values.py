"""Values written as people say them: fractions ("3/4 cup", "1 1/2 hours", "½ lb"), phrases ("half a
gallon", "a quarter mile", "one and a half hours") and round numbers in words ("five hundred grams"),
answered by SFT and RFT; accuracy per set and the misses.

Two sets. `hand`: questions written by hand for this probe, in shapes no generator writes. `written`:
`spoken_value`'s values in the written split's templates (which no training question uses), on
pairs of every category but temperature, none of them a question of any split. The forms split
trains on such values in the train templates (questions.py, FORMS_VALUES).

    python scripts/values.py --adapters src/unitlm --out runs/values.json
"""

import argparse
import json
import math
import random
from pathlib import Path

from unitlm import questions, rft, sft, units
from unitlm.data import Dataset, is_answer_valid

# (question, value, source unit, target unit): answers come from units.convert
HAND = [
    ("3/4 cup in ml", 0.75, "cup", "milliliter"), ("1 1/2 cups to ml", 1.5, "cup", "milliliter"),
    ("1/4 lb in grams", 0.25, "pound", "gram"), ("half a gallon in liters", 0.5, "gallon", "liter"),
    ("a quarter mile in meters", 0.25, "mile", "meter"), ("How many ml is 1/3 cup?", 1 / 3, "cup", "milliliter"),
    ("2 1/2 hours in minutes", 2.5, "hour", "minute"), ("one and a half hours in minutes", 1.5, "hour", "minute"),
    ("a dozen inches in cm", 12, "inch", "centimeter"), ("five hundred grams to ounces", 500, "gram", "ounce"),
    ("1/8 tsp in ml", 0.125, "teaspoon", "milliliter"), ("How many seconds in 1/2 hour?", 0.5, "hour", "second"),
    ("3/8 inch in mm", 0.375, "inch", "millimeter"), ("2 thousand feet in m", 2000, "foot", "meter"),
    ("a million seconds in days", 1e6, "second", "day"), ("How many grams is half a pound?", 0.5, "pound", "gram"),
    ("½ cup to tbsp", 0.5, "cup", "tablespoon"), ("¾ lb in oz", 0.75, "pound", "ounce"),
    ("1½ miles in km", 1.5, "mile", "kilometer"), ("How many minutes is three quarters of an hour?", 0.75, "hour", "minute"),
    ("two and a half kilos in pounds", 2.5, "kilogram", "pound"), ("a third of a cup in tablespoons", 1 / 3, "cup", "tablespoon"),
    ("5/8 in to mm", 0.625, "inch", "millimeter"), ("How many feet is 1/2 mile?", 0.5, "mile", "foot"),
    ("2/3 cup in mL", 2 / 3, "cup", "milliliter"), ("one hundred yards in meters", 100, "yard", "meter"),
    ("fifty miles in km", 50, "mile", "kilometer"), ("a couple of liters in cups", 2, "liter", "cup"),
    ("1 1/4 inches to cm", 1.25, "inch", "centimeter"), ("what's half a kilo in lbs", 0.5, "kilogram", "pound"),
    ("convert 7/8 mile to yards", 0.875, "mile", "yard"), ("3 1/2 feet in inches", 3.5, "foot", "inch"),
    ("How many MB is half a GB?", 0.5, "gigabyte", "megabyte"), ("a quarter acre in sq ft", 0.25, "acre", "square foot"),
    ("1/2 teaspoon to ml", 0.5, "teaspoon", "milliliter"), ("twenty minutes in hours", 20, "minute", "hour"),
    ("How many ounces in a quarter pound?", 0.25, "pound", "ounce"), ("1-1/2 quarts in liters", 1.5, "quart", "liter"),
    ("a half hour in seconds", 0.5, "hour", "second"), ("one thousand meters to miles", 1000, "meter", "mile"),
]


def converted(table: list[tuple[str, float, str, str]]) -> list[tuple[str, float]]:
    """(question, exact answer) for rows of (question, value, source unit, target unit)."""
    return [(q, units.convert(v, units.BY_NAME[a], units.BY_NAME[b])) for q, v, a, b in table]


def written_questions(count: int, seed: int = 1) -> list[tuple[str, float]]:
    """`count` questions in the written templates with spoken values, none of them a question of a split."""
    taken = {q for split in ("train", "valid", "test", "written", "ambiguous", "forms") for q, *_ in Dataset(split)}
    pairs = [p for p in questions.all_pairs() if p[0].category != "temperature"]
    templates = [t for t in questions.WRITTEN_TEMPLATES if "{v} {src}" in t]
    rng, out = random.Random(f"values-probe-{seed}"), []
    while len(out) < count:
        source, target = rng.choice(pairs)
        example = questions.make_example(rng, source, target, rng.choice(templates), spoken=True)
        if example.question not in taken and questions.plausible(example):
            taken.add(example.question)
            out.append((example.question, example.answer))
    return out


def score(sets: dict[str, list[tuple[str, float]]], adapters: Path, out: Path) -> dict:
    """Accuracy, answer rate and misses of SFT and RFT (`adapters`/{sft,rft}_model) on each set, printed
    and written to `out` as JSON."""
    result = {"adapters": str(adapters), "questions": {k: len(v) for k, v in sets.items()}, "misses": {}}
    for name, module in (("sft", sft), ("rft", rft)):
        model = module.load(adapters / f"{name}_model")
        for set_name, asked in sets.items():
            answers = model.answer(*[q for q, _ in asked])
            correct = [is_answer_valid(x, gold) for x, (_, gold) in zip(answers, asked)]
            result[f"{name}_{set_name}"] = sum(correct) / len(asked)
            result[f"{name}_{set_name}_answer_rate"] = sum(math.isfinite(x) for x in answers) / len(asked)
            result["misses"][f"{name}_{set_name}"] = [[q, gold, x] for ok, x, (q, gold) in zip(correct, answers, asked)
                                                      if not ok]
            print(f"{name} {set_name}: {result[f'{name}_{set_name}']:.3f} on {len(asked)} questions, answer rate "
                  f"{result[f'{name}_{set_name}_answer_rate']:.3f}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--adapters", type=Path, default=Path(units.__file__).parent,
                        help="folder holding sft_model and rft_model (default: the package's)")
    parser.add_argument("--n-written", type=int, default=300, help="generated questions (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("runs/values.json"))
    args = parser.parse_args(argv)
    score({"hand": converted(HAND), "written": written_questions(args.n_written)}, args.adapters, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
