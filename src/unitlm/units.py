"""Unit knowledge and a question generator with exact ground truth.

    unitlm data generate --n 6000 --seed 0 --out src/unitlm/splits

Conversion factors come from pint; this file only says which units we ask
about and how people write them. Each unit is stated relative to its
category's base unit, so the gold reasoning for any pair is two facts and an
expression the calculator evaluates:

    1 mile = 1609.34 meter. 1 foot = 0.3048 meter. <answer>3 * 1609.34 / 0.3048</answer>
"""

import functools
import random
import re
from dataclasses import dataclass
from pathlib import Path

import pint


class UnknownUnit(ValueError):
    pass


@dataclass(frozen=True)
class Unit:
    name: str  # canonical singular, used in reasoning
    category: str
    pint: str  # pint expression for one of this unit
    plural: str
    aliases: tuple[str, ...]  # abbreviations, symbols and other spellings

    @property
    def forms(self) -> tuple[str, ...]:
        return (self.name, self.plural, *self.aliases)


def _u(category, name, pint_expr, plural=None, aliases=""):
    return Unit(name, category, pint_expr, plural or name + "s", tuple(aliases.split("|")) if aliases else ())


BASE = {
    "length": "meter",
    "mass": "gram",
    "time": "second",
    "volume": "liter",
    "speed": "meter per second",
    "data": "byte",
    "area": "square meter",
    "energy": "joule",
    "pressure": "pascal",
    "temperature": "kelvin",
}

