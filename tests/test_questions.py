import collections
import filecmp
import hashlib
import json
import random
import re

import pytest

from unitlm import calc, questions, units
from unitlm.base_llm import parse_answer
from unitlm.data import Dataset, split_path


@pytest.fixture(scope="module")
def splits():
    return questions.generate_splits(1500, 300, seed=3, n_extra=300, n_data=0, n_variants=0)


def test_answers_equal_pint(splits):
    ureg = units.registry()
    checked = 0
    for example in splits["train"][:300]:
        source, target = units.BY_NAME[example.source], units.BY_NAME[example.target]
        value = units.value_in_question(example.question)
        if source.category == "temperature" or value is None or "units?" in example.question:
            continue
        expected = (ureg.Quantity(source.pint) / ureg.Quantity(target.pint)).to("dimensionless").magnitude
        assert example.answer == pytest.approx(value * expected, rel=1e-9), example
        checked += 1
    assert checked > 150


def test_gold_reasoning_evaluates_to_answer(splits):
    for split in splits.values():
        for example in split:
            assert parse_answer(example.reasoning) == pytest.approx(example.answer, rel=1e-4, abs=1e-6), example


def test_splits_disjoint_and_unseen_pairs_only_in_test_and_written(splits):
    texts = {name: {e.question for e in examples} for name, examples in splits.items()}
    names = list(texts)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not texts[a] & texts[b], (a, b)
    _, unseen = questions.split_pairs(3)
    unseen_names = {(a.name, b.name) for a, b in unseen}
    for name in ("test", "written"):
        assert sum((e.source, e.target) in unseen_names for e in splits[name]) == 300 // 5
    assert not any((e.source, e.target) in unseen_names for e in splits["train"] + splits["valid"])


def test_unseen_pairs_come_from_the_rare_tail():
    shared, unseen = questions.split_pairs(0)
    weights = sorted(questions.pair_weight(a, b) for a, b in shared + unseen if a.category != "temperature")
    cut = weights[int(len(weights) * questions.TAIL_SHARE)]
    assert unseen and all(questions.pair_weight(a, b) <= cut for a, b in unseen)
    common = {(a, b) for a, b in questions.COMMON_PAIRS} | {(b, a) for a, b in questions.COMMON_PAIRS}
    assert not any((a.name, b.name) in common for a, b in unseen)


def test_common_pairs_are_asked_more_than_rare_ones(splits):
    counts = collections.Counter((e.source, e.target) for e in splits["train"])
    assert counts[("gigabyte", "megabyte")] + counts[("megabyte", "gigabyte")] >= 5
    rare = [(a.name, b.name) for a, b in questions.all_pairs() if questions.pair_weight(a, b) == 1]
    assert sum(counts[p] for p in rare) / len(rare) < 1


def test_every_category_and_template_used_and_written_templates_held_out(splits):
    assert len(questions.TEMPLATES) >= 40 and len(questions.WRITTEN_TEMPLATES) >= 30
    assert not set(questions.TEMPLATES) & set(questions.WRITTEN_TEMPLATES)
    train = " ".join(e.question.lower() for e in splits["train"])
    for template in questions.TEMPLATES:
        head = template.split("{")[0].strip() or template.split("}")[-1].strip()
        assert head.lower() in train, template
    for template in questions.WRITTEN_TEMPLATES:  # phrases only the held-out split uses
        words = [w for w in template.split("{")[0].split() if len(w) > 3]
        if len(words) >= 2:
            assert " ".join(words[:2]).lower() not in train, template
    assert {e.category for e in splits["train"]} == {unit.category for unit in units.UNITS}  # power: shorthand alone


def test_short_forms_in_context_are_written(splits):
    text = [e.question for e in splits["train"]]
    assert any("megabyte" in (e.source, e.target) and "M" in e.question.replace("?", " ").split() for e in splits["train"])
    fluid = [e.question.lower().replace("?", " ").replace(".", " ").split() for e in splits["train"]
             if "fluid ounce" in (e.source, e.target)]
    assert any(("oz" in words or "ounces" in words or "ounce" in words) and "fluid" not in words and "fl" not in words
               for words in fluid)  # a bare "oz" beside a volume unit
    glued = [q for q in text if any(ch.isdigit() and nxt.isalpha() for ch, nxt in zip(q, q[1:]))]
    assert len(glued) > 0.03 * len(text)  # "5km", "4G"


