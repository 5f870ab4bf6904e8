"""Self-consistency on RFT: accuracy and cost of answer(..., votes=k) for several k.

    python scripts/votes.py --split written --max-questions 300 --votes 1,5,10 --out runs/votes.json
"""

import argparse
import json
import platform
import subprocess
import time
from pathlib import Path

from tqdm.auto import tqdm

from unitlm import rft
from unitlm.data import Dataset, is_answer_valid


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=5).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, StopIteration, subprocess.SubprocessError):
        return platform.processor()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="written")
    parser.add_argument("--max-questions", type=int, default=300)
    parser.add_argument("--votes", default="1,5,10", help="comma-separated k values")
    parser.add_argument("--block", type=int, default=100, help="questions per answer() call")
    parser.add_argument("--out", type=Path, default=Path("runs/votes.json"))
    args = parser.parse_args(argv)
    entries = Dataset(args.split).data[: args.max_questions]
    llm = rft.load()
    rows = []
    for k in [int(v) for v in args.votes.split(",")]:
        start, answers = time.perf_counter(), []
        for i in tqdm(range(0, len(entries), args.block), desc=f"votes={k}"):
            answers += llm.answer(*[e[0] for e in entries[i : i + args.block]], votes=k)
        seconds = time.perf_counter() - start
        correct = sum(is_answer_valid(a, e[1]) for a, e in zip(answers, entries))
        rows.append({"votes": k, "accuracy": correct / len(entries), "answer_rate": sum(a == a for a in answers) / len(entries),
                     "seconds": round(seconds, 1), "questions_per_second": round(len(entries) / seconds, 2)})
        print(rows[-1], flush=True)
    result = {"split": args.split, "questions": len(entries), "cpu": cpu_model(), "dtype": str(llm.model.dtype), "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print("| votes | accuracy | answer rate | q/s |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['votes']} | {r['accuracy']:.3f} | {r['answer_rate']:.3f} | {r['questions_per_second']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
