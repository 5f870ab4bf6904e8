"""A local answer service: each method's model loaded once, concurrent questions answered in batches.

    unitlm serve                                  # http://127.0.0.1:8000: the web page
    curl -s localhost:8000/v1/answer -d '{"questions": ["How many feet are in 3.5 miles?"]}'
    unitlm serve --model sft --max-batch 64 --max-wait-ms 5 --port 8080   # SFT for requests naming no method

Endpoints: POST /v1/answer, GET /health, GET /metrics (Prometheus text), GET / (the page),
GET /docs and /openapi.json (the schema). Ctrl-C stops taking requests, answers those it
holds, and exits 0.
"""

import argparse
import asyncio
import ctypes
import ctypes.util
import json
import logging
import math
import os
import re
import signal
import sys
import threading
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal

from . import engine
from .batching import Batcher, Item, Metrics, settler
from .base_llm import MAX_QUESTION_CHARS
from .options import add_flags, from_flags, option, validate

METHODS = ("sft", "rft", "cot")
WARM_UP_QUESTION = "How many feet are in 3.5 miles?"
STATIC_DIR = Path(__file__).parent / "static"


def jemalloc_loaded() -> bool:
    try:
        return "libjemalloc" in Path("/proc/self/maps").read_text()
    except OSError:
        return False


def run_with_jemalloc(argv: list[str], required: bool) -> None:
    """Run this command again, in this process, with jemalloc preloaded; return where it cannot be.

    glibc's malloc keeps what batches of ever-changing shapes free in its heaps, so the
    service's memory creeps up for minutes; jemalloc hands it back. It replaces malloc only
    when loaded before anything else, hence LD_PRELOAD and exec. The flag in the environment
    stops a second try when the preload did not take. OpenVINO's oneTBB loads its hwloc binding
    with RTLD_DEEPBIND, which then frees jemalloc's memory with glibc's free and aborts;
    TBB_ENABLE_SANITIZERS=1 makes it load that library without (oneTBB issue #1636).
    """
    if jemalloc_loaded():
        return
    library = ctypes.util.find_library("jemalloc")
    if library is None or os.environ.get("UNITLM_JEMALLOC_TRIED"):
        if required:
            raise ValueError("--allocator jemalloc: libjemalloc cannot be loaded (Debian: apt-get install libjemalloc2)")
        print("unitlm serve: jemalloc not found (Debian: apt-get install libjemalloc2); using glibc's malloc, "
              "whose memory grows for minutes under load", file=sys.stderr)
        return
    preload = " ".join(filter(None, [os.environ.get("LD_PRELOAD"), library]))
    env = dict(os.environ, LD_PRELOAD=preload, UNITLM_JEMALLOC_TRIED="1", TBB_ENABLE_SANITIZERS="1")
    os.execve(sys.executable, [sys.executable, "-m", "unitlm.serve", *argv], env)


log = logging.getLogger("unitlm.serve")