def test_values_mix(splits):
    values = [units.value_in_question(e.question) for e in splits["train"]]
    small = sum(1 <= v <= 10 and v == int(v) for v in values if v is not None)
    assert small > 0.25 * len(values)
    assert any(v is not None and v < 1 for v in values) and any(v is not None and v >= 1000 for v in values)
    assert any(word in e.question.lower().split() for e in splits["train"] for word in questions.NUMBER_WORDS[2:])


def _appended(before: dict, after: dict):
    """(splits drawn with `before`, the train questions `after` adds) for 300 train and 60 eval questions;
    asserts that the evaluation splits and the train questions before them stay as they were."""
    without = questions.generate_splits(300, 60, seed=5, **before)
    more = questions.generate_splits(300, 60, seed=5, **after)
    for split in ("valid", "test", "written"):
        assert more[split] == without[split]
    n = len(without["train"])
    assert more["train"][:n] == without["train"]
    return without, more["train"][n:]


def test_extra_train_questions_leave_the_evaluation_splits_as_they_were():
    without, added = _appended({"n_extra": 0, "n_data": 0, "n_variants": 0},
                               {"n_extra": 200, "n_data": 0, "n_variants": 0})
    assert len(added) == 200
    assert not {e.question for e in added} & {e.question for s in ("valid", "test", "written") for e in without[s]}
    worded = lambda examples: sum(any(w in e.question.lower().split() for w in questions.NUMBER_WORDS[2:])
                                  for e in examples)
    assert worded(added) > 1.5 * worded(without["train"][:200])


def test_data_questions_come_last_with_bits_beside_bytes_in_short_forms():
    _, added = _appended({"n_extra": 100, "n_data": 0, "n_variants": 0},
                         {"n_extra": 100, "n_data": 300, "n_variants": 0})
    assert len(added) == 300
    assert {e.category for e in added} == {"data"}
    bits = {"bit", "kilobit", "megabit", "gigabit"}
    mixed = [e for e in added if (e.source in bits) != (e.target in bits)]
    assert len(mixed) > 0.3 * len(added)
    short = [e for e in mixed if re.search(r"\d ?(Kb|Mb|Gb|b|B|KB|kB|MB|GB|K|M|G)\b", e.question)]
    assert len(short) > 0.3 * len(mixed)
    assert all(e.answer == pytest.approx(units.convert(units.value_in_question(e.question), e.source, e.target))
               for e in added if units.value_in_question(e.question) is not None)


def test_variant_questions_come_last_on_every_reading_in_both_directions():
    _, added = _appended({"n_extra": 50, "n_data": 50, "n_variants": 0},
                         {"n_extra": 50, "n_data": 50, "n_variants": 400})
    assert len(added) == 400
    readings = {name for default, variants, _ in questions.AMBIGUOUS.values() for name in (default, *variants)}
    assert all(e.source in readings or e.target in readings for e in added)
    assert {e.target for e in added} >= readings and {e.source for e in added} >= readings
    to_long_tons = [e for e in added if e.target == "long ton" and e.source == "kilogram"]
    assert to_long_tons and all(e.answer == pytest.approx(units.convert(units.value_in_question(e.question),
                                                                        "kilogram", "long ton"))
                                for e in to_long_tons if units.value_in_question(e.question) is not None)


def test_ambiguous_questions_cover_default_and_named_readings():
    examples = questions.ambiguous_examples(random.Random(0), per_reading=4)
    readings = collections.Counter(r for _, r in examples)
    assert readings["default"] == 4 * len(questions.AMBIGUOUS)
    assert readings["named"] >= 4 * len(questions.AMBIGUOUS)
    tons = [e for e, r in examples if r == "default" and e.source == "ton" and "tons" in e.question]
    assert tons and all(e.answer == pytest.approx(units.convert(units.value_in_question(e.question), "ton",
                                                                e.target)) for e in tons)


def test_same_seed_same_files(tmp_path):
    a = questions.write_splits(tmp_path / "a", 200, 50, seed=1, per_reading=2)
    b = questions.write_splits(tmp_path / "b", 200, 50, seed=1, per_reading=2)
    assert set(a) == {"train", "valid", "test", "written", "ambiguous", "forms", "letters", "shorthand", "more"}
    for split in a:
        assert filecmp.cmp(a[split], b[split], shallow=False)
    assert Dataset(a["train"]).data[0][2].endswith("</answer>")
    assert len(json.loads(a["test"].read_text())) == 50
    assert questions.check_files(list(a.values())) == []


