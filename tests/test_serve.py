"""`unitlm serve`: endpoints, refusals, batching, and shutdown, on stub models and the tiny Llama."""

import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from unitlm.base_llm import MAX_QUESTION_CHARS, parse_answer
from unitlm import batching, serve
from unitlm.data import Dataset
from unitlm.serve import ServeConfig, create_app, unit_phrase

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
WAIT = 120  # seconds any wait below may take before the test fails (a bound, not a measurement)


class Echo:
    """A model whose answer is the last number of its prompt, so every reply shows which question it answers.

    `gate` holds the first batch until set, so the questions sent meanwhile queue up;
    a prompt containing "boom" makes its whole batch raise.
    """

    def __init__(self, tag: str = "", gate: threading.Event | None = None):
        self.tag, self.gate = tag, gate
        self.batches: list[list[str]] = []

    def format_prompt(self, question: str) -> str:
        return f"{self.tag}{question}"

    def batched_generate(self, prompts):
        self.batches.append(list(prompts))
        if self.gate is not None and len(self.batches) == 1:
            assert self.gate.wait(WAIT), "the test never opened the gate"
        if any("boom" in p for p in prompts):
            raise RuntimeError("boom")
        return [f"{self.tag}<answer>{(_NUMBER.findall(p) or ['none'])[-1]}</answer>" for p in prompts]

    def parse_answer(self, text: str) -> float:
        return parse_answer(text)


def until(condition, what: str):
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"waited {WAIT} s for {what}"
        time.sleep(0.01)


def ask(client, *questions, **fields):
    return client.post("/v1/answer", json={"questions": list(questions), **fields})


@pytest.fixture()
def echo_client():
    model = Echo()
    with TestClient(create_app(ServeConfig(max_wait_ms=0), models={"sft": model})) as client:
        yield client, model


def test_answers_come_back_with_their_questions(echo_client):
    client, _ = echo_client
    sent = time.monotonic()
    response = ask(client, "How many feet are in 3.5 miles?", "What is 7 kg in g?")
    elapsed_ms = (time.monotonic() - sent) * 1000
    assert response.status_code == 200
    body = response.json()
    assert body["method"] == "sft"
    assert [a["question"] for a in body["answers"]] == ["How many feet are in 3.5 miles?", "What is 7 kg in g?"]
    assert [a["answer"] for a in body["answers"]] == [3.5, 7.0]
    assert [a["unit"] for a in body["answers"]] == ["feet", "g"]
    assert [a["text"] for a in body["answers"]] == [None, None]  # no reasoning asked, answers found
    assert all(0 <= a["ms"] <= elapsed_ms + 0.1 for a in body["answers"])  # its own time, within the request's


def test_no_parsable_answer_is_null_with_the_text(echo_client):
    client, _ = echo_client
    reply = ask(client, "no number here").json()["answers"][0]
    assert reply["answer"] is None
    assert reply["text"] == "<answer>none</answer>"
    assert json.loads(ask(client, "no number here").text)["answers"][0]["answer"] is None  # JSON null, never NaN


def test_reasoning_returns_the_generation(echo_client):
    client, _ = echo_client
    reply = ask(client, "How many feet are in 3.5 miles?", reasoning=True).json()["answers"][0]
    assert reply["text"] == "<answer>3.5</answer>"
    assert reply["answer"] == 3.5


def test_questions_sent_together_go_as_one_batch_each_answer_to_its_own_request():
    gate = threading.Event()
    model = Echo(gate=gate)
    app = create_app(ServeConfig(max_batch=64, max_wait_ms=0), models={"sft": model})
    with TestClient(app) as client, ThreadPoolExecutor(32) as pool:
        first = pool.submit(ask, client, "hold 1000")
        until(lambda: len(model.batches) == 1, "the first batch to start")
        requests = [[f"question {i}.{j} is {100 * i + j}" for j in range(i % 3 + 1)] for i in range(20)]
        futures = [pool.submit(ask, client, *qs) for qs in requests]
        waiting = sum(len(qs) for qs in requests)
        until(lambda: len(app.state.batcher.queue) == waiting, "every question to queue")
        gate.set()
        assert first.result().json()["answers"][0]["answer"] == 1000
        for questions, future in zip(requests, futures):
            response = future.result()
            assert response.status_code == 200
            answers = response.json()["answers"]
            assert [a["question"] for a in answers] == questions
            assert [a["answer"] for a in answers] == [float(q.split()[-1]) for q in questions]
    assert [len(batch) for batch in model.batches] == [1, waiting]