UNITS = [
    _u("length", "millimeter", "millimeter", aliases="mm|millimetre|millimetres"),
    _u("length", "centimeter", "centimeter", aliases="cm|centimetre|centimetres"),
    _u("length", "meter", "meter", aliases="m|metre|metres"),
    _u("length", "kilometer", "kilometer", aliases="km|kilometre|kilometres|kms"),
    _u("length", "inch", "inch", "inches", "in|in."),
    _u("length", "foot", "foot", "feet", "ft|ft."),
    _u("length", "yard", "yard", aliases="yd|yds"),
    _u("length", "mile", "mile", aliases="mi"),
    _u("length", "nautical mile", "nautical_mile", aliases="nmi"),
    _u("mass", "milligram", "milligram", aliases="mg"),
    _u("mass", "gram", "gram", aliases="g|gm|gramme|grammes"),
    _u("mass", "kilogram", "kilogram", aliases="kg|kilo|kilos|kgs"),
    _u("mass", "metric ton", "metric_ton", aliases="tonne|tonnes|t"),
    _u("mass", "ounce", "ounce", aliases="oz"),
    _u("mass", "pound", "pound", aliases="lb|lbs"),
    _u("mass", "stone", "stone", "stones", "st"),
    _u("mass", "ton", "short_ton", aliases="short ton|short tons|US ton"),
    _u("mass", "carat", "carat", aliases="ct"),
    _u("time", "millisecond", "millisecond", aliases="ms|msec"),
    _u("time", "second", "second", aliases="s|sec|secs"),
    _u("time", "minute", "minute", aliases="min|mins"),
    _u("time", "hour", "hour", aliases="h|hr|hrs"),
    _u("time", "day", "day", aliases="d"),
    _u("time", "week", "week", aliases="wk|wks"),
    _u("time", "month", "month", aliases="mo"),
    _u("time", "year", "year", aliases="yr|yrs"),
    # pint's "decade" is the logarithmic one; the span of ten years is ours to define.
    _u("time", "decade", "10 * year"),
    _u("time", "century", "century", "centuries"),
    _u("volume", "milliliter", "milliliter", aliases="mL|ml|millilitre|millilitres"),
    _u("volume", "liter", "liter", aliases="L|l|litre|litres"),
    _u("volume", "cubic meter", "meter**3", aliases="m^3|m**3|m3|cubic metre|cubic metres"),
    _u("volume", "cubic centimeter", "centimeter**3", aliases="cm^3|cm**3|cc|cm3|cubic centimetre"),
    _u("volume", "cubic millimeter", "millimeter**3", aliases="mm^3|mm**3|mm3"),
    _u("volume", "cubic foot", "foot**3", "cubic feet", "ft^3|ft**3|cu ft"),
    _u("volume", "cubic inch", "inch**3", "cubic inches", "in^3|in**3|cu in"),
    _u("volume", "gallon", "gallon", aliases="gal|US gallon|US gallons"),
    _u("volume", "quart", "quart", aliases="qt"),
    _u("volume", "pint", "pint", aliases="pt"),
    _u("volume", "cup", "cup"),
    _u("volume", "fluid ounce", "fluid_ounce", aliases="fl oz|fl. oz."),
    _u("volume", "tablespoon", "tablespoon", aliases="tbsp"),
    _u("volume", "teaspoon", "teaspoon", aliases="tsp"),
    _u("speed", "meter per second", "meter/second", "meters per second", "m/s|metres per second|mps"),
    _u("speed", "kilometer per hour", "kilometer/hour", "kilometers per hour", "km/h|kmh|kph|km/hr|kilometres per hour"),
    _u("speed", "mile per hour", "mile/hour", "miles per hour", "mph|mi/h|mi/hr"),
    _u("speed", "foot per second", "foot/second", "feet per second", "ft/s|fps"),
    _u("speed", "inch per second", "inch/second", "inches per second", "in/s|ips"),
    _u("speed", "knot", "knot", aliases="kn|kt|kts"),
    _u("data", "bit", "bit", aliases="b"),
    _u("data", "byte", "byte", aliases="B"),
    _u("data", "kilobit", "kilobit", aliases="kb|kbit"),
    _u("data", "megabit", "megabit", aliases="Mb|Mbit"),
    _u("data", "kilobyte", "kilobyte", aliases="kB|KB"),
    _u("data", "megabyte", "megabyte", aliases="MB"),
    _u("data", "gigabyte", "gigabyte", aliases="GB|G|gig|gigs"),
    _u("data", "terabyte", "terabyte", aliases="TB"),
    _u("data", "kibibyte", "kibibyte", aliases="KiB"),
    _u("data", "mebibyte", "mebibyte", aliases="MiB"),
    _u("data", "gibibyte", "gibibyte", aliases="GiB"),
    _u("area", "square centimeter", "centimeter**2", aliases="cm^2|cm**2|cm2|sq cm"),
    _u("area", "square meter", "meter**2", aliases="m^2|m**2|m2|sq m|square metre|square metres"),
    _u("area", "square kilometer", "kilometer**2", aliases="km^2|km**2|km2|sq km"),
    _u("area", "square inch", "inch**2", "square inches", "in^2|sq in"),
    _u("area", "square foot", "foot**2", "square feet", "ft^2|ft**2|sq ft"),
    _u("area", "square yard", "yard**2", aliases="yd^2|sq yd"),
    _u("area", "square mile", "mile**2", aliases="mi^2|sq mi"),
    _u("area", "hectare", "hectare", aliases="ha"),
    _u("area", "acre", "acre", aliases="ac"),
    _u("energy", "joule", "joule", aliases="J"),
    _u("energy", "kilojoule", "kilojoule", aliases="kJ"),
    _u("energy", "megajoule", "megajoule", aliases="MJ"),
    _u("energy", "calorie", "calorie", aliases="cal"),
    _u("energy", "kilocalorie", "kilocalorie", aliases="kcal|Calorie|Calories|food calorie"),
    _u("energy", "watt hour", "watt_hour", aliases="Wh|watt-hour|watt-hours"),
    _u("energy", "kilowatt hour", "kilowatt_hour", aliases="kWh|kilowatt-hour|kilowatt-hours"),
    _u("energy", "British thermal unit", "british_thermal_unit", aliases="BTU|Btu|BTUs"),
    _u("pressure", "pascal", "pascal", aliases="Pa"),
    _u("pressure", "hectopascal", "hectopascal", aliases="hPa"),
    _u("pressure", "kilopascal", "kilopascal", aliases="kPa"),
    _u("pressure", "bar", "bar", aliases="bars"),
    _u("pressure", "millibar", "millibar", aliases="mbar|mb"),
    _u("pressure", "atmosphere", "atmosphere", aliases="atm"),
    _u("pressure", "pound per square inch", "psi", "pounds per square inch", "psi|lb/in^2"),
    _u("pressure", "millimeter of mercury", "mmHg", "millimeters of mercury", "mmHg|mm Hg"),
    _u("pressure", "torr", "torr", "torr", "Torr"),
    _u("temperature", "degree Celsius", "degC", "degrees Celsius", "Celsius|°C|C|deg C|celsius"),
    _u("temperature", "degree Fahrenheit", "degF", "degrees Fahrenheit", "Fahrenheit|°F|F|deg F|fahrenheit"),
    _u("temperature", "kelvin", "kelvin", "kelvins", "K|Kelvin"),
]