def test_typed_forms_are_the_short_ones_people_type():
    assert [questions.typed_form(units.BY_NAME[n]) for n in ("gram", "ounce", "cubic meter", "degree Celsius",
                                                              "kilobyte", "fluid ounce")] == ["g", "oz", "m3", "C", "K",
                                                                                               "oz"]
    assert questions.typed_form(units.BY_NAME["decade"]) is None


def test_forms_split_writes_everyday_pairs_as_typed_and_leaves_the_other_splits(tmp_path):
    taken = {"How many g are in 4 oz?"}
    forms = questions.forms_examples(0, 400, taken, n_values=0, n_plain=0)
    assert len(forms) == 400 and len({e.question for e in forms}) == 400 and not {e.question for e in forms} & taken
    assert "data" not in {e.category for e in forms}
    typed = [e for e in forms if (form := questions.typed_form(units.BY_NAME[e.source]))
             and re.search(rf"(?<![\w^*]){re.escape(form)}(?![\w^*])", e.question)]
    assert len(typed) > 0.4 * len(forms)
    focus = {name for group in questions.FORMS_GROUPS for name in group}
    assert sum(e.source in focus and e.target in focus for e in forms) > 0.3 * len(forms)
    assert all(e.answer == pytest.approx(units.convert(units.value_in_question(e.question), e.source, e.target))
               for e in forms if units.value_in_question(e.question) is not None and e.category != "temperature")
    assert all(e.reasoning.endswith("</answer>") for e in forms)
    a = questions.write_splits(tmp_path / "a", 200, 50, seed=1, per_reading=2, n_forms=0, n_values=0, n_plain=0)
    b = questions.write_splits(tmp_path / "b", 200, 50, seed=1, per_reading=2, n_forms=30, n_values=10, n_plain=5)
    assert len(json.loads(b["forms"].read_text())) == 45 and len(json.loads(a["forms"].read_text())) == 0
    assert all(filecmp.cmp(a[split], b[split], shallow=False) for split in a
               if split not in ("forms", "letters", "shorthand", "more"))  # the later splits leave out the forms split's questions


def test_letters_split_writes_units_as_letters_on_seen_pairs_above_absolute_zero():
    taken = {"How many F is 20 C?"}
    letters = questions.letters_examples(0, 80, taken)
    assert len(letters) == 80 and len({e.question for e in letters}) == 80 and not {e.question for e in letters} & taken
    assert [e.category for e in letters[:40]] == ["temperature"] * 40 and "data" in {e.category for e in letters[40:]}
    seen = {(a.name, b.name) for a, b in questions.split_pairs(0)[0]}
    assert all((e.source, e.target) in seen for e in letters), "the unseen holdout stays unseen"
    temperatures = [e for e in letters if e.category == "temperature"]
    assert all(units.convert(e.answer, e.target, "kelvin") >= 0 for e in temperatures)
    assert sum(bool(re.search(r"(?<![\w°])[CFK](?![\w])", e.question)) for e in temperatures) > 0.5 * len(temperatures)
    assert not [e.question for e in letters if e.category == "data" and e.question == e.question.lower()]
    assert all(e.reasoning.endswith("</answer>") for e in letters)


def test_letters_later_parts_name_the_units_read_wrong_then_say_values_and_leave_the_first_part():
    taken = {"How many g are in 4 oz?"}
    more = questions.letters_more_examples(0, 40, 30, 20, taken)
    assert len(more) == 90 and len({e.question for e in more}) == 90 and not {e.question for e in more} & taken
    focus = {name for _, names in questions.LETTERS_FOCUS.values() for name in names}
    assert all({e.source, e.target} & focus for e in more[:40])
    seen = {(a.name, b.name) for a, b in questions.split_pairs(0)[0]}
    assert all((e.source, e.target) in seen for e in more), "the unseen holdout stays unseen"
    said, plain = more[40:70], more[70:]
    assert "temperature" not in {e.category for e in said} and "data" not in {e.category for e in said}
    assert all(units.value_in_question(e.question) is None or "/" in e.question for e in said), "values as said"
    assert "data" not in {e.category for e in plain} and "temperature" in {e.category for e in plain}
    assert all(e.reasoning.endswith("</answer>") for e in more)
    first = questions.letters_examples(0, 50, set())
    assert [e.question for e in questions.letters_examples(0, 50, set())] == [e.question for e in first]