def test_a_batch_holds_one_method_and_at_most_max_batch_questions():
    gate = threading.Event()
    sft, rft = Echo("s:", gate), Echo("r:")
    app = create_app(ServeConfig(max_batch=3, max_wait_ms=0), models={"sft": sft, "rft": rft})
    with TestClient(app) as client, ThreadPoolExecutor(16) as pool:
        first = pool.submit(ask, client, "hold 0")
        until(lambda: len(sft.batches) == 1, "the first batch to start")
        futures = []
        for i in range(8):
            method = "rft" if i % 2 else "sft"
            futures.append((method, i, pool.submit(ask, client, f"q {i}", method=method)))
            until(lambda: len(app.state.batcher.queue) == i + 1, "the question to queue")
        gate.set()
        first.result()
        for method, i, future in futures:
            body = future.result().json()
            assert body["method"] == method and body["answers"][0]["answer"] == i
    assert sft.batches[1:] == [["s:q 0", "s:q 2", "s:q 4"], ["s:q 6"]]
    assert rft.batches == [["r:q 1", "r:q 3", "r:q 5"], ["r:q 7"]]


def test_a_failing_question_fails_only_its_own_request():
    gate = threading.Event()
    model = Echo(gate=gate)
    app = create_app(ServeConfig(max_wait_ms=0), models={"sft": model})
    with TestClient(app) as client, ThreadPoolExecutor(8) as pool:
        first = pool.submit(ask, client, "hold 1")
        until(lambda: len(model.batches) == 1, "the first batch to start")
        good = [pool.submit(ask, client, f"good {i}") for i in range(3)]
        until(lambda: len(app.state.batcher.queue) == 3, "the good questions to queue")
        bad = pool.submit(ask, client, "boom 9")
        until(lambda: len(app.state.batcher.queue) == 4, "the bad question to queue")
        gate.set()
        first.result()
        assert [f.result().json()["answers"][0]["answer"] for f in good] == [0, 1, 2]
        failed = bad.result()
        assert failed.status_code == 500
        assert "failed on question 1" in failed.json()["error"]
        assert ask(client, "after 5").json()["answers"][0]["answer"] == 5
    # the three good requests race to the queue, so their order within the batch may vary
    assert sorted(model.batches[1][:3]) == ["good 0", "good 1", "good 2"] and model.batches[1][3] == "boom 9"


def test_a_full_queue_refuses_with_503_and_retry_after():
    gate = threading.Event()
    model = Echo(gate=gate)
    app = create_app(ServeConfig(max_queue=2, max_wait_ms=0), models={"sft": model})
    with TestClient(app) as client, ThreadPoolExecutor(4) as pool:
        first = pool.submit(ask, client, "hold 1")
        until(lambda: len(model.batches) == 1, "the first batch to start")
        queued = pool.submit(ask, client, "a 2", "b 3")
        until(lambda: len(app.state.batcher.queue) == 2, "two questions to queue")
        refused = ask(client, "c 4")
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert "queue is full" in refused.json()["error"]
        gate.set()
        assert [a["answer"] for a in queued.result().json()["answers"]] == [2, 3]
        first.result()
        assert ask(client, "c 4").json()["answers"][0]["answer"] == 4
        assert 'unitlm_refusals_total{reason="queue_full"} 1.0' in client.get("/metrics").text


TOO_MANY = ServeConfig().max_questions_per_request + 1
BAD_REQUESTS = [
    (b'{"questions": ["1 km in m?"', 400, "invalid_json", "not JSON"),
    (b"", 400, "invalid_json", "not JSON"),
    (json.dumps({"questions": ["  \n "]}), 422, "empty_question", "question 1 is empty"),
    (json.dumps({"questions": ["ok 1", ""]}), 422, "empty_question", "question 2 is empty"),
    (json.dumps({"questions": ["x" * (MAX_QUESTION_CHARS + 1)]}), 422, "question_too_long",
     f"the limit is {MAX_QUESTION_CHARS}"),
    (json.dumps({"questions": ["1 km?"] * TOO_MANY}), 422, "too_many_questions", f"limit is {TOO_MANY - 1}"),
    (json.dumps({"questions": []}), 422, "no_questions", "no questions"),
    (json.dumps({"questions": "1 km in m?"}), 422, "invalid_request", "questions: Input should be a valid list"),
    (json.dumps({"questions": [5]}), 422, "invalid_request", "questions.0"),
    (json.dumps({"questions": ["1 km?"], "reasoning": "yes"}), 422, "invalid_request", "reasoning"),
    (json.dumps({"questions": ["1 km?"], "method": "gpt"}), 422, "unknown_method", "'sft', 'rft' or 'cot'"),
    (json.dumps({"questions": ["1 km?"], "method": "cot"}), 422, "method_not_served", "serves sft"),
    (json.dumps(["1 km in m?"]), 422, "invalid_request", "JSON object"),
    (json.dumps({"question": "1 km in m?"}), 422, "invalid_request", "questions"),
]


