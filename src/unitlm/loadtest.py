"""Load test for `unitlm serve`, in the style of vLLM's serving benchmark: a closed loop of clients
on loopback, each sending one question, waiting for its answer, and sending the next.

    unitlm serve --model sft &
    python -m unitlm.loadtest --url http://127.0.0.1:8000 --concurrency 1,8,32,128 --seconds 30 \\
        --compare-inprocess --out runs/loadtest.json
    python -m unitlm.loadtest --soak --concurrency 32 --seconds 600 --malformed 0.05 --server-pid PID \\
        --out runs/soak.json

Questions come from a split, in a fixed shuffled order; each answer is checked against the
split's gold answer and against the question sent (a mixed-up answer is counted). Each run is
bounded by --seconds and --max-requests. `--compare-inprocess` also times `answer()` in this
process on the same questions in blocks of --block, and counts answers that differ from it.
`--soak` mixes in malformed requests, which must be refused with a 4xx, and samples the
server's memory.
"""

import argparse
import asyncio
import ipaddress
import json
import math
import random
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlparse

from .base_llm import MAX_QUESTION_CHARS
from .data import Dataset, is_answer_valid, write_json_atomic
from .options import add_flags, from_flags, option, validate

METHODS = ("sft", "rft", "cot")


@dataclass
class LoadTestConfig:
    url: str = option("http://127.0.0.1:8000", "the service to test; loopback addresses only")
    concurrency: str = option("1,8,32,128", "comma-separated numbers of clients, one run each")
    seconds: float = option(30.0, "length of each run", above=0, at_most=3600)
    max_requests: int = option(100_000, "a run also stops after this many requests", at_least=1)
    split: str = option("valid", "split (or data file) the questions and gold answers come from")
    method: str = option("sft", "method asked for", choices=METHODS)
    timeout: float = option(60.0, "seconds one request may take before it counts as an error", above=0)
    seed: int = option(0, "seed of the question order and of which requests are malformed")
    compare_inprocess: bool = option(False, "also time answer() in this process on the same questions")
    block: int = option(32, "questions per answer() call with --compare-inprocess", at_least=1)
    soak: bool = option(False, "one run at the first --concurrency, malformed requests mixed in, memory sampled")
    malformed: float = option(0.0, "share of requests that are malformed (each must get a 4xx)", at_least=0,
                              at_most=1)
    server_pid: int | None = option(None, "pid whose VmRSS is sampled; unset: the server's /metrics")
    sample_seconds: float = option(10.0, "seconds between memory samples", above=0)
    warmup_seconds: float = option(60.0, "memory growth is counted from the first sample after this", at_least=0)
    out: str = option("runs/loadtest.json", "JSON file for the results")