def test_shorthand_split_writes_later_units_later_forms_terse_shapes_and_commas():
    taken = {"55 hp to kW"}
    more = questions.shorthand_examples(0, taken, 30, 20, 20, 10, 10, 10, 10)
    assert len(more) == 110 and len({e.question for e in more}) == 110 and not {e.question for e in more} & taken
    later = {unit.name for unit in units.LATER_UNITS}
    assert all({e.source, e.target} & (later | set(questions.CONTRAST)) for e in more[:30])
    assert sum(bool({e.source, e.target} & later) for e in more[:30]) > 15 and not later & {u.name for u in units.UNITS}
    seen = {(a.name, b.name) for a, b in questions.split_pairs(0)[0]}
    assert all((e.source, e.target) in seen for e in more[30:]), "the unseen holdout stays unseen"

    def written_later(e):
        forms = [f for name in (e.source, e.target) for f in units.later_forms(units.BY_NAME[name])
                 + questions.case_forms(units.BY_NAME[name])]
        return any(re.search(rf"(?<![\w^*]){re.escape(f)}(?![\w^*])", e.question) for f in forms)
    assert sum(map(written_later, more[30:50])) > 10
    assert all(re.search(r"\d,\d{3}(?!\d)", e.question) for e in more[70:80])
    ounces = [e for e in more[80:90] if re.search(r"(oz|ounces?)\b", e.question, re.IGNORECASE)]
    assert len(ounces) == 10 and all(e.category == "volume" for e in ounces)
    assert not [e.question for e in more if e.category == "data" and e.question == e.question.lower()]
    for e in more:  # the gold arithmetic gives the exact answer, values with commas read whole
        expression = e.reasoning.split("<answer>")[1].split("</answer>")[0]
        assert calc.evaluate(expression) == pytest.approx(e.answer, rel=1e-4, abs=1e-9), e
    for e in more[70:80]:
        assert e.answer == pytest.approx(units.convert(units.value_in_question(e.question), e.source, e.target))
    held_out = {t.rstrip("?.! ") for t in questions.WRITTEN_TEMPLATES}
    trained = {t.rstrip("?.! ") for t in questions.TEMPLATES}
    new = {t.rstrip("?.! ") for t in questions.TERSE_TEMPLATES} - trained
    assert not any(w.startswith(t) for t in new for w in held_out), "the written split's templates stay held out"


def test_more_split_writes_the_units_added_after_the_shorthand_split_and_leaves_the_others():
    taken = {"30 deg to rad"}
    more = questions.more_examples(0, taken, 60, 20)
    assert len(more) == 80 and len({e.question for e in more}) == 80 and not {e.question for e in more} & taken
    added, contrast = {u.name for u in units.MORE_UNITS}, {u.name for u in units.SHORTHAND_UNITS}
    assert not added & contrast
    new = [e for e in more[:60] if {e.source, e.target} & added]
    assert len(new) > 0.6 * 60 and all({e.source, e.target} <= contrast for e in more[:60] if e not in new)
    assert {"angle", "force", "data rate"} <= {e.category for e in new}
    assert all({e.source, e.target} & {u.name for u in units.LATER_UNITS} for e in more[60:])
    for e in more:  # the gold arithmetic gives the exact answer; no question lower-cased where that changes a unit
        expression = e.reasoning.split("<answer>")[1].split("</answer>")[0]
        assert calc.evaluate(expression) == pytest.approx(e.answer, rel=1e-4, abs=1e-9), e
        assert not (e.category in questions.MORE_CASED and e.question == e.question.lower()), e
    light = questions.more_examples(0, set(), 400, 0)
    assert [e for e in light if "light year" in (e.source, e.target) and e.answer > 1e10], "answers past 1e10 count"


