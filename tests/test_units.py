import pytest

from unitlm import units
from unitlm.base_llm import parse_answer


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


@pytest.mark.parametrize(
    "form,category,name",
    [("G", "data", "gigabyte"), ("M", "data", "megabyte"), ("K", "data", "kilobyte"), ("T", "data", "terabyte"),
     ("K", "temperature", "kelvin"), ("m", "time", "minute"), ("m", "length", "meter"), ("oz", "volume", "fluid ounce"),
     ("ounces", "volume", "fluid ounce"), ("oz", "mass", "ounce"), ("B", "data", "byte"), ("b", "data", "bit"),
     ("mb", "data", "megabyte"), ("Mb", "data", "megabit"), ("hrs", "time", "hour"), ("cc", "volume", "cubic centimeter")],
)
def test_short_forms_read_by_the_other_units_category(form, category, name):
    assert units.lookup(form, category).name == name


def test_context_forms_need_the_category():
    assert units.lookup("K").name == "kelvin"  # alone, K is the temperature unit
    assert units.lookup("T").name == "metric ton"  # alone, T folds to t (tonne)
    assert units.lookup("T", "data").name == "terabyte"


@pytest.mark.parametrize(
    "word,variant,other",
    [("ton", "metric ton", "kilogram"), ("ton", "long ton", "kilogram"), ("gallon", "imperial gallon", "liter"),
     ("pint", "imperial pint", "liter"), ("quart", "imperial quart", "liter"), ("cup", "metric cup", "liter"),
     ("fluid ounce", "imperial fluid ounce", "liter"), ("ounce", "troy ounce", "gram")],
)
def test_ambiguous_default_differs_from_named_variant(word, variant, other):
    default, named = units.convert(1, word, other), units.convert(1, variant, other)
    assert abs(default - named) / named > 0.04  # far enough apart that a 5% tolerance tells them apart


def test_defaults_are_us_customary():
    assert units.convert(1, "ton", "kilogram") == pytest.approx(907.18474)
    assert units.convert(1, "gallon", "liter") == pytest.approx(3.785411784)
    assert units.convert(1, "imperial gallon", "liter") == pytest.approx(4.54609)
    assert units.convert(1, "metric cup", "milliliter") == pytest.approx(250)


def test_reasoning_states_the_reading_of_an_ambiguous_word():
    text = units.reasoning(2, units.BY_NAME["ton"], units.BY_NAME["kilogram"])
    assert text.startswith("1 ton (US short) = 907185 gram.")
    assert parse_answer(text) == pytest.approx(1814.37, rel=1e-4)
    assert "(" not in units.reasoning(2, units.BY_NAME["metric ton"], units.BY_NAME["kilogram"]).split("<")[0]