BY_NAME = {unit.name: unit for unit in UNITS}
CATEGORIES = tuple(BASE)


@functools.cache
def registry() -> pint.UnitRegistry:
    return pint.UnitRegistry()


@functools.cache
def _forms() -> dict[str, Unit]:
    table = {}
    for unit in UNITS:
        for form in unit.forms:
            table.setdefault(form, unit)
    return table


def lookup(text: str) -> Unit:
    """The unit a surface form names (`km/h`, `Kilometres`, `m**3`); UnknownUnit otherwise."""
    key = " ".join(str(text).split())
    table = _forms()
    if key in table:
        return table[key]
    folded = {form.lower(): unit for form, unit in reversed(list(table.items()))}
    if key.lower() in folded:
        return folded[key.lower()]
    raise UnknownUnit(f"unknown unit {text!r}; known units: {', '.join(BY_NAME)}")


def convert(value: float, source: str | Unit, target: str | Unit) -> float:
    """Exact conversion with pint (offsets for temperature)."""
    a = source if isinstance(source, Unit) else lookup(source)
    b = target if isinstance(target, Unit) else lookup(target)
    if a.category != b.category:
        raise UnknownUnit(f"cannot convert {a.category} ({a.name}) to {b.category} ({b.name})")
    ureg = registry()
    if a.category == "temperature":
        return float(ureg.Quantity(value, a.pint).to(b.pint).magnitude)
    return float(value * ureg.Quantity(a.pint).to(ureg.Quantity(_base_pint(a.category))).magnitude
                 / ureg.Quantity(b.pint).to(ureg.Quantity(_base_pint(b.category))).magnitude)


def _base_pint(category: str) -> str:
    return BY_NAME[BASE[category]].pint


@functools.cache
def factor(unit: Unit) -> float:
    """How many base units one `unit` is (not for temperature)."""
    return convert(1.0, unit, BY_NAME[BASE[unit.category]])


def number(x: float) -> str:
    """A number as the model should write it: plain, 6 significant digits.

    >>> number(5280.0), number(0.3048), number(3155760000.0), number(1e12), number(2.5e-05)
    ('5280', '0.3048', '3155760000', '1e12', '2.5e-05')
    """
    if x == int(x) and abs(x) < 1e10:
        return str(int(x))
    text = f"{x:.6g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}" if int(exponent) > 0 else f"{mantissa}e-{-int(exponent):02d}"
    return text


