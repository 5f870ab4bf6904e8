"""data.py: datasets and their checks, the scoring rule, the benchmark on a stub model, atomic JSON writes."""

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from unitlm import data
from unitlm.data import DataError, Dataset, benchmark, is_answer_valid


@pytest.mark.parametrize(
    "content,fragment",
    [
        (b"", "not a JSON file"),
        (b"not json", "not a JSON file"),
        (b"\xff\xfe\x00garbage", "not a JSON file"),
        (b'{"a": 1}', "expected a JSON list"),
        (b'["just a string"]', "entry 0"),
        (b'[{"question": "q", "answer": 1}]', "entry 0"),
        (b'[["q", 1], ["q2"]]', "entry 1"),
        (b'[["q", "ten"]]', "entry 0"),
        (b'[["q", true]]', "entry 0"),
        (b'[["q", null]]', "entry 0"),
        (b'[["q", NaN]]', "entry 0"),
        (b'[["q", Infinity]]', "entry 0"),
        (b'[["ok", 1], ["q", -Infinity]]', "entry 1"),
        (b'[[5, 1]]', "entry 0"),
        (b'[["   ", 1]]', "entry 0"),
        (b'[["q", 1, "why", "extra"]]', "entry 0"),
        (b'[["q", 1, 5]]', "entry 0"),
    ],
)
def test_malformed_files_name_file_and_entry(tmp_path, content, fragment):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(DataError, match=fragment) as error:
        Dataset(path)
    assert str(path) in str(error.value)


@pytest.mark.parametrize("name", ["nope.json", "."])
def test_missing_file_or_a_folder_is_not_a_data_file(tmp_path, name):
    with pytest.raises(DataError, match="no such data file"):
        Dataset(tmp_path / name)


def test_broken_tags_sidecar_is_clear_error(tmp_path):
    path = tmp_path / "d.json"
    path.write_text(json.dumps([["q", 1]]))
    (tmp_path / "d.tags.json").write_text("{not json")
    with pytest.raises(DataError, match="d.tags.json"):
        Dataset(path)


def test_benchmark_arithmetic_with_stub(tmp_path, stub_model):
    path = tmp_path / "d.json"
    path.write_text(json.dumps([["q1", 10], ["q2", 20], ["q3", 30], ["q4", 40]]))
    model = stub_model({"q1": "<answer>10</answer>", "q2": "<answer>20.5</answer>", "q3": "<answer>99</answer>"})
    result = benchmark(model, Dataset(path), 4)
    assert result.accuracy == pytest.approx(0.5)
    assert result.answer_rate == pytest.approx(0.75)
    assert [s.is_correct for s in result.samples] == [True, True, False, False]
    assert benchmark(model, Dataset(path), 2).accuracy == 1.0
    with pytest.raises(ValueError, match="max_question must be at least 1"):
        benchmark(model, Dataset(path), -5)


def test_low_answer_rate_shouts(tmp_path, stub_model, capsys):
    path = tmp_path / "d.json"
    path.write_text(json.dumps([["q1", 10], ["q2", 20]]))
    with pytest.warns(UserWarning, match="does not match"):
        result = benchmark(stub_model({}), Dataset(path))
    assert result.answer_rate == 0
    assert "WARNING" in capsys.readouterr().err


def test_breakdown_by_category(stub_model):
    dataset = Dataset("valid")
    first = dataset.data[:3]
    model = stub_model({q: f"<answer>{a}</answer>" for q, a, *_ in first})
    result = benchmark(model, dataset, 3)
    assert result.accuracy == 1.0 and result.answer_rate == 1.0
    categories = {tag["category"] for tag in dataset.tags[:3]}
    assert {name.removeprefix("category/") for name in result.by_group if name.startswith("category/")} == categories


def test_benchmark_warns_when_questions_were_trained_on(tmp_path, stub_model):
    train = tmp_path / "train.json"
    train.write_text(json.dumps([["q1", 10], ["q9", 90]]))
    evaluated = tmp_path / "eval.json"
    evaluated.write_text(json.dumps([["q1", 10], ["q2", 20]]))
    model = stub_model({"q1": "<answer>10</answer>", "q2": "<answer>20</answer>"})
    model.metadata = {"train_file": str(train), "train_file_sha256": data.file_hash(train)}
    with pytest.warns(UserWarning, match="1 of 2 evaluated questions are in the adapter's train file"):
        benchmark(model, Dataset(evaluated))


def test_leakage_check_reads_the_train_file_relative_to_the_adapters_run(tmp_path, stub_model, monkeypatch):
    """Metadata names a run's data file relative to the run folder, which holds the adapter folder."""
    run = tmp_path / "run"
    (run / "sft_model").mkdir(parents=True)
    (run / "data.json").write_text(json.dumps([["q1", 10]]))
    model = stub_model({"q1": "<answer>10</answer>"})
    model.metadata = {"train_file": "data.json", "train_file_sha256": data.file_hash(run / "data.json")}
    model.adapter_dir = run / "sft_model"
    monkeypatch.chdir(tmp_path)
    with pytest.warns(UserWarning, match="1 of 1 evaluated questions"):
        benchmark(model, Dataset(run / "data.json"))


def test_source_name_is_relative_to_the_run_folder(tmp_path):
    assert data.source_name("valid", tmp_path) == "valid"
    assert data.source_name(tmp_path / "run" / "d.json", tmp_path / "run") == "d.json"
    assert data.source_name(tmp_path / "course" / "t.json", tmp_path / "run") == "../course/t.json"


def test_is_answer_valid_rules():
    assert is_answer_valid(6000, 6000)
    assert is_answer_valid(6290, 6000)
    assert not is_answer_valid(6310, 6000)
    assert is_answer_valid(0.0004, 0.0)
    assert not is_answer_valid(0.01, 0.0)
    assert not is_answer_valid(float("inf"), float("inf"))
    assert not is_answer_valid(float("nan"), 1.0)
    assert not is_answer_valid("six", 6.0) and not is_answer_valid(None, 6.0)


@given(st.one_of(st.floats(), st.integers()), st.one_of(st.floats(), st.integers()))
def test_is_answer_valid_never_raises_and_nan_never_valid(a, b):
    result = is_answer_valid(a, b)
    assert result in (True, False)
    if math.isnan(float(a)) or math.isnan(float(b)):
        assert result is False


@given(st.floats(min_value=1, max_value=1e6), st.floats(min_value=0.9, max_value=1.1))
def test_is_answer_valid_scales_symmetrically(correct, ratio):
    """Relative tolerance: scaling both sides by 10 keeps the verdict (away from the 3-decimal floor)."""
    assert is_answer_valid(correct * ratio, correct) == is_answer_valid(10 * correct * ratio, 10 * correct) or (
        abs(abs(ratio - 1) - 0.05) < 1e-3
    )


@pytest.mark.parametrize("error", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_write_json_atomic_keeps_old_file(tmp_path, monkeypatch, error):
    path = tmp_path / "d.json"
    data.write_json_atomic(path, [["old", 1]])

    def broken_dump(value, handle, **kwargs):
        handle.write('[["new", ')
        raise error

    monkeypatch.setattr(data.json, "dump", broken_dump)
    with pytest.raises(type(error)):
        data.write_json_atomic(path, [["new", 2]])
    monkeypatch.undo()
    assert json.loads(path.read_text()) == [["old", 1]]
    assert [p.name for p in tmp_path.iterdir()] == ["d.json"], "a temporary file was left behind"
