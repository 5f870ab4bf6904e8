"""datagen.py: rejection sampling on a stub policy, with exact counts; resuming, sharding, what it records."""

import dataclasses
import json

import pytest

from unitlm import datagen, finetune
from unitlm.base_llm import parse_answer
from unitlm.data import DataError
from unitlm.datagen import DatagenConfig, generate_data, keep_correct


class StubPolicy:
    """Canned samples per question: for answer A, two correct variants, a duplicate and a wrong one."""

    def __init__(self, answers, fail_after=None):
        self.answers = answers
        self.calls = 0
        self.fail_after = fail_after

    def format_prompt(self, question):
        return question

    def batched_generate(self, prompts, num_return_sequences=None, temperature=0, seed=None):
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise KeyboardInterrupt("simulated kill")
        self.calls += 1
        out = []
        for prompt in prompts:
            answer = self.answers[prompt]
            out.append([
                f"1 a = {answer} b. <answer>1 * {answer}</answer> trailing",
                f"1 a = {answer} b. <answer>1 * {answer}</answer>",  # same numbers: a duplicate
                f"1 c = {answer * 2} b. <answer>0.5 * {answer * 2}</answer>",  # correct, different
                f"1 a = {answer + 100} b. <answer>1 * {answer + 100}</answer>",  # wrong
            ][:num_return_sequences])
        return out


@pytest.fixture()
def setup(tmp_path):
    """A config over a ten-question train file in tmp_path (four chunks of three), and the answers."""
    entries = [[f"q{i}", float(i + 1), "gold"] for i in range(10)]
    (tmp_path / "train.json").write_text(json.dumps(entries))
    config = DatagenConfig(out=str(tmp_path / "out.json"), train_file=str(tmp_path / "train.json"), oversample=4,
                           chunk=3, max_questions=None)
    return config, {e[0]: e[1] for e in entries}


def test_keep_correct_dedupes_and_drops_wrong():
    texts = ["<answer>2 * 3</answer>", "<answer>2 * 3</answer> x", "<answer>3 * 2</answer>", "<answer>7</answer>", "<answer>6"]
    assert keep_correct(texts, 6.0, 5) == ["<answer>2 * 3</answer>", "<answer>3 * 2</answer>"]


def test_datagen_keeps_exactly_correct_and_counts(tmp_path, setup):
    config, answers = setup
    stats = generate_data(config, StubPolicy(answers))
    data = json.loads((tmp_path / "out.json").read_text())
    assert len(data) == 20  # two distinct correct per question
    assert all(abs(parse_answer(r) - a) < 1e-9 and r.endswith("</answer>") for _, a, r in data)
    assert stats["success_rate"] == 1.0
    assert stats["acceptance_rate"] == pytest.approx(3 / 4)
    recorded = json.loads((tmp_path / "out.stats.json").read_text())
    assert recorded["entries"] == 20
    assert recorded["config"]["out"] == "out.json" and recorded["config"]["train_file"] == "train.json"


def test_datagen_with_no_question_left_is_a_clear_error(setup):
    config, answers = setup
    with pytest.raises(DataError, match="skip_questions 10 passes all 10"):
        generate_data(dataclasses.replace(config, skip_questions=10), StubPolicy(answers))


@pytest.mark.parametrize("field,value", [("oversample", 0), ("max_questions", -5), ("temperature", -1.0),
                                         ("policy", "sft")])
def test_config_refuses_values_out_of_range(field, value):
    with pytest.raises(ValueError, match=f"^{field} must be"):
        DatagenConfig(**{field: value})


def test_an_interrupted_run_resumes_with_its_own_settings_only(tmp_path, setup):
    config, answers = setup
    with pytest.raises(KeyboardInterrupt):
        generate_data(config, StubPolicy(answers, fail_after=2))
    assert not (tmp_path / "out.json").exists()
    with pytest.raises(ValueError, match="other settings"):
        generate_data(dataclasses.replace(config, oversample=2), StubPolicy(answers))
    second = StubPolicy(answers)
    generate_data(config, second)
    assert second.calls == 2  # 4 chunks, 2 were done before the interruption
    data = json.loads((tmp_path / "out.json").read_text())
    assert len(data) == len({(q, r) for q, _, r in data}) == 20


def test_datagen_shards_across_processes_and_merges(tmp_path, setup, monkeypatch):
    """Two ranks (run one after the other here) each take every second chunk; rank 0 merges."""
    config, answers = setup
    monkeypatch.setattr(datagen, "torch_barrier", lambda: None)
    calls = []
    for rank in (1, 0):
        monkeypatch.setattr(finetune, "distributed", lambda rank=rank: (2, rank))
        policy = StubPolicy(answers)
        result = generate_data(config, policy)
        calls.append(policy.calls)
        assert (result is None) == (rank == 1)
    assert calls == [2, 2]  # 4 chunks split evenly
    sharded = json.loads((tmp_path / "out.json").read_text())
    monkeypatch.setattr(finetune, "distributed", lambda: (1, 0))
    single = StubPolicy(answers)
    generate_data(dataclasses.replace(config, out=str(tmp_path / "one.json")), single)
    assert sharded == json.loads((tmp_path / "one.json").read_text())
    assert not list(tmp_path.glob("*.partial*"))