@dataclass
class ServeConfig:
    host: str = option("127.0.0.1", "address to listen on; 0.0.0.0 opens the service to the network")
    port: int = option(8000, "TCP port", at_least=0, at_most=65535)
    model: str | None = option(None, "method loaded first, answering requests that name none; /health is 200 "
                               "once it is loaded (None: the first of --methods)", choices=METHODS)
    # RFT first: the page asks what a person types, where RFT is the most accurate (docs/results.md);
    # throughput-minded clients name sft in their requests or start the service with --model sft
    methods: str = option("rft,sft,cot", "comma-separated methods to load, one model each")
    max_batch: int = option(64, "most questions answered by one batched generation", at_least=1)
    max_wait_ms: float = option(20.0, "how long the oldest waiting question waits for others to join its batch",
                                at_least=0)
    refill_ms: float = option(400.0, "after a batch of several questions, how long the next one waits for the "
                              "clients just answered to send again", at_least=0)
    max_queue: int = option(256, "most questions waiting; beyond it a request gets 503 with Retry-After",
                            at_least=1)
    max_questions_per_request: int = option(64, "most questions in one request", at_least=1)
    warm_up: int = option(64, "valid-split questions each model answers in one batch before it serves: kernels, "
                          "caches and the allocator reach their working size before the first request", at_least=1)
    onednn_cache: int = option(64, "oneDNN primitive cache entries (sets ONEDNN_PRIMITIVE_CACHE_CAPACITY, whose "
                                   "default 1024 keeps a kernel per matmul shape and grows memory for minutes)",
                               at_least=0)
    base: str | None = option(None, "base model (HF id, folder, .gguf); unset: the embedded SmolLM2")
    sft_adapter: str = option("", "SFT adapter folder; empty: the shipped one; 'none': the base weights with "
                              "SFT's prompt")
    rft_adapter: str = option("", "RFT adapter folder; empty: the shipped one; 'none': the base weights with "
                              "RFT's prompt")
    allocator: str = option("auto", "memory allocator: jemalloc (preloaded; hands freed memory back), glibc, or "
                            "auto: jemalloc where it is installed", choices=("auto", "jemalloc", "glibc"))
    runs_dir: str = option("runs", "folder whose newest */report.md plots the page links to")
    access_log: bool = option(False, "log every HTTP request")

    def method_list(self) -> list[str]:
        """The methods to load, `model` first."""
        names = [m.strip() for m in self.methods.split(",") if m.strip()]
        if not names:
            raise ValueError("--methods names no method")
        first = self.model or names[0]
        unknown = [m for m in names + [first] if m not in METHODS]
        if unknown:
            raise ValueError(f"unknown method {unknown[0]!r}; methods are {', '.join(METHODS)}")
        if first not in names:
            raise ValueError(f"--model {first} is not among --methods {self.methods}")
        return [first] + [m for m in names if m != first]


def warm_up_questions(count: int) -> list[str]:
    """WARM_UP_QUESTION, then the first `count - 1` questions of the valid split."""
    from .data import Dataset

    return [WARM_UP_QUESTION] + [entry[0] for entry in Dataset("valid").data[: count - 1]]


def load_method(method: str, config: ServeConfig):
    """The model that answers `method`'s requests."""
    from . import cot, rft, sft  # here, so a server given its models (tests) imports no stage module

    if method == "cot":
        return cot.load(config.base)
    module, adapter = (sft, config.sft_adapter) if method == "sft" else (rft, config.rft_adapter)
    if adapter == "none":
        return (sft.SFTModel if method == "sft" else rft.RFTModel)(config.base)
    return module.load(adapter or module.MODEL_DIR, config.base)


# The unit phrase asked for, read off the question's wording for display; answers never use it.
_UNIT_PATTERNS = [re.compile(p, re.IGNORECASE) for p in (
    r"\bhow many (.+?)\s+(?:are|is|make|makes|does|do|did|correspond|corresponds|equal|equals|there|in|would|will)\b",
    r"\bhow many (.+?)\s*[?.!]*$",
    r"^using (.+?) as the unit\b",
    r"\bmeasurement to (.+?)\s*:",
    r"\bquantity of (.+?)\s+(?:is|are|equals?)\b",
    r"\bnumber of (.+?)\s+(?:in|is|are|equals?)\b",
    r"\bfrom\s+.+?\s+to\s+(.+?)(?:\s+for\b|\s*[,:])",
    r"^[a-z][\w /^*.-]*?\s+to\s+(.+?)\s*:",
    r"\b(?:as a quantity of|in terms of|expressed in|expressed as|converted to|converts to|convert it to|into|to|in|as)"
    r"\s+([^\d\s:?][^:?]*?)(?:,?\s*please)?\s*[?.!]*$",
    r"(?:->|=\s*\?)\s*([^\d\s?][^?]*?)\s*[?.!]*$",
)]


def unit_phrase(question: str) -> str | None:
    """The words naming the unit a question asks for, or None; a display hint only.

    >>> unit_phrase("How many feet are in 3.5 miles?"), unit_phrase("Express 4 centuries as a quantity of week.")
    ('feet', 'week')
    >>> unit_phrase("What is the conversion from liter to gallon for 7 units?"), unit_phrase("3092 mi -> in")
    ('gallon', 'in')
    >>> unit_phrase("Convert -5 deg C into degrees Fahrenheit, please."), unit_phrase("hello") is None
    ('degrees Fahrenheit', True)
    """
    text = " ".join(str(question).split())
    for pattern in _UNIT_PATTERNS:
        match = pattern.search(text)
        if match and match.group(1).strip(" ,.?"):
            return match.group(1).strip(" ,.?")
    return None