@pytest.mark.parametrize("body,status,reason,message", BAD_REQUESTS)
def test_bad_requests_get_a_clear_4xx_and_the_service_goes_on(echo_client, body, status, reason, message, capfd):
    client, model = echo_client
    response = client.post("/v1/answer", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status
    assert response.json()["reason"] == reason
    assert message in response.json()["error"]
    assert model.batches == []  # refused before reaching the model
    assert ask(client, "then 42").json()["answers"][0]["answer"] == 42
    assert f'unitlm_refusals_total{{reason="{reason}"}} 1.0' in client.get("/metrics").text
    assert "Traceback" not in capfd.readouterr().err


def test_an_oversized_body_is_refused(echo_client):
    client, _ = echo_client
    response = client.post("/v1/answer", content=b"[" + b" " * 10_000_000 + b"]")
    assert response.status_code == 413
    assert "over" in response.json()["error"]


def test_unknown_paths_answer_json_404(echo_client):
    client, _ = echo_client
    response = client.get("/v2/nothing")
    assert response.status_code == 404 and "error" in response.json()


def test_health_is_503_while_loading_then_200():
    release = threading.Event()
    loaded = []

    def load(method):
        assert release.wait(WAIT)
        loaded.append(Echo())
        return loaded[-1]

    app = create_app(ServeConfig(methods="sft,rft", max_wait_ms=0, warm_up=5), load=load)
    with TestClient(app) as client:
        health = client.get("/health")
        assert health.status_code == 503
        assert health.json()["models"]["sft"] in ("waiting", "loading")
        assert "sft" in health.json()["reason"]
        early = ask(client, "1 km?")
        assert early.status_code == 503 and early.headers["retry-after"] and "loading" in early.json()["error"]
        release.set()
        until(lambda: client.get("/health").json()["models"] == {"sft": "ready", "rft": "ready"}, "both models")
        assert client.get("/health").status_code == 200
        # each model answered one warm-up batch of --warm-up questions before it served
        warm_up = [serve.WARM_UP_QUESTION] + [e[0] for e in Dataset("valid").data[:4]]
        assert [model.batches for model in loaded] == [[warm_up], [warm_up]]
        assert ask(client, "2 km?", method="rft").json()["answers"][0]["answer"] == 2


def test_the_default_model_failing_to_load_is_reported_and_fatal():
    fatal = []

    def load(method):
        raise FileNotFoundError("no adapter here")

    app = create_app(ServeConfig(methods="sft"), load=load, on_fatal=fatal.append)
    with TestClient(app) as client:
        until(lambda: fatal, "the failure")
        health = client.get("/health")
        assert health.status_code == 503
        assert "no adapter here" in health.json()["reason"]
        assert ask(client, "1 km?").status_code == 503
    assert "FileNotFoundError" in fatal[0]


def test_metrics_count_requests_questions_batches_and_latency(echo_client):
    client, _ = echo_client
    ask(client, "1 a", "2 b")
    ask(client, "")
    text = client.get("/metrics").text
    for line in ('unitlm_requests_total{method="sft"} 1.0', 'unitlm_questions_total{method="sft"} 2.0',
                 'unitlm_batches_total{method="sft"} 1.0', "unitlm_batch_size_sum 2.0", "unitlm_queue_depth 0.0",
                 "unitlm_request_latency_seconds_count 1.0", 'unitlm_refusals_total{reason="empty_question"} 1.0',
                 "process_resident_memory_bytes"):
        assert line in text, line


def test_page_and_schema(echo_client):
    client, _ = echo_client
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for element in ('id="question"', 'id="method"', 'id="reasoning"', 'id="ask"', 'id="error"', 'id="history"'):
        assert element in page.text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page.text), "the page must load nothing from outside"
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/v1/answer"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == {"questions", "method", "reasoning"}