_TEMPERATURE = {  # (from, to): (fact, expression with {v})
    ("degree Celsius", "degree Fahrenheit"): ("F = C * 1.8 + 32.", "{v} * 1.8 + 32"),
    ("degree Fahrenheit", "degree Celsius"): ("C = (F - 32) / 1.8.", "({v} - 32) / 1.8"),
    ("degree Celsius", "kelvin"): ("K = C + 273.15.", "{v} + 273.15"),
    ("kelvin", "degree Celsius"): ("C = K - 273.15.", "{v} - 273.15"),
    ("degree Fahrenheit", "kelvin"): ("K = (F - 32) / 1.8 + 273.15.", "({v} - 32) / 1.8 + 273.15"),
    ("kelvin", "degree Fahrenheit"): ("F = (K - 273.15) * 1.8 + 32.", "({v} - 273.15) * 1.8 + 32"),
}


def expression(value: float, source: Unit, target: Unit) -> tuple[str, str]:
    """(facts, expression): the gold reasoning's stated factors and the arithmetic they imply.

    Always both factors, even the base unit's 1: one shape for every pair is
    easier to learn than knowing when to leave a factor out.

    >>> expression(7, BY_NAME["hectare"], BY_NAME["square meter"])
    ('1 hectare = 10000 square meter. 1 square meter = 1 square meter.', '7 * 10000 / 1')
    """
    v = number(value)
    if source.category == "temperature":
        fact, template = _TEMPERATURE[(source.name, target.name)]
        return fact, template.format(v=v)
    base = BASE[source.category]
    a, b = number(factor(source)), number(factor(target))
    return f"1 {source.name} = {a} {base}. 1 {target.name} = {b} {base}.", f"{v} * {a} / {b}"


def reasoning(value: float, source: Unit, target: Unit) -> str:
    facts, expr = expression(value, source, target)
    return f"{facts} <answer>{expr}</answer>"


# Question phrasings. {v} value, {src} source unit agreeing with v, {dst} target
# unit, {src1}/{dst1} unit names without a value.
TEMPLATES = [
    "How many {dst} are there per {v} {src}?",
    "Express {v} {src} as a quantity of {dst}.",
    "What is the conversion from {src1} to {dst1} for {v} units?",
    "Convert {v} {src} to {dst}.",
    "How many {dst} are in {v} {src}?",
    "{v} {src} is how many {dst}?",
    "What is {v} {src} in {dst}?",
    "Please convert {v} {src} into {dst}.",
    "If I have {v} {src}, how many {dst} do I have?",
    "How many {dst} make up {v} {src}?",
    "{v} {src} equals how many {dst}?",
    "What does {v} {src} come to in {dst}?",
    "Change {v} {src} to {dst}.",
    "Convert {v} {src} into {dst}, please.",
    "I need {v} {src} expressed in {dst}.",
    "How much is {v} {src} in {dst}?",
    "What is the value of {v} {src} when measured in {dst}?",
    "Turn {v} {src} into {dst}.",
    "{v} {src} = ? {dst}",
    "How many {dst} correspond to {v} {src}?",
    "Find the number of {dst} in {v} {src}.",
    "Give {v} {src} in {dst}.",
    "What is {v} {src} converted to {dst}?",
    "Could you tell me how many {dst} are in {v} {src}?",
    "Rewrite {v} {src} in terms of {dst}.",
    "Convert from {src1} to {dst1}: {v}",
    "{v} {src} to {dst}",
    "{v} {src} in {dst}?",
    "What quantity of {dst} is equal to {v} {src}?",
    "Determine how many {dst} there are in {v} {src}.",
    "How many {dst} is {v} {src}?",
    "Calculate {v} {src} in {dst}.",
    "If something measures {v} {src}, what is that in {dst}?",
    "What's {v} {src} in {dst}?",
    "Translate {v} {src} into {dst}.",
    "How many {dst} does {v} {src} equal?",
    "Using {dst1} as the unit, how much is {v} {src}?",
    "{v} {src} converts to how many {dst}?",
    "Tell me the number of {dst} in {v} {src}.",
    "A value of {v} {src} equals how many {dst}?",
    "Express the quantity {v} {src} in {dst}.",
    "Convert this measurement to {dst}: {v} {src}.",
    "What is the equivalent of {v} {src} in {dst}?",
    "Please tell me how many {dst} are equal to {v} {src}.",
    "From {src1} to {dst1}, what is {v}?",
    "How many {dst} would {v} {src} be?",
    "Work out {v} {src} in {dst}.",
    "{v} {src} -> {dst}",
]