def check_loopback(url: str) -> None:
    """Refuse any target but this machine: the load goes to loopback only."""
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ValueError(f"{url}: the load test only targets loopback (127.0.0.0/8, ::1, localhost)")


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile; None for no values.

    >>> percentile([1, 2, 3, 4], 0.5), percentile([1, 2, 3, 4], 0.99), percentile([], 0.5)
    (2, 4, None)
    """
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def malformed_body(kind: int, limits: dict) -> bytes:
    """One of six bad requests the service must refuse with a 4xx."""
    bodies = [
        b'{"questions": ["How many feet are in 3.5 miles?"',  # not JSON
        json.dumps({"questions": ["   "]}),
        json.dumps({"questions": ["x" * (limits.get("max_question_chars", MAX_QUESTION_CHARS) + 1)]}),
        json.dumps({"questions": [5]}),
        json.dumps({"questions": ["How many feet are in 3.5 miles?"], "method": "gpt"}),
        json.dumps({"questions": ["1 km in m?"] * (limits.get("max_questions_per_request", 64) + 1)}),
    ]
    body = bodies[kind % len(bodies)]
    return body if isinstance(body, bytes) else body.encode()


def _json(response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


class Run:
    """Counts and latencies of one closed-loop run."""

    def __init__(self):
        self.latencies: list[float] = []
        self.requests = self.errors = self.refusals = self.mixed_up = 0
        self.answered = self.no_answer = self.correct = 0
        self.malformed = self.malformed_refused = self.malformed_accepted = 0
        self.served: list[tuple[str, float]] = []  # (question, answer) of every good reply
        self.error_samples: list[str] = []

    def error(self, text: str):
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(text[:300])


async def closed_loop(config: LoadTestConfig, clients: int, questions: list[tuple[str, float]], limits: dict,
                      malformed: float) -> tuple[Run, float]:
    import httpx

    run = Run()
    rng = random.Random(config.seed)
    position = 0
    started = end = 0.0  # set once the client is ready: setting it up is not part of the run
    url = config.url.rstrip("/") + "/v1/answer"

    async def client(http):
        nonlocal position
        while time.perf_counter() < end and run.requests + run.malformed < config.max_requests:
            if rng.random() < malformed:
                run.malformed += 1
                body = malformed_body(run.malformed, limits)
                try:
                    response = await http.post(url, content=body, headers={"content-type": "application/json"})
                except httpx.HTTPError as error:
                    run.error(f"malformed request: {type(error).__name__}: {error}")
                    continue
                if 400 <= response.status_code < 500 and "error" in _json(response):
                    run.malformed_refused += 1
                else:
                    run.malformed_accepted += 1
                    run.error(f"malformed request got {response.status_code}: {response.text}")
                continue
            question, gold = questions[position % len(questions)]
            position += 1
            run.requests += 1
            sent = time.perf_counter()
            try:
                response = await http.post(url, json={"questions": [question], "method": config.method})
            except httpx.HTTPError as error:
                run.error(f"{type(error).__name__}: {error}")
                continue
            if response.status_code in (429, 503):
                run.refusals += 1
                await asyncio.sleep(min(float(response.headers.get("retry-after", 1)), 1.0))
                continue
            if response.status_code != 200:
                run.error(f"{response.status_code}: {response.text}")
                continue
            run.latencies.append(time.perf_counter() - sent)
            answers = response.json()["answers"]
            if len(answers) != 1 or answers[0]["question"] != question:
                run.mixed_up += 1
                continue
            value = answers[0]["answer"]
            value = math.nan if value is None else float(value)
            run.answered += 1
            run.no_answer += math.isnan(value)
            run.correct += is_answer_valid(value, gold)
            run.served.append((question, value))

    limits_ = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=config.timeout, limits=limits_) as http:
        started = time.perf_counter()
        end = started + config.seconds
        await asyncio.gather(*(client(http) for _ in range(clients)))
    return run, time.perf_counter() - started


def summary(run: Run, clients: int, wall: float) -> dict:
    ms = [1000 * s for s in run.latencies]
    result = {
        "concurrency": clients, "seconds": round(wall, 2), "requests": run.requests,
        "questions_answered": run.answered, "requests_per_s": round(run.answered / wall, 2),
        "questions_per_s": round(run.answered / wall, 2),
        "latency_ms": {name: (round(v, 1) if v is not None else None) for name, v in
                       (("p50", percentile(ms, .5)), ("p90", percentile(ms, .9)), ("p99", percentile(ms, .99)),
                        ("mean", statistics.fmean(ms) if ms else None), ("max", max(ms, default=None)))},
        "errors": run.errors, "refusals": run.refusals, "mixed_up": run.mixed_up, "no_answer": run.no_answer,
        "accuracy": round(run.correct / run.answered, 4) if run.answered else None,
    }
    if run.malformed:
        result["malformed"] = {"sent": run.malformed, "refused_4xx": run.malformed_refused,
                               "not_refused": run.malformed_accepted}
    if run.error_samples:
        result["error_samples"] = run.error_samples
    return result


def server_limits(url: str) -> dict:
    import httpx

    health = httpx.get(url.rstrip("/") + "/health", timeout=10)
    if health.status_code != 200:
        raise RuntimeError(f"{url}/health answered {health.status_code}: {health.text}")
    return health.json().get("limits", {})


def server_memory_mb(config: LoadTestConfig) -> float:
    """The server's resident memory: /proc/PID/status when a pid is given, else its /metrics."""
    if config.server_pid is not None:
        for line in Path(f"/proc/{config.server_pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"no VmRSS for pid {config.server_pid}")
    import httpx

    for line in httpx.get(config.url.rstrip("/") + "/metrics", timeout=10).text.splitlines():
        if line.startswith("process_resident_memory_bytes "):
            return float(line.split()[1]) / 2**20
    raise RuntimeError("the server's /metrics has no process_resident_memory_bytes")


async def sample_memory(config: LoadTestConfig, samples: list, stop: asyncio.Event):
    started = time.perf_counter()
    while True:
        samples.append([round(time.perf_counter() - started, 1),
                        round(await asyncio.to_thread(server_memory_mb, config), 1)])
        try:
            await asyncio.wait_for(stop.wait(), config.sample_seconds)
            return
        except asyncio.TimeoutError:
            pass


async def soak(config: LoadTestConfig, clients: int, questions, limits) -> dict:
    samples: list = []
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_memory(config, samples, stop))
    run, wall = await closed_loop(config, clients, questions, limits, config.malformed)
    stop.set()
    await sampler
    samples.append([round(wall, 1), round(server_memory_mb(config), 1)])
    after = [mb for t, mb in samples if t >= config.warmup_seconds]
    result = summary(run, clients, wall)
    result["memory_mb"] = samples
    result["memory_growth_after_warmup_mb"] = round(max(after) - after[0], 1) if after else None
    return result