def test_lookup_reads_every_added_unit_and_form_and_each_case_form_names_its_unit():
    for unit in units.MORE_UNITS:
        assert all(units.lookup(form, unit.category) is unit for form in unit.forms)
        assert all(units.lookup(form) is unit for form in unit.forms), unit.name
    assert units.lookup("mW").name == "milliwatt" and units.lookup("MW").name == "megawatt"
    assert units.lookup("Mbps").name == "megabit per second" and units.lookup("MBps").name == "megabyte per second"
    assert units.convert(1, "ly", "km") == pytest.approx(9.4607e12, rel=1e-4)
    assert units.convert(60, "rpm", "Hz") == pytest.approx(1) and units.convert(100, "Mbps", "MB/s") == pytest.approx(12.5)
    assert units.convert(180, "deg", "rad") == pytest.approx(3.14159265) and units.convert(1, "lbf", "N") == pytest.approx(4.448222)
    for unit in units.LATER_UNITS:
        assert all(units.lookup(form, unit.category) is unit for form in unit.forms)
    for unit in units.SHORTHAND_UNITS:  # the units the shorthand split writes, in their other cases among them
        for form in units.later_forms(unit) + questions.case_forms(unit):
            assert units.lookup(form, unit.category) is unit, (form, unit.name)
    for unit in units.ALL_UNITS:
        for form in questions.case_forms(unit, units.ALL_UNITS):
            assert units.lookup(form, unit.category) is unit, (form, unit.name)
    assert units.lookup("c", "volume").name == "cup" and units.lookup("c").name == "degree Celsius"
    assert "mb" not in questions.case_forms(units.BY_NAME["megabit"])
    assert units.convert(1, "hp", "W") == pytest.approx(745.69987) and units.convert(1, "TiB", "GB") == pytest.approx(1099.511627776)


def test_shipped_splits_are_what_the_generator_writes(tmp_path):
    """Units and forms added later leave the splits the shipped adapters trained on byte for byte."""
    paths = questions.write_splits(tmp_path)
    assert all(filecmp.cmp(path, split_path(split), shallow=False) for split, path in paths.items())
    assert all(filecmp.cmp(path.with_suffix(".tags.json"), split_path(split).with_suffix(".tags.json"), shallow=False)
               for split, path in paths.items())


def test_shipped_sft_adapter_trained_on_the_letters_splits_first_part():
    """SFT's last round reads the first part of the letters split alone (recipes/full.toml's max_examples), from the
    split as shipped."""
    from unitlm import finetune
    from unitlm.data import file_hash, split_path

    metadata = json.loads((finetune.PACKAGE_DIR / "sft_model" / finetune.METADATA).read_text())
    assert metadata["config"]["max_examples"] == questions.N_LETTERS
    assert metadata["train_file"].endswith("letters") and metadata["train_file_sha256"] == file_hash(split_path("letters"))


def test_spoken_values_say_the_value_the_reasoning_computes_with():
    rng = random.Random(0)
    for _ in range(500):
        value, written, in_reasoning, _ = questions.spoken_value(rng)
        assert calc.evaluate(in_reasoning) == pytest.approx(value, rel=1e-5)  # 6 significant digits
        if re.fullmatch(r"\d+([ -]\d+)?/\d+", written):  # "3/4", "1 1/2", "1-1/2"
            assert calc.evaluate(re.sub(r"[ -]", "+", written)) == pytest.approx(value)
    forms = questions.forms_examples(0, 0, set(), n_values=300, n_plain=0)
    assert len(forms) == 300 and "temperature" not in {e.category for e in forms}
    assert sum("/" in e.question for e in forms) > 60 and sum(" half " in f" {e.question.lower()} " for e in forms) > 5
    for e in forms:  # the gold arithmetic gives the exact answer
        expression = e.reasoning.split("<answer>")[1].split("</answer>")[0]
        assert calc.evaluate(expression) == pytest.approx(e.answer, rel=1e-4)


def test_plain_values_are_written_as_typed_and_computed_exactly():
    forms = questions.forms_examples(0, 0, set(), n_values=0, n_plain=300)
    assert len(forms) == 300
    one = [e for e in forms if re.search(r"\ban? [^\d\s]", e.question) and e.category != "temperature"
           and e.answer == pytest.approx(units.convert(1, e.source, e.target))]
    dots = [e for e in forms if re.search(r"(?<![\d.])\.\d", e.question)]
    zeros = [e for e in forms if e.category == "temperature" and re.search(r"(?<![\d.])0(?![\d.,])", e.question)]
    assert len(one) > 40 and len(dots) > 40 and len(zeros) > 5
    assert all(re.search(r"\bin an? ", e.question, re.IGNORECASE) for e in one)  # "in a day", never "Convert a day"
    assert sum(re.search(r"\d,\d{3},\d{3}", e.question) is not None for e in forms) > 5
    assert not [e.question for e in forms if re.search(r"\ba hours?\b", e.question, re.IGNORECASE)]  # "an hour"
    for e in forms:  # the gold arithmetic gives the exact answer, and ".25" is read as 0.25
        expression = e.reasoning.split("<answer>")[1].split("</answer>")[0]
        assert calc.evaluate(expression) == pytest.approx(e.answer, rel=1e-4, abs=1e-9)
    for e in dots:
        assert e.answer == pytest.approx(units.convert(units.value_in_question(e.question), e.source, e.target))


