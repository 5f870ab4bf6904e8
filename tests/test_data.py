import json
import math

import pytest

from unitlm import data
from unitlm.data import DataError, Dataset, benchmark


def test_shipped_splits_load():
    for split in data.SPLITS:
        dataset = Dataset(split)
        assert len(dataset) >= 500
        assert dataset.tags is not None and len(dataset.tags) == len(dataset)


def test_benchmark_arithmetic_with_stub(tmp_path, stub_model):
    path = tmp_path / "d.json"
    path.write_text(json.dumps([["q1", 10], ["q2", 20], ["q3", 30], ["q4", 40]]))
    model = stub_model({"q1": "<answer>10</answer>", "q2": "<answer>20.5</answer>", "q3": "<answer>99</answer>"})
    result = benchmark(model, Dataset(path), 4)
    assert result.accuracy == pytest.approx(0.5)
    assert result.answer_rate == pytest.approx(0.75)
    assert [s.is_correct for s in result.samples] == [True, True, False, False]
    assert benchmark(model, Dataset(path), 2).accuracy == 1.0


def test_low_answer_rate_shouts(tmp_path, stub_model, capsys):
    path = tmp_path / "d.json"
    path.write_text(json.dumps([["q1", 10], ["q2", 20]]))
    with pytest.warns(UserWarning, match="does not match"):
        result = benchmark(stub_model({}), Dataset(path))
    assert result.answer_rate == 0
    assert "WARNING" in capsys.readouterr().err


@pytest.mark.parametrize(
    "content,fragment",
    [
        ("not json", "not a JSON file"),
        ('{"a": 1}', "expected a JSON list"),
        ('[["q", 1], ["q2"]]', "entry 1"),
        ('[["q", "ten"]]', "entry 0"),
        ('[["q", NaN]]', "entry 0"),
        ('[[5, 1]]', "entry 0"),
    ],
)
def test_malformed_files_name_file_and_entry(tmp_path, content, fragment):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(DataError, match=fragment) as error:
        Dataset(path)
    assert str(path) in str(error.value)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such data file"):
        Dataset(tmp_path / "nope.json")


def test_breakdown_by_category(stub_model):
    dataset = Dataset("valid")
    first = dataset.data[:3]
    model = stub_model({q: f"<answer>{a}</answer>" for q, a in first})
    result = benchmark(model, dataset, 3)
    assert result.accuracy == 1.0
    assert any(name.startswith("category/") for name in result.by_group)
    assert not math.isnan(result.answer_rate)


def test_benchmark_warns_when_questions_were_trained_on(tmp_path, stub_model):
    train = tmp_path / "train.json"
    train.write_text(json.dumps([["q1", 10], ["q9", 90]]))
    evaluated = tmp_path / "eval.json"
    evaluated.write_text(json.dumps([["q1", 10], ["q2", 20]]))
    model = stub_model({"q1": "<answer>10</answer>", "q2": "<answer>20</answer>"})
    model.metadata = {"train_file": str(train), "train_file_sha256": data.file_hash(train)}
    with pytest.warns(UserWarning, match="1 of 2 evaluated questions are in the adapter's train file"):
        benchmark(model, Dataset(evaluated))


def test_units_check_command_reports_overlap(tmp_path, capsys):
    from unitlm import units

    (tmp_path / "a.json").write_text(json.dumps([["q1", 1]]))
    (tmp_path / "b.json").write_text(json.dumps([["q1", 1]]))
    assert units.main(["check", str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 1
    assert "overlap" in capsys.readouterr().out