def inprocess(config: LoadTestConfig, questions: list[tuple[str, float]]) -> tuple[dict, dict[str, float]]:
    """`answer()` in this process on the same questions, in blocks of `block`, timed after one warm-up block."""
    from . import engine
    from .serve import ServeConfig, load_method

    model = load_method(config.method, ServeConfig())
    engine.prepare(model)  # the backend the service runs, as `unitlm serve` prepares it
    texts = [q for q, _ in questions]
    model.answer(*texts[: config.block])
    answers: list[float] = []
    started = time.perf_counter()
    for i in range(0, len(texts), config.block):
        answers += model.answer(*texts[i : i + config.block])
    wall = time.perf_counter() - started
    correct = sum(is_answer_valid(a, gold) for a, (_, gold) in zip(answers, questions))
    result = {"questions": len(texts), "block": config.block, "seconds": round(wall, 2),
              "questions_per_s": round(len(texts) / wall, 2), "accuracy": round(correct / len(texts), 4)}
    return result, dict(zip(texts, answers))


def compare(run: Run, reference: dict[str, float], gold: dict[str, float]) -> dict:
    """Served answers against in-process ones for the same questions."""
    differ = [q for q, a in run.served if not (a == reference[q] or (math.isnan(a) and math.isnan(reference[q])))]
    reference_correct = sum(is_answer_valid(reference[q], gold[q]) for q, _ in run.served)
    return {"served": len(run.served), "differ_from_inprocess": len(differ), "differ_samples": differ[:5],
            "inprocess_accuracy_on_served": round(reference_correct / len(run.served), 4) if run.served else None}


def print_row(result: dict):
    latency = result["latency_ms"]
    print(f"c={result['concurrency']:>4}  {result['questions_per_s']:>7.2f} q/s  "
          f"p50 {latency['p50']} ms  p90 {latency['p90']} ms  p99 {latency['p99']} ms  "
          f"errors {result['errors']}  refusals {result['refusals']}  mixed-up {result['mixed_up']}  "
          f"accuracy {result['accuracy']}", flush=True)


def load_test(config: LoadTestConfig) -> dict:
    check_loopback(config.url)
    levels = [int(c) for c in config.concurrency.split(",") if c.strip()]
    if not levels or min(levels) < 1 or max(levels) > 1024:
        raise ValueError(f"--concurrency {config.concurrency}: numbers from 1 to 1024")
    dataset = Dataset(config.split)
    questions = [(e[0], float(e[1])) for e in dataset.data]
    random.Random(config.seed).shuffle(questions)
    gold = dict(questions)
    limits = server_limits(config.url)
    report = {"config": asdict(config), "questions": len(questions)}

    if config.soak:
        report["soak"] = asyncio.run(soak(config, levels[0], questions, limits))
        print_row(report["soak"])
        print(f"memory growth after warm-up: {report['soak']['memory_growth_after_warmup_mb']} MB; "
              f"malformed: {report['soak'].get('malformed')}")
    else:
        reference = None
        if config.compare_inprocess:
            report["inprocess"], reference = inprocess(config, questions)
            print(f"in-process answer(), blocks of {config.block}: {report['inprocess']['questions_per_s']} q/s, "
                  f"accuracy {report['inprocess']['accuracy']}", flush=True)
        report["runs"] = []
        for clients in levels:
            run, wall = asyncio.run(closed_loop(config, clients, questions, limits, config.malformed))
            result = summary(run, clients, wall)
            if reference is not None:
                result["vs_inprocess"] = compare(run, reference, gold)
            report["runs"].append(result)
            print_row(result)
    out = Path(config.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out, report)
    print(f"wrote {out}")
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m unitlm.loadtest", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_flags(parser, LoadTestConfig)
    config = from_flags(parser.parse_args(argv), LoadTestConfig)
    try:
        validate(config)
        check_loopback(config.url)
    except ValueError as error:
        parser.error(str(error))
    report = load_test(config)
    runs = report.get("runs", []) + ([report["soak"]] if "soak" in report else [])
    return 1 if any(r["errors"] or r["mixed_up"] for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