_VALUE = re.compile(r"(?<![\w.*^/])-?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w])")


def value_in_question(question: str) -> float | None:
    """The first number written in a question, or None.

    >>> value_in_question("How many gram are there per 6 kg?"), value_in_question("Convert 1,500.5 m to km.")
    (6.0, 1500.5)
    """
    for match in _VALUE.finditer(question):
        text = match.group().replace(",", "")
        if any(c.isdigit() for c in text):
            try:
                return float(text)
            except ValueError:
                continue
    return None


def sample_value(rng: random.Random, category: str) -> float:
    """Small integers most often, then decimals, large and small values, as people write them."""
    if category == "temperature":
        return rng.choice([rng.randint(-40, 120), rng.randint(0, 500), round(rng.uniform(-50, 300), 1)])
    kind = rng.random()
    if kind < 0.45:
        return float(rng.randint(1, 10))
    if kind < 0.65:
        return round(rng.uniform(0.1, 20), rng.choice([1, 1, 2]))
    if kind < 0.85:
        return float(rng.choice([rng.randint(11, 100), rng.randint(100, 5000), rng.choice([1e3, 1e4, 1e5, 1e6]) * rng.randint(1, 9)]))
    return round(rng.uniform(0.001, 1), rng.choice([2, 3]))


def write_value(rng: random.Random, value: float) -> str:
    text = number(value)
    if value >= 1000 and value == int(value) and rng.random() < 0.3:
        return f"{int(value):,}"
    return text


def _surface(rng: random.Random, unit: Unit, plural: bool) -> str:
    roll = rng.random()
    if unit.aliases and roll < 0.3:
        return rng.choice(unit.aliases)
    if roll < 0.4:  # course-style questions often keep the singular ("How many gram ...")
        return unit.name
    return unit.plural if plural else unit.name


@dataclass(frozen=True)
class Example:
    question: str
    answer: float
    reasoning: str
    category: str
    source: str
    target: str

    def entry(self, with_reasoning: bool) -> list:
        return [self.question, self.answer, self.reasoning] if with_reasoning else [self.question, self.answer]


def make_example(rng: random.Random, source: Unit, target: Unit, template: str) -> Example:
    value = sample_value(rng, source.category)
    written = write_value(rng, value)
    question = template.format(
        v=written,
        src=_surface(rng, source, value != 1),
        dst=_surface(rng, target, True),
        src1=_surface(rng, source, False),
        dst1=_surface(rng, target, False),
    )
    question = question[0].upper() + question[1:]
    answer = convert(value, source, target)
    return Example(question, answer, reasoning(value, source, target), source.category, source.name, target.name)


def all_pairs() -> list[tuple[Unit, Unit]]:
    return [(a, b) for a in UNITS for b in UNITS if a.category == b.category and a is not b]


def split_pairs(seed: int, unseen_share: float = 0.08):
    """(pairs for every split, pairs kept for test only).

    Temperature pairs are never held out: each has its own formula, not two factors to combine.
    """
    pairs = all_pairs()
    candidates = [i for i, (a, _) in enumerate(pairs) if a.category != "temperature"]
    rng = random.Random(f"pairs-{seed}")
    held = set(rng.sample(candidates, int(len(pairs) * unseen_share)))
    return [p for i, p in enumerate(pairs) if i not in held], [p for i, p in enumerate(pairs) if i in held]