def test_check_files_reports_overlap(tmp_path):
    (tmp_path / "x.json").write_text(json.dumps([["q1", 1], ["q2", 2], ["q2", 2]]))
    (tmp_path / "y.json").write_text(json.dumps([["q1", 1]]))
    problems = questions.check_files([tmp_path / "x.json", tmp_path / "y.json"])
    assert any("duplicate" in p for p in problems) and any("overlap" in p for p in problems)


def test_check_command_exit_code(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps([["q", 1]]))
    (tmp_path / "b.json").write_text(json.dumps([["q", 1]]))
    assert questions.main(["check", str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 1


def test_generate_rejects_a_bad_count(capsys):
    with pytest.raises(SystemExit):
        questions.main(["generate", "--n", "-5"])
    assert "must be at least 1" in capsys.readouterr().err


def test_shipped_splits_are_clean_and_tagged():
    names = ("train", "valid", "test", "written", "ambiguous", "forms", "letters", "shorthand", "more")
    assert questions.check_files([split_path(s) for s in names]) == []
    for name in names:
        dataset = Dataset(name)
        assert dataset.tags is not None and len(dataset.tags) == len(dataset)
    assert {t["reading"] for t in Dataset("ambiguous").tags} == {"default", "named"}


def test_extra_train_questions_lean_on_hard_units_and_carry_train_only_slips():
    without = questions.generate_splits(300, 60, seed=5, n_extra=0)
    extra = questions.generate_splits(300, 60, seed=5, n_extra=600, reserved={"How many liters are in 2 pints?"})
    added, before = extra["train"][300:], without["train"][:300]
    hard = lambda examples: sum(questions.is_hard(units.BY_NAME[e.source]) or questions.is_hard(units.BY_NAME[e.target])
                                for e in examples) / len(examples)
    assert hard(added) > hard(before) + 0.1
    floz = [e for e in added if "fluid ounce" in (e.source, e.target)]
    bare = [e for e in floz if "fl" not in e.question.lower()]
    assert floz and len(bare) >= 0.3 * len(floz)
    assert "How many liters are in 2 pints?" not in {e.question for e in added}
    # a slip makes a word that no template, number word or unit form has; unslipped questions have none
    words = lambda text: re.findall(r"[A-Za-z']+", text.lower())
    vocab = {w for t in questions.TEMPLATES for w in words(t)} | set(questions.NUMBER_WORDS) | {"a", "an"}
    vocab |= {w for u in units.UNITS for f in u.forms + u.context for w in words(f)}
    slipped = [e for e in added if not set(words(e.question)) <= vocab]
    assert 0.15 < len(slipped) / len(added) < 0.35
    assert all(set(words(e.question)) <= vocab for e in extra["train"][:300])


@pytest.mark.parametrize("seed", range(20))
def test_train_slips_double_a_letter_or_hit_a_neighbouring_key(seed):
    text = "Please convert 5 km into miles"
    slipped = questions._slip(random.Random(seed), text, {"km", "miles"})
    changed = [(a, b) for a, b in zip(text.split(), slipped.split()) if a != b]
    assert len(changed) == 1
    word, typed = changed[0]
    assert word in ("Please", "convert", "into")
    if len(typed) == len(word) + 1:  # doubled: dropping one letter gives the word back
        assert any(typed[:k] + typed[k + 1:] == word and typed[k] == typed[k - 1] for k in range(1, len(typed)))
    else:  # one letter replaced by a key beside it
        assert len(typed) == len(word)
        (a, b), = [(x, y) for x, y in zip(word, typed) if x != y]
        assert b in questions._NEIGHBOURS[a.lower()]
