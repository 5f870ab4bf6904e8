"""loadtest.py: loopback only, every malformed request it sends is one the service refuses, and a short run
against a real `unitlm serve` counts what it should."""

import pytest
from fastapi.testclient import TestClient
from test_serve import Echo, start_server, tiny_flags

from unitlm.base_llm import MAX_QUESTION_CHARS
from unitlm.loadtest import LoadTestConfig, check_loopback, load_test, malformed_body
from unitlm.serve import ServeConfig, create_app


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000",
                                 "http://127.3.2.1"])
def test_loopback_targets_are_taken(url):
    check_loopback(url)


@pytest.mark.parametrize("url", ["http://10.0.0.1:8000", "http://example.com", "http://0.0.0.0:8000", "/v1/answer"])
def test_other_targets_are_refused(url):
    with pytest.raises(ValueError, match="loopback"):
        check_loopback(url)


def test_every_malformed_body_is_refused_with_a_json_4xx():
    config = ServeConfig(max_wait_ms=0)
    limits = {"max_question_chars": MAX_QUESTION_CHARS,
              "max_questions_per_request": config.max_questions_per_request}
    with TestClient(create_app(config, models={"sft": Echo()})) as client:
        for kind in range(6):
            response = client.post("/v1/answer", content=malformed_body(kind, limits),
                                   headers={"content-type": "application/json"})
            assert 400 <= response.status_code < 500 and response.json()["error"], (kind, response.text)
        good = client.post("/v1/answer", json={"questions": ["How many feet are in 3.5 miles?"]})
        assert good.status_code == 200 and good.json()["answers"][0]["answer"] == 3.5


def test_a_short_run_against_a_served_tiny_model(tiny_model_dir, tmp_path):
    process, url = start_server(*tiny_flags(tiny_model_dir), "--methods", "sft", backend="torch")
    try:
        config = LoadTestConfig(url=url, concurrency="1,4", seconds=2.0, malformed=0.5, timeout=120.0,
                                out=str(tmp_path / "load.json"))
        report = load_test(config)
    finally:
        process.terminate()
        process.communicate(timeout=120)
    assert [run["concurrency"] for run in report["runs"]] == [1, 4]
    malformed_sent = 0
    for run in report["runs"]:
        assert run["requests"] > 0 and run["questions_answered"] == run["requests"] - run["refusals"]
        assert run["errors"] == 0 and run["mixed_up"] == 0
        malformed = run.get("malformed", {"sent": 0, "refused_4xx": 0})  # reported when any was sent
        assert malformed["refused_4xx"] == malformed["sent"]
        malformed_sent += malformed["sent"]
    assert malformed_sent > 0  # seed 0 at share 0.5: the third draw is malformed, so four clients send two at once
    assert (tmp_path / "load.json").exists()