def test_report_plots_only_the_newest_reports_pngs(tmp_path):
    old, new = tmp_path / "a", tmp_path / "b"
    for run in (old, new):
        (run / "plots").mkdir(parents=True)
        (run / "plots" / "loss.png").write_bytes(b"\x89PNG " + run.name.encode())
        (run / "report.md").write_text("# report")
        (run / "notes.txt").write_text("secret")
    os.utime(old / "report.md", (1, 1))
    app = create_app(ServeConfig(runs_dir=str(tmp_path)), models={"sft": Echo()})
    with TestClient(app) as client:
        listing = client.get("/v1/report").json()
        assert listing["report"] == str(new / "report.md")
        assert listing["plots"] == [{"name": "plots/loss.png", "url": "/report/plots/loss.png"}]
        assert client.get("/report/plots/loss.png").content == b"\x89PNG b"
        for path in ("/report/notes.txt", "/report/report.md", "/report/../a/plots/loss.png",
                     "/report/%2e%2e/a/plots/loss.png", "/report//etc/passwd"):
            assert client.get(path).status_code == 404, path


def test_no_runs_folder_means_no_plots(tmp_path):
    app = create_app(ServeConfig(runs_dir=str(tmp_path / "missing")), models={"sft": Echo()})
    with TestClient(app) as client:
        assert client.get("/v1/report").json() == {"report": None, "plots": []}


def test_the_tiny_model_answers_each_question_as_it_would_alone(tiny_model_dir):
    import torch

    from unitlm.sft import SFTModel

    model = SFTModel(tiny_model_dir, device="cpu", dtype=torch.float32)
    questions = ["How many feet are in 3.5 miles?", "Convert 5 gallons to liters.", "What is 4 GB in megabytes?"]
    alone = [model.batched_generate([model.format_prompt(q)])[0] for q in questions]
    with TestClient(create_app(ServeConfig(), models={"sft": model})) as client:
        answers = ask(client, *questions, reasoning=True).json()["answers"]
    assert [a["text"] for a in answers] == alone
    for reply, text in zip(answers, alone):
        value = model.parse_answer(text)
        assert reply["answer"] == (None if math.isnan(value) else value)


@pytest.mark.parametrize("question,unit", [
    ("How many feet are in 3.5 miles?", "feet"),
    ("Express 4 centuries as a quantity of week.", "week"),
    ("What is the conversion from liter to gallon for 7 units?", "gallon"),
    ("Convert 5 gallons to liters.", "liters"),
    ("What is 4 GB in megabytes?", "megabytes"),
    ("Using megabyte as the unit, how much is 4945 kilobytes?", "megabyte"),
    ("Convert this measurement to degrees C: 242 degrees Fahrenheit.", "degrees C"),
    ("Gram to ounce: 8", "ounce"),
    ("2 days = ? seconds", "seconds"),
    ("hello there", None),
])
def test_unit_phrase(question, unit):
    assert unit_phrase(question) == unit


def test_rft_answers_requests_that_name_no_method_unless_told_otherwise():
    assert ServeConfig().method_list() == ["rft", "sft", "cot"]
    assert ServeConfig(methods="sft,cot").method_list() == ["sft", "cot"]  # the first of --methods
    assert ServeConfig(model="cot").method_list() == ["cot", "rft", "sft"]
    with pytest.raises(ValueError, match="no method"):
        ServeConfig(methods=" , ").method_list()


def test_config_refuses_a_default_model_it_does_not_load():
    with pytest.raises(ValueError, match="not among"):
        ServeConfig(model="rft", methods="sft").method_list()
    with pytest.raises(ValueError, match="unknown method"):
        ServeConfig(methods="sft,gpt").method_list()


def test_cli_lists_serve_with_its_flags(capsys):
    from unitlm import cli

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["serve", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--max-batch", "--max-wait-ms", "--max-queue", "--max-questions-per-request", "--model"):
        assert flag in out
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["serve", "--max-batch", "0"])
    assert exit_info.value.code == 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tiny_flags(tiny_model_dir) -> list[str]:
    """The tiny Llama as every method's model: no adapter fits it, so each runs on the base weights."""
    return ["--base", tiny_model_dir, "--sft-adapter", "none", "--rft-adapter", "none"]