class Refusal(Exception):
    """A request the service will not take: status, a metrics reason, and a message for the client."""

    def __init__(self, status: int, reason: str, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.status, self.reason, self.message, self.retry_after = status, reason, message, retry_after


def _schemas():
    from pydantic import BaseModel, ConfigDict, Field

    class AnswerRequest(BaseModel):
        model_config = ConfigDict(strict=True, extra="forbid")
        questions: list[str] = Field(description="questions to answer, each its own answer in order")
        method: Literal["sft", "rft", "cot"] | None = Field(None, description="default: the server's --model")
        reasoning: bool = Field(False, description="also return each generation's text")

    class Answer(BaseModel):
        question: str
        answer: float | None = Field(description="the parsed number; null when the generation has none")
        unit: str | None = Field(description="the unit phrase read off the question, for display")
        text: str | None = Field(description="the generation: when reasoning is asked, or answer is null")
        ms: float = Field(description="milliseconds from the request's arrival to its batch's end")

    class AnswerResponse(BaseModel):
        method: str
        answers: list[Answer]

    return AnswerRequest, AnswerResponse


def latest_report(runs_dir: str | Path) -> tuple[Path | None, dict[str, Path]]:
    """The newest runs/*/report.md and its PNGs by relative name; the only files /report/ serves."""
    reports = [p for p in Path(runs_dir).glob("*/report.md") if p.is_file()]
    if not reports:
        return None, {}
    report = max(reports, key=lambda p: p.stat().st_mtime)
    folder = report.parent
    pngs = sorted(p for pattern in ("*.png", "plots/*.png") for p in folder.glob(pattern) if p.is_file())
    return report, {p.relative_to(folder).as_posix(): p for p in pngs}


def create_app(config: ServeConfig | None = None, models: dict | None = None,
               load: Callable[[str], object] | None = None, on_fatal: Callable[[str], None] | None = None):
    """The FastAPI app. `models` (method -> built model) skips loading; otherwise each of
    `config.method_list()` is built by `load(method)` in a background thread, the default first.
    `on_fatal` is called when the default model fails to load."""
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse, Response
    from pydantic import ValidationError
    from starlette.exceptions import HTTPException

    config = config or ServeConfig()
    AnswerRequestModel, AnswerResponseModel = _schemas()
    methods = list(models) if models is not None else config.method_list()
    default = config.model if config.model in methods else methods[0]
    state = {m: "ready" if models is not None else "waiting" for m in methods}
    metrics = Metrics()
    batcher = Batcher(dict(models or {}), config.max_batch, config.max_wait_ms / 1000, config.max_queue, metrics,
                      config.refill_ms / 1000)
    load = load or (lambda method: load_method(method, config))
    body_limit = config.max_questions_per_request * (6 * MAX_QUESTION_CHARS + 16) + 1024

    def load_all():
        for method in methods:
            state[method] = "loading"
            started = time.perf_counter()
            try:
                model = load(method)
                if hasattr(model, "model"):  # a real model: start its backend now (OpenVINO, int8) where auto runs one
                    engine.prepare(model)
                # The first generations build caches (the SFT answer vocabulary, kernels, allocator arenas at
                # batch size); a user's first questions should not.
                model.batched_generate([model.format_prompt(q) for q in warm_up_questions(config.warm_up)])
                batcher.models[method] = model
            except Exception as error:  # noqa: BLE001 - reported by /health and the log, not raised
                state[method] = f"failed: {type(error).__name__}: {error}"
                log.error("unitlm serve: the %s model failed to load: %s: %s", method, type(error).__name__, error)
                if method == default and on_fatal is not None:
                    on_fatal(state[method])
                continue
            state[method] = "ready"
            log.info("unitlm serve: %s model ready in %.1f s", method, time.perf_counter() - started)

    @asynccontextmanager
    async def lifespan(app):
        batcher.thread.start()
        if models is None:
            threading.Thread(target=load_all, name="unitlm-loader", daemon=True).start()
        yield
        await asyncio.get_running_loop().run_in_executor(None, batcher.close)

    app = FastAPI(title="unitlm", version="0.1.0", lifespan=lifespan,
                  description="Answers unit-conversion questions with a small language model.")
    app.state.batcher, app.state.metrics, app.state.models = batcher, metrics, state

    def error_response(status: int, message: str, reason: str, retry_after: int | None = None):
        metrics.refusals.labels(reason).inc()
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        return JSONResponse({"error": message, "reason": reason}, status_code=status, headers=headers)

    @app.exception_handler(Refusal)
    async def refused(request, refusal: Refusal):
        return error_response(refusal.status, refusal.message, refusal.reason, refusal.retry_after)

    @app.exception_handler(RequestValidationError)
    async def invalid(request, error: RequestValidationError):
        return error_response(422, _validation_message(error.errors()), "invalid_request")

    @app.exception_handler(HTTPException)
    async def http_error(request, error: HTTPException):
        return error_response(error.status_code, str(error.detail), "not_found" if error.status_code == 404
                              else "http_error")

    async def read_body(request: Request) -> bytes:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > body_limit:
                raise Refusal(413, "body_too_large", f"the request body is over {body_limit} bytes")
        return body

    def check(payload) -> tuple[list[str], str, bool]:
        try:
            request = AnswerRequestModel.model_validate(payload)
        except ValidationError as error:
            errors = error.errors()
            reason = "unknown_method" if errors and errors[0]["loc"][:1] == ("method",) else "invalid_request"
            raise Refusal(422, reason, _validation_message(errors)) from None
        questions, method = request.questions, request.method or default
        if not questions:
            raise Refusal(422, "no_questions", 'no questions: send {"questions": ["..."]}')
        if len(questions) > config.max_questions_per_request:
            raise Refusal(422, "too_many_questions", f"{len(questions)} questions in one request; the limit is "
                          f"{config.max_questions_per_request} (--max-questions-per-request)")
        for number, question in enumerate(questions, 1):
            length = len(" ".join(question.split()))
            if length == 0:
                raise Refusal(422, "empty_question", f"question {number} is empty")
            if length > MAX_QUESTION_CHARS:
                raise Refusal(422, "question_too_long", f"question {number} has {length} characters; the limit "
                              f"is {MAX_QUESTION_CHARS} (spaces collapsed)")
        if method not in state:
            raise Refusal(422, "method_not_served", f"this server does not serve {method}; it serves "
                          f"{', '.join(methods)} (--methods)")
        if state[method] != "ready":
            if state[method].startswith("failed"):
                raise Refusal(503, "model_failed", f"the {method} model could not load ({state[method]})")
            raise Refusal(503, "loading", f"the {method} model is loading; try again shortly", retry_after=5)
        return questions, method, request.reasoning

    answer_schema = AnswerRequestModel.model_json_schema()

    @app.post("/v1/answer", response_model=AnswerResponseModel, summary="Answer unit-conversion questions",
              openapi_extra={"requestBody": {"required": True,
                                             "content": {"application/json": {"schema": answer_schema}}}},
              responses={413: {"description": "body too large"}, 422: {"description": "invalid request"},
                         503: {"description": "queue full or model loading (Retry-After)"}})
    async def answer(request: Request):
        started = time.perf_counter()
        body = await read_body(request)
        try:
            payload = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise Refusal(400, "invalid_json", f"the body is not JSON ({error})") from None
        questions, method, reasoning = check(payload)
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in questions]
        items = [Item(method, q, started, settler(loop, f)) for q, f in zip(questions, futures)]
        if not batcher.submit(items):
            raise Refusal(503, "queue_full", f"the queue is full ({config.max_queue} questions waiting, "
                          "--max-queue); try again shortly", retry_after=1)
        metrics.requests.labels(method).inc()
        results = await asyncio.gather(*futures)
        failed = [n for n, r in enumerate(results, 1) if isinstance(r, Exception)]
        if failed:
            return JSONResponse({"error": f"the {method} model failed on question {failed[0]}", "reason": "model_error"},
                                status_code=500)
        ended = time.perf_counter()
        replies = []
        for question, (text, value) in zip(questions, results):
            number = value if value is not None and math.isfinite(value) else None
            if number is None:
                metrics.no_answer.labels(method).inc()
            replies.append({"question": question, "answer": number, "unit": unit_phrase(question),
                            "text": text if reasoning or number is None else None,
                            "ms": round((ended - started) * 1000, 1)})
        metrics.questions.labels(method).inc(len(questions))
        metrics.latency.observe(ended - started)
        return JSONResponse({"method": method, "answers": replies})

    @app.get("/health", summary="200 once the default model is loaded, 503 before")
    async def health():
        ready = state[default] == "ready"
        reason = "ready" if ready else f"{default} model: {state[default]}"
        return JSONResponse({"status": "ok" if ready else "unavailable", "reason": reason, "default": default,
                             "models": state, "queue": len(batcher.queue),
                             "limits": {"max_question_chars": MAX_QUESTION_CHARS,
                                        "max_questions_per_request": config.max_questions_per_request}},
                            status_code=200 if ready else 503)

    @app.get("/metrics", summary="Prometheus text format")
    async def prometheus():
        from prometheus_client import CONTENT_TYPE_LATEST

        return Response(metrics.text(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/report", summary="the latest runs/*/report.md and its plots")
    async def report():
        path, pngs = latest_report(config.runs_dir)
        return {"report": str(path) if path else None, "plots": [{"name": n, "url": f"/report/{n}"} for n in pngs]}

    @app.get("/report/{name:path}", include_in_schema=False)
    async def report_png(name: str):
        from fastapi.responses import FileResponse

        _, pngs = latest_report(config.runs_dir)
        if name not in pngs:
            raise Refusal(404, "not_found", f"no plot {name!r} in the latest report")
        return FileResponse(pngs[name], media_type="image/png")

    @app.get("/", include_in_schema=False)
    async def page():
        return HTMLResponse((STATIC_DIR / "index.html").read_text())

    return app


def _validation_message(errors) -> str:
    """`questions.0: Input should be a valid string` from pydantic's first error."""
    if not errors:
        return "invalid request"
    error = errors[0]
    where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
    if error.get("type") == "model_type" or not where:
        return "the body must be a JSON object like {\"questions\": [\"...\"], \"method\": \"sft\"}"
    return f"{where}: {error.get('msg', 'invalid')}"


def serve(config: ServeConfig) -> int:
    """Run the service until SIGINT/SIGTERM; 0 after a requested stop, 1 when the model cannot load."""
    import uvicorn

    methods = config.method_list()  # a bad --methods / --model fails here, before anything starts
    os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] = str(config.onednn_cache)  # read at oneDNN's first kernel
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    fatal: list[str] = []
    server: uvicorn.Server | None = None

    def stop(reason: str):
        fatal.append(reason)
        server.should_exit = True

    app = create_app(config, on_fatal=stop)
    server = uvicorn.Server(uvicorn.Config(app, host=config.host, port=config.port, access_log=config.access_log,
                                           log_level="info", timeout_graceful_shutdown=None))
    # uvicorn re-raises the signal that stopped it once it has shut down; a requested stop
    # is a normal end here, so those signals land on a handler that does nothing.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)
    log.info("unitlm serve: loading %s; the page will be at http://%s:%d/", ", ".join(methods),
             config.host, config.port)
    server.run()
    if fatal:
        log.error("unitlm serve: stopped: the %s model could not load", methods[0])
        return 1
    return 0


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="unitlm serve", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_flags(parser, ServeConfig)
    args = parser.parse_args(argv)
    try:
        config = from_flags(args, ServeConfig)
        validate(config)
        config.method_list()
        if config.allocator != "glibc":
            run_with_jemalloc(argv, required=config.allocator == "jemalloc")
    except ValueError as error:
        parser.error(str(error))
    return serve(config)


if __name__ == "__main__":
    raise SystemExit(main())
