"""Resident memory of SFT answer() on batches of random sizes, as the service forms them.

    python scripts/memory.py --seconds 100
    ONEDNN_PRIMITIVE_CACHE_CAPACITY=64 python scripts/memory.py --seconds 100
    python scripts/memory.py --openvino-step-tokens 256 --openvino-cache-gb 1
    python scripts/memory.py --openvino-runtime-cache 5000

oneDNN reads ONEDNN_PRIMITIVE_CACHE_CAPACITY at its first kernel, so it is set in the
environment of the process (`unitlm serve --onednn-cache` sets it for the service).
"""

import argparse
import os
import random
import time

from unitlm import engine, sft
from unitlm.data import Dataset


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        return int(status.read().split("VmRSS:")[1].split()[0]) / 1024


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=100.0, help="how long to keep answering")
    parser.add_argument("--max-batch", type=int, default=40, help="batches hold 1 to this many questions")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--openvino-step-tokens", type=int, default=engine.OPENVINO_STEP_TOKENS,
                        help="tokens one OpenVINO step may take (default: engine's, %(default)s)")
    parser.add_argument("--openvino-cache-gb", type=int, default=engine.OPENVINO_CACHE_GB,
                        help="OpenVINO's key/value cache in GB, 0 grown as needed (default: engine's, %(default)s)")
    parser.add_argument("--openvino-runtime-cache", type=int, default=engine.OPENVINO_RUNTIME_CACHE,
                        help="input shapes whose kernels OpenVINO's CPU plugin keeps (default: engine's, %(default)s)")
    args = parser.parse_args(argv)
    engine.OPENVINO_STEP_TOKENS, engine.OPENVINO_CACHE_GB = args.openvino_step_tokens, args.openvino_cache_gb
    engine.OPENVINO_RUNTIME_CACHE = args.openvino_runtime_cache
    questions = [entry[0] for entry in Dataset("valid")]
    model = sft.load()
    rng = random.Random(args.seed)
    model.answer(*questions[:32])
    start, began, answered, samples = rss_mb(), time.perf_counter(), 0, []
    while time.perf_counter() - began < args.seconds:
        batch = rng.sample(questions, rng.randint(1, args.max_batch))
        model.answer(*batch)
        answered += len(batch)
        samples.append((round(time.perf_counter() - began), round(rss_mb())))
    elapsed = time.perf_counter() - began
    cache = os.environ.get("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "unset (1024)")
    print(f"ONEDNN_PRIMITIVE_CACHE_CAPACITY {cache}, OpenVINO step tokens {args.openvino_step_tokens}, cache "
          f"{args.openvino_cache_gb} GB, runtime cache {args.openvino_runtime_cache}: "
          f"{answered / elapsed:.2f} questions/s, dtype {model.model.dtype}, "
          f"backend {engine.describe(model)['backend']}")
    print(f"resident memory after warm-up {start:.0f} MB, at the end {rss_mb():.0f} MB")
    print("seconds, MB:", samples[:: max(1, len(samples) // 12)])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