def start_server(*flags, backend: str | None = None) -> tuple[subprocess.Popen, str]:
    """`unitlm serve FLAGS` on a free loopback port, once /health is 200; `backend`: its UNITLM_BACKEND.

    The tiny random model's answers leave the SFT vocabulary at once, so under OpenVINO every one is
    decoded again by torch, a path the trained model does not take; traffic to it runs on torch."""
    import httpx

    port = free_port()
    env = dict(os.environ, **({"UNITLM_BACKEND": backend} if backend else {}))
    process = subprocess.Popen([sys.executable, "-m", "unitlm.cli", "serve", "--port", str(port), *flags],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 5 * WAIT  # a bound for a crowded machine; a quiet one needs seconds
    while True:
        assert process.poll() is None, f"the server exited: {process.communicate()[1][-2000:]}"
        assert time.monotonic() < deadline, f"the server was not ready within {5 * WAIT} s"
        try:
            if httpx.get(url + "/health", timeout=5).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_intake_answers_held_requests_and_exits_0(tiny_model_dir, sig):
    import httpx

    # The batch waits 10 s for company, so the request is still held when the signal comes.
    process, url = start_server(*tiny_flags(tiny_model_dir), "--methods", "sft", "--max-wait-ms", "10000",
                                backend="torch")
    try:
        with ThreadPoolExecutor(1) as pool:
            held = pool.submit(httpx.post, url + "/v1/answer", json={"questions": ["How many feet are in 3.5 miles?"]},
                               timeout=WAIT)
            until(lambda: 'unitlm_requests_total{method="sft"} 1.0' in httpx.get(url + "/metrics", timeout=5).text,
                  "the request to be taken")
            process.send_signal(sig)
            response = held.result()
        assert response.status_code == 200
        assert response.json()["answers"][0]["question"] == "How many feet are in 3.5 miles?"
        _, err = process.communicate(timeout=WAIT)
        assert process.returncode == 0, err[-2000:]
        assert "Traceback" not in err
        assert "Waiting for connections to close" in err  # uvicorn saw the request still open at the signal
        with pytest.raises(httpx.ConnectError):
            httpx.get(url + "/health", timeout=5)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_the_served_page_is_the_packaged_file(echo_client):
    client, _ = echo_client
    page = Path(__file__).parents[1] / "src" / "unitlm" / "static" / "index.html"
    response = client.get("/")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert response.text == page.read_text()


def test_after_a_batch_of_several_the_next_waits_for_the_clients_just_answered():
    """With a refill window, a question sent shortly after a batch of two ends joins the one already
    waiting, and the two go as soon as both are there; a lone question's batch opens no window."""
    model = Echo()
    app = create_app(ServeConfig(max_batch=64, max_wait_ms=0, refill_ms=10000), models={"sft": model})
    with TestClient(app) as client, ThreadPoolExecutor(4) as pool:
        assert ask(client, "a 1", "b 2").status_code == 200  # a batch of two: the refill window opens
        first = pool.submit(ask, client, "c 3")
        time.sleep(0.3)  # well inside the window, so "c 3" is still waiting
        sent = time.monotonic()
        second = pool.submit(ask, client, "d 4")
        assert first.result().status_code == 200 and second.result().status_code == 200
        assert time.monotonic() - sent < 5  # two waited, as many as the batch before: no need to wait out the window
        assert [len(batch) for batch in model.batches] == [2, 2]
        ask(client, "e 5")  # the batch before held two, so it waited; this one was alone
        started = time.monotonic()
        assert ask(client, "f 6").status_code == 200  # after a batch of one: no window
        assert time.monotonic() - started < 5  # far inside the 10 s window: it opened none
    assert [len(batch) for batch in model.batches] == [2, 2, 1, 1]


def test_the_refill_also_counts_the_questions_already_waiting_when_a_batch_ends():
    """A batch of two ends with one question waiting: the next batch waits for three (the two clients
    answered come back), not for two, which would leave a returning client for a batch after."""
    gate = threading.Event()
    model = Echo(gate=gate)
    app = create_app(ServeConfig(max_batch=64, max_wait_ms=0, refill_ms=10000), models={"sft": model})
    with TestClient(app) as client, ThreadPoolExecutor(4) as pool:
        first = pool.submit(ask, client, "a 1", "b 2")  # held at the gate
        deadline = time.monotonic() + WAIT
        while not model.batches and time.monotonic() < deadline:
            time.sleep(0.01)
        waiting = pool.submit(ask, client, "c 3")  # arrives while the batch of two runs
        time.sleep(0.3)
        gate.set()
        assert first.result().status_code == 200
        time.sleep(0.3)  # inside the window: "c 3" and one returning client wait, the other has not come back
        second = pool.submit(ask, client, "d 4")
        time.sleep(0.3)
        third = pool.submit(ask, client, "e 5")
        assert all(f.result().status_code == 200 for f in (waiting, second, third))
    assert [len(batch) for batch in model.batches] == [2, 3]


def test_the_worker_trims_freed_memory_between_batches(monkeypatch):
    """After a batch, once TRIM_SECONDS have passed, the worker hands freed heap memory back to the system."""
    trims = []
    monkeypatch.setattr(batching, "TRIM_SECONDS", 0.0)
    monkeypatch.setattr(batching, "trim_memory", lambda: trims.append(1) or True)
    with TestClient(create_app(ServeConfig(max_wait_ms=0), models={"sft": Echo()})) as client:
        assert ask(client, "a 1").status_code == 200
        assert ask(client, "b 2").status_code == 200
    assert len(trims) >= 2


def test_trim_memory_runs_here():
    from unitlm.batching import trim_memory

    assert trim_memory() is (sys.platform == "linux")


def test_jemalloc_is_preloaded_by_running_the_command_again(monkeypatch):
    from unitlm import serve

    calls = []
    monkeypatch.setattr(serve, "jemalloc_loaded", lambda: False)
    monkeypatch.setattr(serve.ctypes.util, "find_library", lambda name: "libjemalloc.so.2" if name == "jemalloc" else None)
    monkeypatch.setattr(serve.os, "execve", lambda *args: calls.append(args))
    monkeypatch.delenv("UNITLM_JEMALLOC_TRIED", raising=False)
    monkeypatch.setenv("LD_PRELOAD", "libother.so")
    serve.run_with_jemalloc(["--port", "9"], required=True)
    (path, argv, env), = calls
    assert argv == [path, "-m", "unitlm.serve", "--port", "9"]
    assert env["LD_PRELOAD"] == "libother.so libjemalloc.so.2" and env["UNITLM_JEMALLOC_TRIED"] == "1"
    assert env["TBB_ENABLE_SANITIZERS"] == "1"  # else OpenVINO's oneTBB aborts under jemalloc


def test_without_jemalloc_the_service_says_so_or_refuses_when_asked_for_it(monkeypatch, capsys):
    from unitlm import serve

    monkeypatch.setattr(serve, "jemalloc_loaded", lambda: False)
    monkeypatch.setattr(serve.ctypes.util, "find_library", lambda name: None)
    monkeypatch.setattr(serve.os, "execve", lambda *args: pytest.fail("no library, no exec"))
    serve.run_with_jemalloc([], required=False)
    assert "using glibc's malloc" in capsys.readouterr().err
    with pytest.raises(ValueError, match="apt-get install libjemalloc2"):
        serve.run_with_jemalloc([], required=True)
    with pytest.raises(SystemExit):
        serve.main(["--allocator", "jemalloc"])
    assert "--allocator jemalloc" in capsys.readouterr().err


def test_a_preload_that_did_not_take_is_not_tried_again(monkeypatch):
    from unitlm import serve

    monkeypatch.setattr(serve, "jemalloc_loaded", lambda: False)
    monkeypatch.setattr(serve.ctypes.util, "find_library", lambda name: "libjemalloc.so.2")
    monkeypatch.setattr(serve.os, "execve", lambda *args: pytest.fail("exec again"))
    monkeypatch.setenv("UNITLM_JEMALLOC_TRIED", "1")
    serve.run_with_jemalloc([], required=False)


@pytest.mark.skipif(not __import__("ctypes.util").util.find_library("jemalloc"), reason="libjemalloc2 not installed")
def test_the_started_service_runs_on_jemalloc(tiny_model_dir):
    process, _ = start_server(*tiny_flags(tiny_model_dir), "--methods", "sft", "--allocator", "jemalloc")
    try:
        assert "libjemalloc" in Path(f"/proc/{process.pid}/maps").read_text()
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=WAIT)
    assert process.returncode == 0
