import json

import pytest

from unitlm import datagen, finetune, rft
from unitlm.base_llm import format_example, parse_answer
from unitlm.datagen import DatagenConfig, generate_data, keep_correct


class StubPolicy:
    """Canned samples per question: for answer A, two correct variants, a duplicate and a wrong one."""

    def __init__(self, fail_after=None):
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
def train_file(tmp_path):
    entries = [[f"q{i}", float(i + 1), "gold"] for i in range(10)]
    path = tmp_path / "train.json"
    path.write_text(json.dumps(entries))
    return path, {e[0]: e[1] for e in entries}


def test_keep_correct_dedupes_and_drops_wrong():
    texts = ["<answer>2 * 3</answer>", "<answer>2 * 3</answer> x", "<answer>3 * 2</answer>", "<answer>7</answer>", "<answer>6"]
    assert keep_correct(texts, 6.0, 5) == ["<answer>2 * 3</answer>", "<answer>3 * 2</answer>"]


def test_datagen_keeps_exactly_correct_and_counts(tmp_path, train_file):
    path, answers = train_file
    policy = StubPolicy()
    policy.answers = answers
    config = DatagenConfig(out=str(tmp_path / "out.json"), train_file=str(path), oversample=4, chunk=3, max_questions=None)
    stats = generate_data(config, policy)
    data = json.loads((tmp_path / "out.json").read_text())
    assert len(data) == 20  # two distinct correct per question
    assert all(abs(parse_answer(r) - a) < 1e-9 and r.endswith("</answer>") for _, a, r in data)
    assert stats["success_rate"] == 1.0
    assert stats["acceptance_rate"] == pytest.approx(3 / 4)
    assert json.loads((tmp_path / "out.stats.json").read_text())["entries"] == 20


def test_datagen_resumes_without_duplicates(tmp_path, train_file):
    path, answers = train_file
    config = DatagenConfig(out=str(tmp_path / "out.json"), train_file=str(path), oversample=4, chunk=3, max_questions=None)
    first = StubPolicy(fail_after=2)
    first.answers = answers
    with pytest.raises(KeyboardInterrupt):
        generate_data(config, first)
    assert not (tmp_path / "out.json").exists()
    second = StubPolicy()
    second.answers = answers
    generate_data(config, second)
    assert second.calls == 2  # 4 chunks, 2 were done before the interruption
    data = json.loads((tmp_path / "out.json").read_text())
    assert len(data) == len({(q, r) for q, _, r in data}) == 20


def test_rft_prompt_is_prefix_of_training_text():
    reasoning = "1 gallon = 3.78541 liter. <answer>5 * 3.78541</answer>"
    question = "Convert 5 gallons to liters."
    pairs = rft.reasoning_pairs([[question, 18.9, reasoning]])
    assert format_example(question, pairs[0][1]).startswith(rft.RFTModel.format_prompt(None, question))


def test_rft_save_load_round_trip(tiny_model_dir, tmp_path):
    data = tmp_path / "d.json"
    data.write_text(json.dumps([[f"Convert {i} km to m.", i * 1000.0, f"1 kilometer = 1000 meter. <answer>{i} * 1000</answer>"] for i in range(1, 9)]))
    out = tmp_path / "rft_model"
    config = rft.RFTConfig(model=tiny_model_dir, data_file=str(data), output_dir=str(out), epochs=1, batch_size=4)
    finetune.train_adapter(rft.reasoning_pairs(json.loads(data.read_text())), out, config, {"stage": "rft"})
    model = rft.load(out, model=tiny_model_dir)
    assert model.metadata["stage"] == "rft"
    assert len(model.answer("Convert 2 km to m.")) == 1
    with pytest.raises(finetune.AdapterError, match="rft train"):
        rft.load(tmp_path / "none", model=tiny_model_dir)


def test_datagen_refuses_to_resume_other_settings(tmp_path, train_file):
    path, answers = train_file
    config = DatagenConfig(out=str(tmp_path / "out.json"), train_file=str(path), oversample=4, chunk=3, max_questions=None)
    first = StubPolicy(fail_after=1)
    first.answers = answers
    with pytest.raises(KeyboardInterrupt):
        generate_data(config, first)
    other = StubPolicy()
    other.answers = answers
    config.oversample = 2
    with pytest.raises(ValueError, match="other settings"):
        generate_data(config, other)


def test_next_round_continues_previous_adapter(tiny_model_dir, tmp_path):
    import torch
    from safetensors.torch import load_file

    pairs = [(f"Convert {i} km to m.", f"1 kilometer = 1000 meter. <answer>{i} * 1000</answer>") for i in range(1, 9)]
    round0 = tmp_path / "round0"
    finetune.train_adapter(pairs, round0, finetune.TrainConfig(model=tiny_model_dir, epochs=1, batch_size=4), {"stage": "rft"})
    config = finetune.TrainConfig(model=tiny_model_dir, epochs=0.01, batch_size=1, learning_rate=1e-12,
                                  init_adapter=str(round0))
    finetune.train_adapter(pairs, tmp_path / "round1", config, {"stage": "rft"})
    before = load_file(round0 / "adapter_model.safetensors")
    after = load_file(tmp_path / "round1" / "adapter_model.safetensors")
    assert before.keys() == after.keys()
    assert all(torch.allclose(before[k], after[k], atol=1e-6) for k in before), "round 1 did not start from round 0"
    assert any(v.abs().sum() > 0 for k, v in before.items() if "lora_B" in k)


def test_datagen_shards_across_processes_and_merges(tmp_path, train_file, monkeypatch):
    """Two ranks (run one after the other here) each take every second chunk; rank 0 merges."""
    path, answers = train_file
    config = DatagenConfig(out=str(tmp_path / "out.json"), train_file=str(path), oversample=4, chunk=3, max_questions=None)
    monkeypatch.setattr(datagen, "torch_barrier", lambda: None)
    calls = []
    for rank in (1, 0):
        monkeypatch.setattr(finetune, "distributed", lambda rank=rank: (2, rank))
        policy = StubPolicy()
        policy.answers = answers
        result = generate_data(config, policy)
        calls.append(policy.calls)
        assert (result is None) == (rank == 1)
    assert calls == [2, 2]  # 4 chunks split evenly
    sharded = json.loads((tmp_path / "out.json").read_text())
    monkeypatch.setattr(finetune, "distributed", lambda: (1, 0))
    single = StubPolicy()
    single.answers = answers
    generate_data(DatagenConfig(**{**config.__dict__, "out": str(tmp_path / "one.json")}), single)
    assert sharded == json.loads((tmp_path / "one.json").read_text())
    assert not list(tmp_path.glob("*.partial*"))
