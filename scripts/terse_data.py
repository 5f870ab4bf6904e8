"""Terse data-size questions: every ordered pair of the short forms people type for data sizes
("How many Kb is 16 KB?", "4 G in MB?"), one question each, answered by SFT and RFT.

The forms are the data model's own (units.py: Kb/Mb/Gb and b are bits, kb/KB/kB and K are
kilobytes, G/M/T beside another data unit are giga/mega/terabytes); the five shapes are the
terse ones people write. It is a probe of reading bits beside bytes, not a split: the train
split's phrasings include these shapes.

    python scripts/terse_data.py --adapters src/unitlm --out runs/terse_data.json
"""

import argparse
import json
import random
from pathlib import Path

from unitlm import rft, sft, units
from unitlm.data import is_answer_valid

FORMS = "B,b,bit,byte,KB,kB,K,Kb,kb,MB,M,Mb,mb,GB,G,Gb,gb,TB,T".split(",")
SHAPES = ["How many {a} is {n} {b}?", "What is {n} {b} in {a}?", "{n} {b} to {a}", "Convert {n}{b} to {a}",
          "How many {a} in {n} {b}?"]
VALUES = [2, 3, 4, 5, 7, 8, 10, 12, 16, 25, 64, 100, 250, 512, 0.5, 1.5]


def questions(seed: int = 1) -> list[tuple[str, float]]:
    """(question, exact answer) for every ordered pair of FORMS that name two different units."""
    rng = random.Random(seed)
    out = []
    for a in FORMS:
        for b in FORMS:
            target, source = units.lookup(a, "data"), units.lookup(b, "data")
            if target is source:
                continue
            n = rng.choice(VALUES)
            out.append((rng.choice(SHAPES).format(a=a, b=b, n=n), units.convert(n, source, target)))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--adapters", type=Path, default=Path(units.__file__).parent,
                        help="folder holding sft_model and rft_model (default: the package's)")
    parser.add_argument("--out", type=Path, default=Path("runs/terse_data.json"))
    args = parser.parse_args(argv)
    pairs = questions()
    result = {"questions": len(pairs), "adapters": str(args.adapters), "misses": {}}
    for name, module in (("sft", sft), ("rft", rft)):
        answers = module.load(args.adapters / f"{name}_model").answer(*[q for q, _ in pairs])
        correct = [is_answer_valid(x, gold) for x, (_, gold) in zip(answers, pairs)]
        result[name] = sum(correct) / len(pairs)
        result["misses"][name] = [[q, gold, x] for ok, x, (q, gold) in zip(correct, answers, pairs) if not ok]
        print(f"{name}: {result[name]:.3f} on {len(pairs)} terse data questions")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
