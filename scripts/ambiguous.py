"""Words with several meanings: accuracy on the `ambiguous` split by word and reading, and whether
RFT's reasoning states the reading it took (`1 ton (US short) = ...`).

    python scripts/ambiguous.py --model rft --out runs/ambiguous.json
    python scripts/ambiguous.py --model sft --adapters runs/full   # runs/full/sft_model
"""

import argparse
import collections
import importlib
import json
from pathlib import Path

from unitlm import units
from unitlm.data import Dataset, is_answer_valid


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=["sft", "rft"], default="rft")
    parser.add_argument("--adapters", type=Path, default=Path(units.__file__).parent,
                        help="folder holding sft_model and rft_model (default: the package's)")
    parser.add_argument("--out", type=Path, default=Path("runs/ambiguous.json"))
    args = parser.parse_args(argv)
    dataset = Dataset("ambiguous")
    llm = importlib.import_module(f"unitlm.{args.model}").load(args.adapters / f"{args.model}_model")
    texts = llm.batched_generate([llm.format_prompt(e[0]) for e in dataset.data])
    groups = collections.defaultdict(lambda: {"questions": 0, "correct": 0, "states_reading": 0})
    misses = []
    for entry, tags, text in zip(dataset.data, dataset.tags, texts):
        ambiguous = next(u for u in (units.BY_NAME[tags["source"]], units.BY_NAME[tags["target"]])
                         if u.name not in ("kilogram", "gram", "liter", "milliliter"))
        key = f"{ambiguous.name} ({tags['reading']})"
        ok = is_answer_valid(llm.parse_answer(text), entry[1])
        groups[key]["questions"] += 1
        groups[key]["correct"] += ok
        groups[key]["states_reading"] += f"1 {ambiguous.label} =" in text
        if not ok:
            misses.append({"question": entry[0], "answer": entry[1], "text": text})
    rows = {k: {**v, "accuracy": v["correct"] / v["questions"]} for k, v in sorted(groups.items())}
    total = sum(v["correct"] for v in rows.values()) / len(dataset)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"model": args.model, "accuracy": total, "groups": rows, "misses": misses}, indent=1))
    print(f"| unit (reading) | questions | accuracy | reasoning states the reading |\n|---|---|---|---|")
    for key, v in rows.items():
        stated = f"{v['states_reading']}/{v['questions']}" if args.model == "rft" else "-"
        print(f"| {key} | {v['questions']} | {v['accuracy']:.3f} | {stated} |")
    print(f"all: {total:.3f} on {len(dataset)} questions; misses in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
