import filecmp
import json

import pytest

from unitlm import units
from unitlm.base_llm import parse_answer
from unitlm.data import Dataset


@pytest.fixture(scope="module")
def splits():
    return units.generate_splits(1500, 300, seed=3)


def test_answers_equal_pint(splits):
    ureg = units.registry()
    for example in splits["train"][:300]:
        source, target = units.BY_NAME[example.source], units.BY_NAME[example.target]
        value = units.value_in_question(example.question) if "units?" not in example.question else None
        if source.category == "temperature":
            continue
        expected = (ureg.Quantity(source.pint) / ureg.Quantity(target.pint)).to("dimensionless").magnitude
        if value:
            assert example.answer == pytest.approx(value * expected, rel=1e-9), example


def test_gold_reasoning_evaluates_to_answer(splits):
    for split in splits.values():
        for example in split:
            assert parse_answer(example.reasoning) == pytest.approx(example.answer, rel=1e-4, abs=1e-6), example


@pytest.mark.parametrize(
    "value,source,target,expected",
    [(100, "°C", "°F", 212), (32, "F", "C", 0), (0, "K", "C", -273.15), (-40, "Fahrenheit", "Celsius", -40),
     (300, "kelvin", "degrees Fahrenheit", 80.33)],
)
def test_temperature_is_offset_not_factor(value, source, target, expected):
    assert units.convert(value, source, target) == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize(
    "form,name",
    [("m**3", "cubic meter"), ("m^3", "cubic meter"), ("cm^3", "cubic centimeter"), ("km/h", "kilometer per hour"),
     ("kmh", "kilometer per hour"), ("mi/h", "mile per hour"), ("metric ton", "metric ton"), ("tonne", "metric ton"),
     ("kB", "kilobyte"), ("KB", "kilobyte"), ("G", "gigabyte"), ("l", "liter"), ("L", "liter"), ("litre", "liter"),
     ("mL", "milliliter"), ("feet", "foot"), ("centuries", "century"), ("KiB", "kibibyte"), ("Kilometres", "kilometer")],
)
def test_surface_forms(form, name):
    assert units.lookup(form).name == name


def test_decade_is_ten_years():
    assert units.convert(1, "decade", "year") == pytest.approx(10)
    assert units.convert(4, "centuries", "week") == pytest.approx(400 * 365.25 / 7)


def test_unknown_unit_is_clear_error():
    with pytest.raises(units.UnknownUnit, match="unknown unit 'furlongz'"):
        units.convert(1, "furlongz", "meter")
    with pytest.raises(units.UnknownUnit, match="cannot convert"):
        units.convert(1, "meter", "gram")


def test_splits_disjoint_and_test_has_unseen_pairs(splits):
    texts = {name: {e.question for e in examples} for name, examples in splits.items()}
    assert not texts["train"] & texts["valid"]
    assert not texts["train"] & texts["test"]
    assert not texts["valid"] & texts["test"]
    _, unseen = units.split_pairs(3)
    unseen_names = {(a.name, b.name) for a, b in unseen}
    assert any((e.source, e.target) in unseen_names for e in splits["test"])
    assert not any((e.source, e.target) in unseen_names for e in splits["train"] + splits["valid"])


def test_every_template_and_category_used(splits):
    assert len(units.TEMPLATES) >= 40
    questions = [e.question for e in splits["train"]]
    for template in units.TEMPLATES:
        head = template.split("{")[0].strip() or template.split("}")[-1].strip()
        assert any(head.lower() in q.lower() for q in questions), template
    assert {e.category for e in splits["train"]} == set(units.CATEGORIES)


def test_values_mix(splits):
    values = [units.value_in_question(e.question) for e in splits["train"]]
    small = sum(1 <= v <= 10 and v == int(v) for v in values if v is not None)
    assert small > 0.3 * len(values)
    assert any(v is not None and v < 1 for v in values) and any(v is not None and v >= 1000 for v in values)


def test_same_seed_same_files(tmp_path):
    a = units.write_splits(tmp_path / "a", 200, 50, seed=1)
    b = units.write_splits(tmp_path / "b", 200, 50, seed=1)
    for split in a:
        assert filecmp.cmp(a[split], b[split], shallow=False)
    assert Dataset(a["train"]).data[0][2].endswith("</answer>")
    assert len(json.loads(a["test"].read_text())) == 50


def test_check_files_reports_overlap(tmp_path):
    (tmp_path / "x.json").write_text(json.dumps([["q1", 1], ["q2", 2], ["q2", 2]]))
    (tmp_path / "y.json").write_text(json.dumps([["q1", 1]]))
    problems = units.check_files([tmp_path / "x.json", tmp_path / "y.json"])
    assert any("duplicate" in p for p in problems) and any("overlap" in p for p in problems)


def test_shipped_splits_are_clean():
    from unitlm.data import split_path

    assert units.check_files([split_path(s) for s in ("train", "valid", "test")]) == []
