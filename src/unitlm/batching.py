"""The service's batching worker: questions of one method that wait together are answered by one
batched generation, each request gets its own answers back, and the worker's Prometheus metrics.
`serve.py` puts HTTP in front of it."""

import asyncio
import ctypes
import ctypes.util
import functools
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

log = logging.getLogger("unitlm.serve")

TRIM_SECONDS = 10.0  # the worker hands freed heap memory back to the system at most this often


@functools.cache
def _malloc_trim():
    """glibc's malloc_trim, looked up once (find_library may run ldconfig); None where there is no glibc."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim
    except (OSError, AttributeError, TypeError):
        return None


def trim_memory() -> bool:
    """Return freed heap memory to the system (glibc's malloc_trim); False where there is no glibc.

    Batches of ever-changing shapes free and allocate buffers of ever-changing sizes; glibc
    keeps what is freed in its heaps, so a long-running service's resident memory creeps up
    unless it is trimmed now and then."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


@dataclass
class Item:
    """One question waiting for a batch; `settle` hands its result back to the request."""
    method: str
    question: str
    arrived: float
    settle: Callable[[object], None]


class Metrics:
    def __init__(self):
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
        from prometheus_client import disable_created_metrics

        disable_created_metrics()  # the *_created series only double the page
        self.registry = CollectorRegistry()
        r = self.registry
        ProcessCollector(registry=r)  # the server's own memory and CPU, for soak tests
        self.requests = Counter("unitlm_requests", "answer requests accepted", ["method"], registry=r)
        self.questions = Counter("unitlm_questions", "questions answered", ["method"], registry=r)
        self.no_answer = Counter("unitlm_no_answer", "questions whose generation held no number", ["method"], registry=r)
        self.batches = Counter("unitlm_batches", "batched generations run", ["method"], registry=r)
        self.failures = Counter("unitlm_failures", "questions the model failed on (server errors)", ["method"],
                                registry=r)
        self.batch_size = Histogram("unitlm_batch_size", "questions per batched generation", registry=r,
                                    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256))
        self.queue_depth = Gauge("unitlm_queue_depth", "questions waiting for a batch", registry=r)
        self.latency = Histogram("unitlm_request_latency_seconds", "answer request latency, arrival to reply",
                                 registry=r, buckets=(.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60))
        self.refusals = Counter("unitlm_refusals", "requests refused, by reason", ["reason"], registry=r)

    def text(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)


class Batcher:
    """The one worker: takes waiting questions of one method, up to `max_batch`, as one generation.

    The oldest question waits at most `max_wait` seconds for others. After a batch of more
    than one question (a loaded service), the next waits up to `refill` seconds from that
    batch's end, or until as many questions wait as that batch held plus those already
    waiting at its end: the clients just answered send again in that window and join the
    waiting ones in one full batch, instead of the clients splitting into smaller batches
    that alternate (counting only the batch's own size kept 32 clients in batches of about
    22). A lone client never meets the refill wait. A batch that raises is answered one
    question at a time, so a bad question fails only its own request.
    """

    def __init__(self, models: dict, max_batch: int, max_wait: float, max_queue: int, metrics: Metrics,
                 refill: float = 0.0):
        self.models = models
        self.max_batch, self.max_wait, self.max_queue = max_batch, max_wait, max_queue
        self.metrics = metrics
        self.queue: deque[Item] = deque()
        self.cond = threading.Condition()
        self.closing = False
        self.refill, self.refill_until, self.refill_size = refill, 0.0, 0
        self.thread = threading.Thread(target=self.run, name="unitlm-batcher", daemon=True)

    def submit(self, items: list[Item]) -> bool:
        """Queue all of `items`, or none when they would overfill the queue."""
        with self.cond:
            if self.closing or len(self.queue) + len(items) > self.max_queue:
                return False
            self.queue.extend(items)
            self.metrics.queue_depth.set(len(self.queue))
            self.cond.notify()
            return True

    def close(self):
        """Stop after answering every question already queued."""
        with self.cond:
            self.closing = True
            self.cond.notify_all()
        if self.thread.is_alive():
            self.thread.join()

    def run(self):
        trimmed = time.perf_counter()
        while (batch := self.next_batch()) is not None:
            self.answer(batch)
            if time.perf_counter() - trimmed >= TRIM_SECONDS:
                trim_memory()
                trimmed = time.perf_counter()
            self.refill_until = time.perf_counter() + self.refill if len(batch) > 1 else 0.0
            with self.cond:
                self.refill_size = len(batch) + self.waiting(batch[0].method)

    def waiting(self, method: str) -> int:
        """Questions of `method` in the queue (the caller holds `cond`)."""
        return sum(item.method == method for item in self.queue)

    def next_batch(self) -> list[Item] | None:
        with self.cond:
            while not self.queue:
                if self.closing:
                    return None
                self.cond.wait()
            method = self.queue[0].method
            first_deadline = self.queue[0].arrived + self.max_wait
            deadline = max(first_deadline, self.refill_until)
            while not self.closing and (waiting := self.waiting(method)) < self.max_batch:
                now = time.perf_counter()
                if now >= first_deadline and waiting >= self.refill_size:
                    break  # the refill is complete: the clients just answered are back
                if now >= deadline:
                    break
                self.cond.wait(deadline - now)
            batch, rest = [], deque()
            for item in self.queue:
                (batch if item.method == method and len(batch) < self.max_batch else rest).append(item)
            self.queue = rest
            self.metrics.queue_depth.set(len(rest))
            return batch

    def answer(self, batch: list[Item]):
        method = batch[0].method
        self.metrics.batches.labels(method).inc()
        self.metrics.batch_size.observe(len(batch))
        try:
            results = self.generate(method, [item.question for item in batch])
        except Exception:  # noqa: BLE001 - one question may be at fault: try each alone
            if len(batch) == 1:
                log.exception("the %s model failed on a question", method)
                self.metrics.failures.labels(method).inc()
                batch[0].settle(RuntimeError(f"the {method} model failed on this question"))
                return
            for item in batch:
                self.answer([item])
            return
        for item, result in zip(batch, results):
            item.settle(result)

    def generate(self, method: str, questions: list[str]) -> list[tuple[str, float]]:
        model = self.models[method]
        texts = model.batched_generate([model.format_prompt(q) for q in questions])
        assert len(texts) == len(questions), f"{len(texts)} generations for {len(questions)} prompts"
        return [(text, model.parse_answer(text)) for text in texts]


def settler(loop: asyncio.AbstractEventLoop, future: asyncio.Future) -> Callable[[object], None]:
    """Resolve `future` from the worker thread; a request that went away is simply not answered."""

    def settle_now(value):
        if not future.done():
            future.set_result(value)

    def settle(value):
        try:
            loop.call_soon_threadsafe(settle_now, value)
        except RuntimeError:  # the event loop has closed
            pass

    return settle
