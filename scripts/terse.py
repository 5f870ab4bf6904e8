"""Terse questions in every category: each ordered pair of the short forms people type for a
category's units ("How many Kb is 16 KB?", "4 G in MB?", "What is 5 oz in g?", "30 C to F"), one
question each, answered by SFT and RFT; accuracy per category and the misses.

The forms are the data model's own readings (units.py: `oz` beside a volume unit is the fluid
ounce, G/M/T beside another data unit are giga/mega/terabytes, all-lowercase kb/mb/gb are
bytes). It is a probe of reading units written short, not a split: the train split's phrasings
include these shapes, but no question of it was drawn from this list. `--categories data` is
the data-size probe of docs/log.md's entries from 2026-12-03 on, question for question.
`--later` and `--more` ask the units added later instead (units.LATER_UNITS, units.MORE_UNITS).

    python scripts/terse.py --adapters src/unitlm --out runs/terse.json
    python scripts/terse.py --categories data,temperature
    python scripts/terse.py --more --out runs/terse_more.json
"""

import argparse
import json
import random
from pathlib import Path

from unitlm import rft, sft, units
from unitlm.data import is_answer_valid

FORMS = {  # the short forms (and a few plain words) people type, per category
    "data": "B,b,bit,byte,KB,kB,K,Kb,kb,MB,M,Mb,mb,GB,G,Gb,gb,TB,T",
    "length": "mm,cm,m,km,in,ft,yd,mi,inches,feet,miles",
    "mass": "mg,g,kg,oz,lb,lbs,st,grams,pounds,ounces,kilos",
    "time": "ms,s,sec,min,mins,h,hr,hrs,days,wk,yr,weeks,years,hours,minutes",
    "volume": "ml,mL,L,l,gal,qt,pt,cups,fl oz,tbsp,tsp,cc,m3,gallons,liters,quarts",
    "speed": "mph,km/h,kph,m/s,ft/s,knots",
    "area": "sq ft,sq m,m2,acres,ha,sq mi,km2,sq in,cm2",
    "energy": "J,kJ,cal,kcal,kWh,Wh,BTU,MJ",
    "pressure": "Pa,kPa,bar,psi,atm,mmHg,hPa,mbar",
    "temperature": "°C,°F,C,F,K",
}
# `--later`: the units added for the shorthand split (units.LATER_UNITS) beside their category's common forms;
# only pairs with one of them are asked.
LATER = {
    "length": "µm,um,microns,nm,mm,cm,m,in", "mass": "µg,mcg,mg,g,kg", "time": "µs,ns,fortnights,ms,s,min,days,weeks",
    "data": "PB,TiB,TB,GB", "pressure": "MPa,inHg,psi,kPa,hPa,bar", "power": "W,kW,MW,hp,watts,horsepower",
    "frequency": "Hz,kHz,MHz,GHz",
}
# `--more`: the units added after the shorthand split (units.MORE_UNITS) beside their category's common forms;
# only pairs with one of them are asked.
MORE = {
    "angle": "deg,°,rad,grad,arcmin,arcsec,rev,degrees,radians", "force": "N,kN,lbf,kgf,dyn,newtons",
    "data rate": "bps,kbps,Mbps,Gbps,B/s,kB/s,MB/s,GB/s", "length": "dm,ly,AU,km,mi,cm,m",
    "volume": "dL,cL,yd3,bbl,barrels,mL,L,gal,ft3", "time": "millennia,years,centuries", "speed": "km/s,km/h,mph,m/s",
    "data": "EB,PB,TB", "area": "mm2,mm²,cm2,sq in", "energy": "MWh,therms,kWh,MJ,BTU", "pressure": "GPa,MPa,psi,Pa",
    "power": "mW,GW,BTU/h,W,MW,kW", "frequency": "THz,rpm,GHz,Hz",
}
ADDED = {"later": "LATER_UNITS", "more": "MORE_UNITS"}  # the units each table's pairs must hold one of
SHAPES = ["How many {a} is {n} {b}?", "What is {n} {b} in {a}?", "{n} {b} to {a}", "Convert {n}{b} to {a}",
          "How many {a} in {n} {b}?"]
VALUES = [2, 3, 4, 5, 7, 8, 10, 12, 16, 25, 64, 100, 250, 512, 0.5, 1.5]


def questions(category: str, seed: int = 1, table: str | None = None) -> list[tuple[str, float]]:
    """(question, exact answer) for every ordered pair of the category's forms that name two different units
    (`table` "later" or "more": of LATER's or MORE's forms, pairs with a unit added then)."""
    forms = {"later": LATER, "more": MORE, None: FORMS}[table]
    offset = {"later": 100, "more": 200, None: 0}[table] + list(forms).index(category)
    rng = random.Random(seed + offset)  # data: seed 1, as the data-size probe always drew
    forms = forms[category].split(",")
    added = {unit.name for unit in getattr(units, ADDED.get(table, ""), [])}
    largest = 1e16 if table == "more" else 1e10  # light years in km
    out = []
    for a in forms:
        for b in forms:
            target, source = units.lookup(a, category), units.lookup(b, category)
            if target is source or (table and not {target.name, source.name} & added):
                continue
            n = rng.choice(VALUES)
            shape = rng.choice(SHAPES)
            if " " in b:  # "5 fl oz", not "5fl oz"
                shape = shape.replace("{n}{b}", "{n} {b}")
            answer = units.convert(n, source, target)
            if table and not 1e-3 <= abs(answer) < largest:  # "1.5 ms to fortnights": nobody asks
                continue
            out.append((shape.format(a=a, b=b, n=n), answer))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--adapters", type=Path, default=Path(units.__file__).parent,
                        help="folder holding sft_model and rft_model (default: the package's)")
    parser.add_argument("--categories", default=",".join(FORMS), help="comma-separated categories (default: all)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--later", action="store_true", help="ask LATER's pairs (units added later) instead")
    which.add_argument("--more", action="store_true", help="ask MORE's pairs (units added last) instead")
    parser.add_argument("--out", type=Path, default=Path("runs/terse.json"))
    args = parser.parse_args(argv)
    table = "later" if args.later else "more" if args.more else None
    categories = args.categories
    if table and categories == ",".join(FORMS):
        categories = ",".join(LATER if args.later else MORE)
    asked = [(category, q, gold) for category in categories.split(",") for q, gold in questions(category, table=table)]
    result = {"questions": len(asked), "adapters": str(args.adapters), "misses": {}}
    for name, module in (("sft", sft), ("rft", rft)):
        answers = module.load(args.adapters / f"{name}_model").answer(*[q for _, q, _ in asked])
        correct = [is_answer_valid(x, gold) for x, (_, _, gold) in zip(answers, asked)]
        by_category = {}
        for ok, (category, _, _) in zip(correct, asked):
            by_category.setdefault(category, []).append(ok)
        result[name] = sum(correct) / len(asked)
        result[f"{name}_by_category"] = {c: round(sum(v) / len(v), 3) for c, v in by_category.items()}
        result["misses"][name] = [[q, gold, x] for ok, x, (_, q, gold) in zip(correct, answers, asked) if not ok]
        print(f"{name}: {result[name]:.3f} on {len(asked)} terse questions; "
              + ", ".join(f"{c} {v:.3f}" for c, v in result[f"{name}_by_category"].items()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