def generate_splits(n_train: int, n_eval: int, seed: int = 0) -> dict[str, list[Example]]:
    """Disjoint train/valid/test; test also holds questions on pairs no other split has."""
    rng = random.Random(seed)
    shared, unseen = split_pairs(seed)
    seen_texts: set[str] = set()
    splits: dict[str, list[Example]] = {}
    template_cycle = 0

    def draw(pairs, count):
        nonlocal template_cycle
        by_category: dict[str, list] = {}
        for pair in pairs:
            by_category.setdefault(pair[0].category, []).append(pair)
        categories = sorted(by_category)
        out = []
        while len(out) < count:
            # Category first, then a pair: temperature (6 pairs) is asked as often as volume (200).
            source, target = rng.choice(by_category[rng.choice(categories)])
            template = TEMPLATES[template_cycle % len(TEMPLATES)]
            template_cycle += 1
            example = make_example(rng, source, target, template)
            if example.question not in seen_texts and _plausible(example):
                seen_texts.add(example.question)
                out.append(example)
        return out

    splits["train"] = draw(shared, n_train)
    splits["valid"] = draw(shared, n_eval)
    n_unseen = n_eval // 5
    test = draw(shared, n_eval - n_unseen) + draw(unseen, n_unseen)
    rng.shuffle(test)
    splits["test"] = test
    return splits


def _plausible(example: Example) -> bool:
    """Skip answers the 3-decimal scoring rule cannot judge (tiny) or nobody asks for (huge)."""
    return example.category == "temperature" or 0.01 <= abs(example.answer) < 1e10


def write_splits(out: Path, n_train: int = 6000, n_eval: int = 1000, seed: int = 0) -> dict[str, Path]:
    """Write train/valid/test JSON (train with gold reasoning) plus `.tags.json` sidecars, atomically."""
    from .data import write_json_atomic

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _, unseen = split_pairs(seed)
    unseen_names = {(a.name, b.name) for a, b in unseen}
    paths = {}
    for split, examples in generate_splits(n_train, n_eval, seed).items():
        path = out / f"{split}.json"
        write_json_atomic(path, [e.entry(with_reasoning=split == "train") for e in examples])
        tags = [
            {"category": e.category, "source": e.source, "target": e.target,
             "unseen_pair": (e.source, e.target) in unseen_names}
            for e in examples
        ]
        write_json_atomic(path.with_suffix(".tags.json"), tags)
        paths[split] = path
    return paths


def check_files(paths: list[Path]) -> list[str]:
    """Problems across data files: duplicate questions within a file and overlap between files."""
    from .data import read_entries

    problems = []
    seen: dict[str, str] = {}
    for path in paths:
        questions = [entry[0] for entry in read_entries(path)]
        if len(set(questions)) != len(questions):
            problems.append(f"{path}: {len(questions) - len(set(questions))} duplicate questions")
        for q in set(questions):
            if q in seen and seen[q] != str(path):
                problems.append(f"overlap: {q!r} in {seen[q]} and {path}")
            seen.setdefault(q, str(path))
    return problems



def main(argv=None):
    """`unitlm data generate|check`: write the splits, or look for duplicates and train/eval overlap."""
    import argparse

    from .data import SPLITS_DIR

    parser = argparse.ArgumentParser(
        prog="unitlm data",
        description="Generate question splits with exact answers, or check data files.",
        epilog="example: unitlm data generate --n 8000 --n-eval 1000 --seed 0 --out src/unitlm/splits",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    generate = sub.add_parser("generate", help="write train/valid/test JSON")
    generate.add_argument("--n", type=int, default=8000, help="train questions")
    generate.add_argument("--n-eval", type=int, default=1000, help="valid and test questions each")
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--out", type=Path, default=SPLITS_DIR)
    check = sub.add_parser("check", help="report duplicates and overlap between files")
    check.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    if args.command == "generate":
        for split, path in write_splits(args.out, args.n, args.n_eval, args.seed).items():
            print(f"{split}: {path}")
        return 0
    problems = check_files(args.files)
    print("\n".join(problems[:50]) if problems else f"ok: {len(args.files)} files, no duplicates, no overlap")
    if len(problems) > 50:
        print(f"... and {len(problems) - 50} more")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
