"""The question generator: splits of unit-conversion questions with exact answers.

    unitlm data generate                    # every split (train, valid, test, written, ...) into src/unitlm/splits
    unitlm data check runs/my_train.json src/unitlm/splits/test.json

What it draws follows how people ask:

- Unit pairs are weighted by how often people convert them (`POPULARITY`, `COMMON_PAIRS`),
  with a share drawn uniformly so that rare pairs are still seen. The pairs held out for
  the test split's unseen part come from the rare tail only.
- Units are written the way people type them: abbreviations and symbols, short forms
  that only the other unit explains ("4 G" beside MB), digits glued to the unit ("5km"),
  small numbers as words, lower case, a dropped question mark.
- `TEMPLATES` phrase the train, valid and test questions. `WRITTEN_TEMPLATES`, written
  independently with other verbs, orders and slips, phrase only the `written` split, so
  it measures phrasings no training question used.
- `ambiguous` holds questions on words with several meanings (ton, ounce, gallon, pint,
  quart, cup), asked with the bare word (the stated default: US customary, the fluid
  ounce in a volume question) and with a named variant ("metric ton", "imperial gallon").
- `forms` (with gold reasoning, like train) holds everyday pairs written the way people type
  them ("4 oz in g", "m3", "30 C to F") and values as people say them ("3/4 cup", "half a
  gallon"), for a last training round of each adapter (`forms_examples`).
- `letters` (with gold reasoning) holds units written as letters whose meaning the other
  unit settles ("20 C to F", "10 K to M"), for the last round of each adapter (`letters_examples`),
  then, for RFT's alone, units read as another of their kind ("2 mg to oz") and values as people
  say them (`letters_more_examples`).
"""

import argparse
import itertools
import random
from dataclasses import dataclass
from pathlib import Path

from .options import checked
from .units import (ALL_UNITS, BY_NAME, LATER_UNITS, MORE_UNITS, SHORTHAND_UNITS, UNITS, Unit, convert, later_forms,
                    number, reasoning)

# How often people convert in each category, and how common each unit is in everyday use
# (cooking, travel, weather, fitness, shopping, computing), on a 1-5 scale. These are
# stated judgements of everyday use, not counts from query logs; docs/method.md says so.
CATEGORY_WEIGHT = {"length": 20, "mass": 16, "volume": 14, "temperature": 6, "time": 10, "data": 11,
                   "speed": 7, "area": 6, "energy": 4, "pressure": 3}
POPULARITY = {
    "millimeter": 3, "centimeter": 5, "meter": 5, "kilometer": 5, "inch": 5, "foot": 5, "yard": 3, "mile": 5,
    "nautical mile": 1,
    "milligram": 3, "gram": 5, "kilogram": 5, "metric ton": 3, "long ton": 2, "ton": 3, "ounce": 4,
    "troy ounce": 1, "pound": 5, "stone": 2, "carat": 1,
    "millisecond": 2, "second": 5, "minute": 5, "hour": 5, "day": 4, "week": 3, "month": 2, "year": 3,
    "decade": 1, "century": 1,
    "milliliter": 5, "liter": 5, "cubic meter": 2, "cubic centimeter": 2, "cubic millimeter": 1,
    "cubic foot": 1, "cubic inch": 1, "gallon": 4, "imperial gallon": 2, "quart": 2, "imperial quart": 1,
    "pint": 3, "imperial pint": 2, "cup": 4, "metric cup": 1, "fluid ounce": 4, "imperial fluid ounce": 1,
    "tablespoon": 3, "teaspoon": 3,
    "meter per second": 3, "kilometer per hour": 5, "mile per hour": 5, "foot per second": 1,
    "inch per second": 1, "knot": 2,
    "bit": 2, "byte": 3, "kilobit": 1, "megabit": 2, "gigabit": 1, "kilobyte": 4, "megabyte": 5,
    "gigabyte": 5, "terabyte": 4, "kibibyte": 1, "mebibyte": 1, "gibibyte": 2,
    "square centimeter": 2, "square meter": 5, "square kilometer": 3, "square inch": 1, "square foot": 5,
    "square yard": 2, "square mile": 2, "hectare": 3, "acre": 4,
    "joule": 3, "kilojoule": 3, "megajoule": 1, "calorie": 3, "kilocalorie": 5, "watt hour": 2,
    "kilowatt hour": 4, "British thermal unit": 2,
    "pascal": 2, "hectopascal": 2, "kilopascal": 4, "bar": 4, "millibar": 2, "atmosphere": 3,
    "pound per square inch": 5, "millimeter of mercury": 2, "torr": 1,
    "degree Celsius": 5, "degree Fahrenheit": 5, "kelvin": 3,
}
# The conversions people look up most; each weighs COMMON_BOOST times more, in both directions.
COMMON_PAIRS = [
    ("centimeter", "inch"), ("kilometer", "mile"), ("meter", "foot"), ("foot", "inch"), ("mile", "foot"),
    ("meter", "yard"), ("millimeter", "inch"), ("meter", "centimeter"), ("kilometer", "meter"),
    ("kilogram", "pound"), ("gram", "ounce"), ("pound", "ounce"), ("stone", "pound"), ("kilogram", "gram"),
    ("stone", "kilogram"), ("ton", "kilogram"), ("metric ton", "kilogram"), ("ton", "pound"),
    ("hour", "minute"), ("minute", "second"), ("day", "hour"), ("week", "day"), ("year", "day"),
    ("hour", "second"), ("liter", "gallon"), ("milliliter", "fluid ounce"), ("cup", "milliliter"),
    ("liter", "milliliter"), ("tablespoon", "teaspoon"), ("cup", "fluid ounce"), ("pint", "milliliter"),
    ("quart", "liter"), ("gallon", "quart"), ("tablespoon", "milliliter"), ("teaspoon", "milliliter"),
    ("imperial gallon", "liter"), ("imperial pint", "milliliter"),
    ("kilometer per hour", "mile per hour"), ("meter per second", "kilometer per hour"), ("knot", "mile per hour"),
    ("gigabyte", "megabyte"), ("megabyte", "kilobyte"), ("terabyte", "gigabyte"), ("byte", "bit"),
    ("megabit", "megabyte"), ("gigabyte", "kilobyte"), ("gibibyte", "gigabyte"),
    ("square meter", "square foot"), ("acre", "hectare"), ("acre", "square foot"), ("square kilometer", "square mile"),
    ("kilocalorie", "kilojoule"), ("kilowatt hour", "joule"), ("calorie", "joule"), ("kilocalorie", "calorie"),
    ("pound per square inch", "bar"), ("pound per square inch", "kilopascal"), ("atmosphere", "pascal"),
    ("bar", "kilopascal"), ("hectopascal", "millimeter of mercury"),
    ("degree Celsius", "degree Fahrenheit"), ("degree Celsius", "kelvin"),
]
COMMON_BOOST = 6
UNIFORM_SHARE = 0.3  # share of questions whose pair is drawn uniformly within its category
UNSEEN_SHARE = 0.08  # share of all pairs held out for the test split
TAIL_SHARE = 0.4  # held-out pairs come from this rarest share of the pairs
EXTRA_TRAIN = 2000  # train questions drawn after the evaluation splits (generate_splits says why)
EXTRA_WORDS = 0.25  # share of small whole values written as words in those ("ten km"), as in writing
# The extra questions also lean on what the model reads wrong most: units written in a form whose
# meaning depends on the other unit ("oz" beside mL, "K" beside MB), words with two readings, and the
# bit/byte and calorie/kilocalorie neighbours. Pairs with such a unit weigh EXTRA_HARD_BOOST times more,
# a unit with context forms is written in one EXTRA_CONTEXT of the time, and EXTRA_SLIPS of the questions
# carry a keyboard slip of other kinds than the written split's (a doubled letter, a neighbouring key).
EXTRA_HARD_BOOST = 4
EXTRA_CONTEXT = 0.4
EXTRA_SLIPS = 0.25
# After those, EXTRA_DATA questions on data sizes alone, every pair of data units as likely, units in
# short forms (EXTRA_DATA_SHORT of the time): bits beside bytes written "Kb"/"KB"/"K"/"kb" are the
# readings RFT missed most on terse questions ("How many Kb is 16 KB?"), and few train questions
# before held them (docs/log.md, 2026-12-03).
EXTRA_DATA = 1500
# Last, EXTRA_VARIANTS questions on the words of several readings (`AMBIGUOUS`: ton, ounce, gallon, ...):
# every word as likely, its named variants twice as likely as its default, half of them beside the word's
# everyday partner (kilogram for ton), in both directions (`variant_sampler`). A named variant of an
# everyday conversion ("kilograms to imperial tons") was read as the default when few train questions
# held it (docs/log.md, 2026-12-04).
EXTRA_VARIANTS = 800
# A split of its own, `forms`, for a last round of each adapter (recipes/full.toml, [sft_forms] and
# [rft_forms]): FORMS_QUESTIONS questions on everyday pairs written the way people type them, each unit
# in its typed form (the shortest one-word short form: `g`, `oz`, `m3`, `C`) FORMS_TYPED of the time.
# FORMS_FOCUS of them pair the units of one of FORMS_GROUPS (mass units beside ounces, cubic meters
# beside everyday volumes, the temperature scales: what a terse probe of every category found misread,
# docs/log.md, 2026-12-06; and the fluid ounce beside the volumes of a kitchen, written as the bare word
# "ounces" more often, FORMS_BARE_OUNCE, so that a round with many mass ounces does not teach that
# "ounces" beside mL is a mass), FORMS_COMMON a common pair, the rest any pair; never a data size
# (EXTRA_DATA covers those). A unit not in its typed form is written short FORMS_SHORT of the time, and
# FORMS_SLIPS of the questions carry a slip.
FORMS_QUESTIONS = 1000
FORMS_TYPED, FORMS_SHORT, FORMS_SLIPS = 0.6, 0.8, 0.1
FORMS_FOCUS, FORMS_COMMON = 0.4, 0.3
FORMS_BARE_OUNCE = 0.5
# FORMS_VALUES more questions of the forms split write their value the way people say it or write it in a
# recipe (`spoken_value`): a fraction ("3/4 cup", "½ lb"), a phrase ("half a gallon", "one and
# a half hours") or a round number in words ("five hundred grams"); never a temperature. Their reasoning
# copies a fraction as written ("3/4 * 0.236588 / 0.001") and writes a phrase's value as a number ("1.5"),
# so the model reads the value and the calculator does the arithmetic. Mixed numbers ("1 1/2 cups") are
# left out: written "(1 + 1/2)" in the reasoning they taught the model to open plain answers with "(",
# written "1.5" to read "2,101" as 2.101; valid fell 2 to 3 points either way; the prompt writes them as
# their decimal instead (base_llm.normalize_marks). Both adapters answered 5 of 40 such hand-written
# questions before (scripts/values.py; docs/log.md, 2026-12-06).
FORMS_VALUES = 300
# FORMS_PLAIN more questions, last, write values the other splits hardly hold (train: 7 of 14300 ask
# "how many feet in a mile", 1 a zero, none ".5"), each as people type it (`plain_value`): one as "a"/"an"
# after "in" ("How many seconds in a day?"), beside phrases that also open with "a" (PLAIN_A_PHRASES:
# "a" = 1 alone taught "a couple of liters" to read as one liter, docs/log.md, 2026-12-06), a
# leading-dot decimal (".25 s"), millions with commas ("1,000,000 bytes"), and for temperatures the
# values people look up (0, 100, 32, 212, 98.6, 350 ...). Some are asked in PLAIN_TEMPLATES ("How many
# {dst} in {v} {src}?"), shapes the train templates lack and the written split (held out) does not use.
FORMS_PLAIN = 300
PLAIN_A_PHRASES = 0.3  # of the values after "in" written with "a": "a couple of", "a half", "a dozen" ...
PLAIN_TEMPLATES = ["How many {dst} in {v} {src}?", "{dst} in {v} {src}?", "how many {dst} in {v} {src}"]
PLAIN_TEMPERATURES = {"degree Celsius": [0, 0, 100, 37, 20, 25, 180, -40, -10, 4],
                      "degree Fahrenheit": [32, 212, 98.6, 0, 0, 350, 70, -40, 451, 65],
                      "kelvin": [0, 0, 273.15, 300, 373.15, 77, 5778]}
# A split of its own, `letters`, for the last round of each adapter (recipes/full.toml, [sft_letters] and
# [rft_letters]). Its first N_LETTERS questions write units as one letter whose meaning the other unit
# settles. Half are the temperature scales as C, F and K (typed LETTERS_TYPED of the time), 40% of them with
# the values people look up (`plain_value`); the other half are the letters and short forms of other
# categories (K, M, G, T and B beside data sizes, kcal, kWh, hPa ...), so that "K" beside MB stays a
# kilobyte. SFT read "20 C to F" as 293.15 and "12 F in K" as -0.02 (77% of a hand-written temperature
# probe); a round on temperatures alone taught it "K" = kelvin beside data sizes (docs/log.md, 2026-12-07).
# Seen pairs only, no temperature under absolute zero, and no data question written all in lower case
# ("kb" is then a kilobit as often as a kilobyte).
N_LETTERS = 600
LETTERS_TYPED, LETTERS_SHORT, LETTERS_CONTEXT = 0.8, 0.9, 0.6
LETTERS_OTHER = {"data": 200, "energy": 40, "pressure": 20, "mass": 15, "volume": 15, "time": 10}
# Three more parts of the letters split, after its first N_LETTERS, for RFT's last round alone (SFT's reads
# the first N_LETTERS: `max_examples`). LETTERS_FOCUS_QUESTIONS name a unit read as another of its
# category when written short beside it ("2 mg to oz" as milliliters to fluid ounces, "4 cal in kcal" the
# wrong way round, "3mbar to Pa" as bars), in LETTERS_FOCUS's shares, written short or by name ("ounces")
# LETTERS_FOCUS_TYPED of the time each; then LETTERS_SAID with values as people say them and LETTERS_PLAIN
# with values the other splits hardly hold ("in a day"), drawn as the forms split draws its parts: a round
# without the said values lost 8 points on scripts/values.py, one without the plain ones lost "how many
# seconds in a day" (docs/log.md, 2026-12-07).
LETTERS_FOCUS = {"mass": (80, ("ounce",)), "volume": (40, ("fluid ounce", "cubic centimeter")),
                 "energy": (50, ("calorie", "kilocalorie", "watt hour")), "pressure": (30, ("millibar", "hectopascal"))}
LETTERS_FOCUS_QUESTIONS, LETTERS_FOCUS_TYPED = 200, 0.5
LETTERS_SAID = LETTERS_PLAIN = 300
# A split of its own, `shorthand`, drawn after every other split so they stay byte for byte as they were; the
# first round of each adapter trains on it and the whole train split together (recipes/full.toml, [sft] and
# [rft_gold]): questions typed as into a search box, on what a probe written outside the project found
# missing or misread (docs/log.md, 2026-12-07). SHORTHAND_NEW put a unit added later (units.LATER_UNITS:
# power, frequency, TiB, PB, MPa, inHg, mcg, µm, nm, µs, ns, fortnight) on one side, beside a unit it is
# converted to most (LATER_PARTNERS) SHORTHAND_NEAR of the time, or (SHORTHAND_CONTRAST of them) an energy
# unit written like a power unit (CONTRAST: "kWh" beside "kW"); SHORTHAND_FORMS write a unit in a later form
# (units.LATER_FORMS: "3c" beside mL, "tbs", "mtrs") or a short form in another case ("KM", "hpa", "kj")
# SHORTHAND_LATER of the time, the other parts SHORTHAND_NEW_LATER of the time;
# SHORTHAND_SHAPES ask common pairs with no verb ("976 metres km", "1.25 days hrs"); SHORTHAND_BIG write
# values with thousands commas up to tens of millions; SHORTHAND_OUNCES put "oz"/"ounces" beside liters
# (fluid ounces: SFT read "9.1 ltrs is how many oz" as a mass). SHORTHAND_TERSE of all of them are asked in
# TERSE_TEMPLATES (none of them the written split's). SHORTHAND_SAID and SHORTHAND_PLAIN (values drawn as
# the forms split draws its parts) are none: the forms rounds after the first teach those. Seen pairs only
# among the first units; no data question all in lower case ("mb" would then be a megabit as often as a
# megabyte).
SHORTHAND_NEW, SHORTHAND_FORMS, SHORTHAND_SHAPES, SHORTHAND_BIG, SHORTHAND_OUNCES = 1500, 300, 300, 200, 150
SHORTHAND_SAID = SHORTHAND_PLAIN = 0
SHORTHAND_PARTS = (SHORTHAND_NEW, SHORTHAND_FORMS, SHORTHAND_SHAPES, SHORTHAND_BIG, SHORTHAND_OUNCES, SHORTHAND_SAID,
                   SHORTHAND_PLAIN)
SHORTHAND_NEAR, SHORTHAND_TERSE, SHORTHAND_LATER, SHORTHAND_TYPED = 0.6, 0.5, 0.7, 0.5
SHORTHAND_NEW_LATER = 0.15
TERSE_TEMPLATES = ["{v} {src} {dst}", "{v} {src} {dst}?", "{v} {src} how many {dst}", "{v} {src} how many {dst}?",
                   "{v} {src} = {dst}", "how many {dst} {v} {src}", "{dst} in {v} {src}", "{v} {src} in {dst} ?"]
LATER_PARTNERS = {
    "micrometer": ["millimeter", "meter", "nanometer", "inch"], "nanometer": ["micrometer", "meter", "millimeter"],
    "microgram": ["milligram", "gram"], "microsecond": ["millisecond", "second", "nanosecond"],
    "nanosecond": ["microsecond", "millisecond", "second"], "fortnight": ["day", "week", "hour"],
    "petabyte": ["terabyte", "gigabyte"], "tebibyte": ["terabyte", "gibibyte", "gigabyte"],
    "megapascal": ["pound per square inch", "bar", "kilopascal", "pascal"],
    "inch of mercury": ["hectopascal", "millibar", "millimeter of mercury", "pound per square inch"],
    "watt": ["kilowatt", "horsepower"], "kilowatt": ["horsepower", "watt"], "megawatt": ["kilowatt", "watt"],
    "horsepower": ["kilowatt", "watt"], "hertz": ["kilohertz", "megahertz"], "kilohertz": ["hertz", "megahertz"],
    "megahertz": ["gigahertz", "kilohertz", "hertz"], "gigahertz": ["megahertz", "hertz"],
}
# Units of another category a later unit is written like ("kW" beside "kWh", "W" beside "Wh"): SHORTHAND_CONTRAST
# of the first part's questions ask those instead, so that a round on watts does not teach that "kWh" is one.
CONTRAST = ["watt hour", "kilowatt hour", "joule", "kilojoule", "British thermal unit", "megajoule", "kilocalorie"]
SHORTHAND_CONTRAST = 0.25
# A split of its own, `more`, drawn after the shorthand split so that every split before it stays byte for byte
# as it was. No recipe trains on it yet: a last round on it taught the new units but cost the first ones
# (docs/log.md, 2026-12-07); the shorthand split's units came without that cost in the first rounds. MORE_NEW
# put a unit added after the shorthand split (units.MORE_UNITS: angles, forces, data rates, light years, dL,
# MWh, rpm ...) on one side, beside a unit it is converted to most (MORE_PARTNERS) SHORTHAND_NEAR of the time;
# MORE_CONTRAST of them instead ask a pair of the first units written like one of those ("MB" beside "MB/s",
# "kg" beside "kgf", "deg C" beside "deg"), so that a round on the new units does not move the old ones.
# MORE_LATER ask a unit of the shorthand split's (units.LATER_UNITS) again, MORE_MICRO of them a micrometer
# ("um", "microns", which RFT misread after the shorthand round). Answers up to MORE_LARGEST count (light years
# in kilometers); no question all in lower case where that changes a unit (MORE_CASED: "MBps" is not "mbps").
MORE_NEW, MORE_LATER = 1600, 400
MORE_PARTS = (MORE_NEW, MORE_LATER)
MORE_CONTRAST, MORE_MICRO, MORE_LARGEST = 0.2, 0.35, 1e16
MORE_CASED = {"data", "data rate", "force", "power"}
MORE_PARTNERS = {
    "degree": ["radian", "revolution", "arcminute", "gradian"], "radian": ["degree", "revolution"],
    "gradian": ["degree", "radian"], "arcminute": ["degree", "arcsecond"], "arcsecond": ["arcminute", "degree"],
    "revolution": ["degree", "radian"],
    "newton": ["kilonewton", "pound-force", "kilogram-force", "dyne"],
    "kilonewton": ["newton", "pound-force", "kilogram-force"], "pound-force": ["newton", "kilogram-force", "kilonewton"],
    "kilogram-force": ["newton", "pound-force"], "dyne": ["newton"],
    "bit per second": ["kilobit per second", "byte per second"],
    "kilobit per second": ["megabit per second", "kilobyte per second", "bit per second"],
    "megabit per second": ["megabyte per second", "kilobit per second", "gigabit per second"],
    "gigabit per second": ["megabit per second", "gigabyte per second", "megabyte per second"],
    "byte per second": ["bit per second", "kilobyte per second"],
    "kilobyte per second": ["kilobit per second", "megabyte per second", "megabit per second"],
    "megabyte per second": ["megabit per second", "gigabit per second", "kilobyte per second"],
    "gigabyte per second": ["gigabit per second", "megabyte per second"],
    "decimeter": ["centimeter", "meter", "millimeter"], "light year": ["kilometer", "mile", "astronomical unit"],
    "astronomical unit": ["kilometer", "mile", "light year"], "millennium": ["year", "century", "decade"],
    "deciliter": ["milliliter", "liter", "centiliter"], "centiliter": ["milliliter", "liter", "fluid ounce"],
    "cubic yard": ["cubic meter", "cubic foot"], "barrel": ["gallon", "liter", "cubic meter"],
    "kilometer per second": ["kilometer per hour", "mile per hour", "meter per second"],
    "exabyte": ["petabyte", "terabyte"], "square millimeter": ["square centimeter", "square inch"],
    "megawatt hour": ["kilowatt hour", "megajoule"], "therm": ["kilowatt hour", "British thermal unit", "megajoule"],
    "gigapascal": ["megapascal", "pound per square inch", "pascal"], "milliwatt": ["watt"],
    "gigawatt": ["megawatt"], "BTU per hour": ["watt", "kilowatt"], "terahertz": ["gigahertz"],
    "revolution per minute": ["hertz"],
}
FORMS_GROUPS = [["gram", "milligram", "kilogram", "ounce", "pound", "stone"],
                ["cubic meter", "liter", "milliliter", "gallon", "quart", "pint", "cup", "fluid ounce",
                 "cubic centimeter"],
                ["degree Celsius", "degree Fahrenheit", "kelvin"],
                ["fluid ounce", "milliliter", "liter", "cup", "tablespoon"]]
SHORT_SHARE = 0.45  # how often a unit is written in a short form (`surface`)
EXTRA_DATA_SHORT = 0.75
CONFUSABLE = {"ounce", "troy ounce", "metric ton", "long ton", "bit", "byte", "kilobit", "megabit", "gigabit",
              "calorie", "kilocalorie"}

NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                "eleven", "twelve"]
TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
FRACTIONS = [(1, 2), (1, 3), (2, 3), (1, 4), (3, 4), (1, 8), (3, 8), (5, 8), (7, 8), (1, 16), (2, 5)]
GLYPHS = {(1, 2): "½", (1, 4): "¼", (3, 4): "¾", (1, 3): "⅓", (2, 3): "⅔", (1, 8): "⅛"}
# (value, phrase, the value as the reasoning writes it, whether the unit's name follows in the singular)
PHRASES = [(0.5, "half a", "0.5", True), (0.5, "a half", "0.5", True), (0.25, "a quarter of a", "0.25", True),
           (0.25, "a quarter", "0.25", True), (0.75, "three quarters of a", "0.75", True),
           (1 / 3, "a third of a", "1/3", True), (1.5, "one and a half", "1.5", False),
           (1.5, "one and a half", "1.5", False),  # twice: said most often
           (2.5, "two and a half", "2.5", False),
           (3.5, "three and a half", "3.5", False), (2, "a couple of", "2", False), (12, "a dozen", "12", False)]
A_PHRASES = [p for p in PHRASES if p[1].startswith("a ")]  # "a half", "a couple of", "a dozen" ...

# Phrasings of train, valid and test. {v} value, {src} source unit agreeing with v, {dst} target
# unit, {src1}/{dst1} unit names without a value.
TEMPLATES = [
    "How many {dst} are there per {v} {src}?",
    "Express {v} {src} as a quantity of {dst}.",
    "What is the conversion from {src1} to {dst1} for {v} units?",
    "Convert {v} {src} to {dst}.",
    "How many {dst} are in {v} {src}?",
    "{v} {src} is how many {dst}?",
    "What is {v} {src} in {dst}?",
    "Please convert {v} {src} into {dst}.",
    "If I have {v} {src}, how many {dst} do I have?",
    "How many {dst} make up {v} {src}?",
    "{v} {src} equals how many {dst}?",
    "What does {v} {src} come to in {dst}?",
    "Change {v} {src} to {dst}.",
    "Convert {v} {src} into {dst}, please.",
    "I need {v} {src} expressed in {dst}.",
    "How much is {v} {src} in {dst}?",
    "What is the value of {v} {src} when measured in {dst}?",
    "Turn {v} {src} into {dst}.",
    "{v} {src} = ? {dst}",
    "How many {dst} correspond to {v} {src}?",
    "Find the number of {dst} in {v} {src}.",
    "Give {v} {src} in {dst}.",
    "What is {v} {src} converted to {dst}?",
    "Could you tell me how many {dst} are in {v} {src}?",
    "Rewrite {v} {src} in terms of {dst}.",
    "Convert from {src1} to {dst1}: {v}",
    "{v} {src} to {dst}",
    "{v} {src} in {dst}?",
    "What quantity of {dst} is equal to {v} {src}?",
    "Determine how many {dst} there are in {v} {src}.",
    "How many {dst} is {v} {src}?",
    "Calculate {v} {src} in {dst}.",
    "If something measures {v} {src}, what is that in {dst}?",
    "What's {v} {src} in {dst}?",
    "Translate {v} {src} into {dst}.",
    "How many {dst} does {v} {src} equal?",
    "Using {dst1} as the unit, how much is {v} {src}?",
    "{v} {src} converts to how many {dst}?",
    "Tell me the number of {dst} in {v} {src}.",
    "A value of {v} {src} equals how many {dst}?",
    "Express the quantity {v} {src} in {dst}.",
    "Convert this measurement to {dst}: {v} {src}.",
    "What is the equivalent of {v} {src} in {dst}?",
    "Please tell me how many {dst} are equal to {v} {src}.",
    "From {src1} to {dst1}, what is {v}?",
    "How many {dst} would {v} {src} be?",
    "Work out {v} {src} in {dst}.",
    "{v} {src} -> {dst}",
    "How many {dst} in {v} {src}?",
    "{v} {src} in {dst}",
    "{v} {src} to {dst}?",
    "How many {dst} are there in {v} {src}?",
    "{v} {src} converted to {dst}",
    "What is {v} {src} expressed in {dst}?",
    "{v} {src} is equal to how many {dst}?",
    "What is {v} {src} as {dst}?",
    "{src1} to {dst1}: {v}",
    "Convert {v} {src} to {dst} please",
    "{v} {src} = how many {dst}?",
    "How many {dst} is in {v} {src}?",
]

# Only for the `written` split: other verbs, orders, politeness and slips, never used in training.
WRITTEN_TEMPLATES = [
    "I've got {v} {src}. What's that in {dst}?",
    "Hey, could you work out how many {dst} {v} {src} makes?",
    "{v} {src} into {dst} pls",
    "What do {v} {src} amount to in {dst}?",
    "Quick one: {v} {src} → {dst}",
    "My recipe says {v} {src}; how many {dst} is that?",
    "Need help: {v} {src} equals what in {dst}",
    "How many {dst} would I get from {v} {src}?",
    "{v} {src}, in terms of {dst}?",
    "Roughly how many {dst} are in {v} {src}?",
    "If a thing is {v} {src}, what's that expressed as {dst}?",
    "Can you convert {v} {src} for me into {dst}?",
    "What number of {dst} equals {v} {src}?",
    "{v} {src} makes how many {dst}",
    "What's the {dst1} equivalent of {v} {src}?",
    "Going from {src1} to {dst1}, how much is {v}?",
    "How many {dst} per {v} {src}?",
    "Show {v} {src} in {dst}.",
    "I have {v} {src} - how much is that in {dst}?",
    "Please express {v} {src} using {dst}.",
    "{v} {src} in {dst} is what?",
    "Conversion needed: {v} {src} to {dst}.",
    "tell me {v} {src} in {dst}",
    "Could you please tell me what {v} {src} is in {dst}?",
    "In terms of {dst}, {v} {src} is how much?",
    "{v} {src} equivalent in {dst}",
    "how many {dst} make {v} {src}",
    "What would {v} {src} be if measured in {dst}?",
    "Find {v} {src} in {dst1} units.",
    "What amount of {dst} is {v} {src}?",
    "Work out the {dst} in {v} {src}, thanks!",
    "Figure out how many {dst} there are in {v} {src}.",
    "Approximately how many {dst} is {v} {src}?",
    "So {v} {src} is how many {dst} exactly?",
    "In {dst}, how much is {v} {src}?",
    "what's {v} {src} when you put it in {dst}",
]


def sample_value(rng: random.Random, category: str) -> float:
    """Small integers most often, then decimals, large and small values, as people write them."""
    if category == "temperature":
        return rng.choice([rng.randint(-40, 120), rng.randint(0, 500), round(rng.uniform(-50, 300), 1)])
    kind = rng.random()
    if kind < 0.45:
        return float(rng.randint(1, 10))
    if kind < 0.65:
        return round(rng.uniform(0.1, 20), rng.choice([1, 1, 2]))
    if kind < 0.85:
        return float(rng.choice([rng.randint(11, 100), rng.randint(100, 5000), rng.choice([1e3, 1e4, 1e5, 1e6]) * rng.randint(1, 9)]))
    return round(rng.uniform(0.001, 1), rng.choice([2, 3]))


def write_value(rng: random.Random, value: float, words: float = 0.0) -> str:
    """The value as a person writes it: plain, with thousands commas, or as a word when small."""
    if value == int(value) and 1 <= value <= 12 and rng.random() < words:
        return NUMBER_WORDS[int(value)]
    text = number(value)
    if value >= 1000 and value == int(value) and rng.random() < 0.3:
        return f"{int(value):,}"
    return text


def case_forms(unit: Unit, among: tuple[Unit, ...] | list[Unit] = SHORTHAND_UNITS) -> tuple[str, ...]:
    """`unit`'s short forms of two letters or more in upper or lower case where that names no other unit of
    `among` in any case ("KM", "hpa", "kj"; never "mb", a megabit's form too, nor "TBS", a tablespoon's)."""
    others = {form.casefold() for u in among if u is not unit for form in u.forms + u.context + later_forms(u)}
    out = [variant for form in unit.aliases if 1 < len(form) <= 5 and form.isascii() and form.isalpha()
           for variant in (form.upper(), form.lower()) if variant not in unit.forms and variant.casefold() not in others]
    return tuple(dict.fromkeys(out))


def typed_form(unit: Unit) -> str | None:
    """The form people type for `unit`: its shortest one-word short form (`g`, `oz`, `m3`, `C`, `K` beside MB)."""
    short = [form for form in unit.aliases + unit.context if " " not in form]
    return min(short, key=len) if short else None


def surface(rng: random.Random, unit: Unit, plural: bool, context: float | None = None,
            short_share: float = SHORT_SHARE, typed: float = 0.0, later: float = 0.0) -> tuple[str, bool]:
    """(how the unit is written, whether that is a short form); short forms include those the other unit explains.

    `typed`: the share written in `typed_form`; `context`: the share of questions that write a unit
    with context forms in one of them (None: as often as any other short form); `short_share`: how
    often a short form is written otherwise; `later`: the share written in a later form (`units.later_forms`)
    or a short form in another case (`case_forms`), where the unit has one.
    """
    if later and (forms := later_forms(unit) + case_forms(unit)) and rng.random() < later:
        return rng.choice(forms), True
    if typed and (form := typed_form(unit)) and rng.random() < typed:
        return form, True
    if context is not None and unit.context and rng.random() < context:
        return rng.choice(unit.context), True
    roll = rng.random()
    short = unit.aliases + unit.context
    if short and roll < short_share:
        return rng.choice(short), True
    if roll < short_share + 0.1:  # course-style questions often keep the singular ("How many gram ...")
        return unit.name, False
    return (unit.plural if plural else unit.name), False


@dataclass(frozen=True)
class Example:
    question: str
    answer: float
    reasoning: str
    category: str
    source: str
    target: str

    def entry(self, with_reasoning: bool) -> list:
        return [self.question, self.answer, self.reasoning] if with_reasoning else [self.question, self.answer]


def _edit_a_word(rng: random.Random, text: str, protected: set[str], shortest: int, edit) -> str:
    """`text` with `edit` applied to one of its words of `shortest` letters or more that names no unit."""
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= shortest and w.isalpha() and w.lower() not in protected]
    if not candidates:
        return text
    i = rng.choice(candidates)
    words[i] = edit(words[i])
    return " ".join(words)


def _typo(rng: random.Random, text: str, protected: set[str]) -> str:
    """One slip of the keyboard in a word that names no unit: two letters swapped or one dropped."""
    def edit(word):
        k = rng.randrange(1, len(word) - 2)
        return word[:k] + word[k + 1] + word[k] + word[k + 2:] if rng.random() < 0.5 else word[:k] + word[k + 1:]
    return _edit_a_word(rng, text, protected, 5, edit)


_KEYBOARD = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]
_NEIGHBOURS = {row[i]: row[max(i - 1, 0): i] + row[i + 1: i + 2] for row in _KEYBOARD for i in range(len(row))}


def _slip(rng: random.Random, text: str, protected: set[str]) -> str:
    """A train-only slip in a word that names no unit: a letter doubled or hit on its neighbouring key.

    Other kinds than `_typo`'s, so the written split still asks for slips the model never saw.
    """
    def edit(word):
        k = rng.randrange(1, len(word))
        if rng.random() < 0.5 or word[k].lower() not in _NEIGHBOURS:
            return word[:k] + word[k] + word[k:]
        return word[:k] + rng.choice(_NEIGHBOURS[word[k].lower()]) + word[k + 1:]
    return _edit_a_word(rng, text, protected, 4, edit)


def _unit_words(*units: Unit) -> set[str]:
    return {w.lower() for u in units for f in u.forms + u.context for w in f.split()}


def spoken_value(rng: random.Random) -> tuple[float, str, str, str]:
    """(value, as written, as the reasoning writes it, how the unit follows it) for a value written as
    people say it (FORMS_VALUES above). The unit follows in any form, singular ("one": "3/4 cup"), or
    as its name, singular ("name": "half a gallon") or plural ("names": "five hundred grams").
    """
    kind = rng.random()
    if kind < 0.5:  # a fraction alone; a mixed number ("1 1/2") is left out (FORMS_VALUES above says why)
        num, den = rng.choice(FRACTIONS)
        glyph = GLYPHS.get((num, den)) if kind < 0.1 else None
        return num / den, glyph or f"{num}/{den}", f"{num}/{den}", "one"
    if kind < 0.8:
        value, phrase, text, singular = rng.choice(PHRASES)
        return value, phrase, text, "name" if singular else "names"
    if kind < 0.88:
        k = rng.randrange(len(TENS))
        return float(20 + 10 * k), TENS[k], str(20 + 10 * k), "names"
    scale, word = rng.choice([(100, "hundred"), (100, "hundred"), (1000, "thousand"), (1e6, "million")])
    n = rng.choice([1, 1, 2, 3, 5, 8]) if scale < 1e6 else 1
    lead = NUMBER_WORDS[n]  # "one hundred": "a hundred" taught "a mile" to read as 1000
    return float(n * scale), f"{lead} {word}", number(n * scale), "names"


def plain_value(rng: random.Random, source: Unit, after_in: bool = True) -> tuple[float, str, str | None, str]:
    """(value, as written, as the reasoning writes it or None, how the unit follows it: see `spoken_value`;
    "many": any form, plural) for a value the other splits hardly hold (FORMS_PLAIN above). `after_in`: the
    value follows "in", where one may be written "a" ("in a day"), beside phrases that also open with "a"
    ("in a couple of days", "in a half hour") so that "a" alone is read as one, not "a" wherever it stands.
    """
    if source.category == "temperature":
        value = float(rng.choice(PLAIN_TEMPERATURES[source.name]))
        return value, number(value), None, "many"
    kind = rng.random()
    if kind < 0.6 and after_in:
        if rng.random() < PLAIN_A_PHRASES:
            value, phrase, text, singular = rng.choice(A_PHRASES)
            return value, phrase, text, "name" if singular else "names"
        return 1.0, "a", None, "one"
    if kind < 0.8:
        value = rng.choice([0.5, 0.25, 0.75, 0.1, 0.2, 0.05, 0.125, 0.3, 0.4, 0.6, 0.01, 0.02])
        return value, number(value)[1:], None, "many"  # ".25"
    value = float(rng.choice([1, 2, 2.5, 5, 10, 25, 100, 250]) * 10 ** rng.choice([3, 6]))
    return value, f"{int(value):,}", None, "many"


def big_value(rng: random.Random) -> tuple[float, str, None, str]:
    """A whole value from a thousand to tens of millions written with thousands commas ("25,000,000"), as
    `plain_value` returns it."""
    value = rng.choice([1, 1.5, 2, 2.5, 3, 4, 5, 7.5, 10, 12, 15, 20, 25, 50, 75, 100, 250, 500])
    value = float(value * 10 ** rng.choice([3, 3, 4, 5, 6]))
    return value, f"{int(value):,}", None, "many"


def make_example(rng: random.Random, source: Unit, target: Unit, template: str, written: bool = False,
                 words: float | None = None, context: float | None = None, slips: float = 0.0,
                 short_share: float = SHORT_SHARE, typed: float = 0.0, spoken: bool = False,
                 plain: bool = False, later: float = 0.0, big: bool = False) -> Example:
    """One question on `source` -> `target` in `template`, written with the slips people make.

    `written` questions (the held-out split) also get keyboard slips and more number words;
    `words` is the share of small whole values written as words (default: 0.25 written, else 0.08);
    `context`, `short_share` and `typed` are passed to `surface`; `slips` is the share of questions given a
    `_slip`; `spoken` writes the value as `spoken_value` does (not for temperatures), `plain` as `plain_value`,
    `big` as `big_value`; `later` is passed to `surface`.
    """
    value_text = follows = None
    if big:
        value, text, value_text, follows = big_value(rng)
    elif plain:
        value, text, value_text, follows = plain_value(rng, source, "in {v} {src}" in template)
    elif spoken and source.category != "temperature":
        value, text, value_text, follows = spoken_value(rng)
    if follows is not None:
        src, src_short = surface(rng, source, follows != "one", context, short_share, typed, later)
        if follows in ("name", "names") and "{v} {src}" in template:
            src, src_short = (source.plural if follows == "names" else source.name), False
        if (text == "a" or text.endswith(" a")) and (src[0].lower() in "aeiou" or src.lower().startswith("hour")):
            text += "n"  # "an hour", "half an ounce"
    else:
        value = sample_value(rng, source.category)
        text = write_value(rng, value, words=words if words is not None else 0.25 if written else 0.08)
        src, src_short = surface(rng, source, value != 1, context, short_share, typed, later)
    dst, _ = surface(rng, target, True, context, short_share, typed, later)
    if value == 1 and not plain and "{v} {src}" in template and not src_short and rng.random() < 0.3:
        text = "a" if src[0].lower() not in "aeiou" else "an"
        src = source.name
    if src_short and value_text is None and text[0].isdigit() and "{v} {src}" in template and rng.random() < 0.35:
        template = template.replace("{v} {src}", "{v}{src}")  # "5km", "4G"
    question = template.format(v=text, src=src, dst=dst, src1=surface(rng, source, False, typed=typed)[0],
                               dst1=surface(rng, target, False, typed=typed)[0])
    question = question[0].upper() + question[1:]
    if written and rng.random() < 0.3:
        question = _typo(rng, question, _unit_words(source, target))
    if slips and rng.random() < slips:
        question = _slip(rng, question, _unit_words(source, target))
    roll = rng.random()
    if roll < 0.12:
        question = question.lower()
    elif roll < 0.22:
        question = question.rstrip("?.!")
    answer = convert(value, source, target)
    return Example(question, answer, reasoning(value, source, target, value_text), source.category, source.name,
                   target.name)


def all_pairs() -> list[tuple[Unit, Unit]]:
    return [(a, b) for a in UNITS for b in UNITS if a.category == b.category and a is not b]


def pair_weight(source: Unit, target: Unit) -> float:
    """How often people ask this conversion, relative to the other pairs of its category."""
    common = (source.name, target.name) in _COMMON or (target.name, source.name) in _COMMON
    return POPULARITY[source.name] * POPULARITY[target.name] * (COMMON_BOOST if common else 1)


_COMMON = set(COMMON_PAIRS)


def split_pairs(seed: int) -> tuple[list, list]:
    """(pairs for every split, pairs kept for test only), the kept ones from the rarest pairs.

    Temperature pairs are never held out: each has its own formula, not two factors to combine.
    """
    pairs = all_pairs()
    ranked = sorted((i for i, (a, _) in enumerate(pairs) if a.category != "temperature"),
                    key=lambda i: (pair_weight(*pairs[i]), i))
    tail = ranked[: int(len(ranked) * TAIL_SHARE)]
    rng = random.Random(f"pairs-{seed}")
    held = set(rng.sample(tail, int(len(pairs) * UNSEEN_SHARE)))
    return [p for i, p in enumerate(pairs) if i not in held], [p for i, p in enumerate(pairs) if i in held]


def is_hard(unit: Unit) -> bool:
    """A unit whose written form needs the other unit, that has two readings, or that has a confusable neighbour."""
    return bool(unit.context or unit.reading) or unit.name in CONFUSABLE


class PairSampler:
    """Category by CATEGORY_WEIGHT, then a pair by `pair_weight`, or uniformly for UNIFORM_SHARE of draws."""

    def __init__(self, pairs, hard_boost: int = 1):
        self.by_category: dict[str, list] = {}
        for pair in pairs:
            self.by_category.setdefault(pair[0].category, []).append(pair)
        self.categories = sorted(self.by_category)
        self.category_weights = [CATEGORY_WEIGHT[c] for c in self.categories]
        self.pair_weights = {c: [pair_weight(*p) * (hard_boost if any(map(is_hard, p)) else 1) for p in ps]
                             for c, ps in self.by_category.items()}

    def __call__(self, rng: random.Random):
        category = rng.choices(self.categories, self.category_weights)[0]
        pairs = self.by_category[category]
        if rng.random() < UNIFORM_SHARE:
            return rng.choice(pairs)
        return rng.choices(pairs, self.pair_weights[category])[0]


# Words with several meanings, each with its default reading and the variants a question may name.
AMBIGUOUS = {
    "ton": ("ton", ["metric ton", "long ton"], "kilogram"),
    "ounce": ("ounce", ["troy ounce"], "gram"),
    "fluid ounce": ("fluid ounce", ["imperial fluid ounce"], "milliliter"),
    "gallon": ("gallon", ["imperial gallon"], "liter"),
    "quart": ("quart", ["imperial quart"], "liter"),
    "pint": ("pint", ["imperial pint"], "milliliter"),
    "cup": ("cup", ["metric cup"], "milliliter"),
}
# How an ambiguous question names each unit: the bare word for the default, the variant's own words otherwise.
_AMBIGUOUS_FORMS = {
    "ton": ["tons", "ton"], "metric ton": ["metric tons", "tonnes"], "long ton": ["long tons", "imperial tons"],
    "ounce": ["ounces", "oz"], "troy ounce": ["troy ounces", "troy oz"],
    "fluid ounce": ["ounces", "oz", "fluid ounces", "fl oz"],
    "imperial fluid ounce": ["imperial fluid ounces", "UK fluid ounces"],
    "gallon": ["gallons", "gal"], "imperial gallon": ["imperial gallons", "UK gallons"],
    "quart": ["quarts", "qt"], "imperial quart": ["imperial quarts", "UK quarts"],
    "pint": ["pints", "pt"], "imperial pint": ["imperial pints", "UK pints"],
    "cup": ["cups"], "metric cup": ["metric cups"],
}


def variant_sampler(pairs):
    """Draws of (source, target) among `pairs`: an `AMBIGUOUS` word, one of its readings (a named variant
    twice as likely as the default), then its everyday partner or (half the time) any unit of its
    category, in either direction."""
    allowed = set(pairs)
    by_category: dict[str, list[Unit]] = {}
    for unit in dict.fromkeys(a for a, _ in pairs):  # each source unit once, in order of first appearance
        by_category.setdefault(unit.category, []).append(unit)
    words = list(AMBIGUOUS.values())

    def sample(rng: random.Random):
        while True:
            default, variants, partner = rng.choice(words)
            unit = BY_NAME[rng.choice([default, *variants, *variants])]  # named variants are what was misread
            other = BY_NAME[partner] if rng.random() < 0.5 else rng.choice(by_category[unit.category])
            pair = (unit, other) if rng.random() < 0.5 else (other, unit)
            if pair in allowed:
                return pair
    return sample


def ambiguous_examples(rng: random.Random, per_reading: int) -> list[tuple[Example, str]]:
    """(example, "default" or "named") on every ambiguous word, both directions, default and variants."""
    out = []
    for default, variants, other in AMBIGUOUS.values():
        for name, reading in [(default, "default")] + [(v, "named") for v in variants]:
            unit, base = BY_NAME[name], BY_NAME[other]
            for k in range(per_reading):
                value = float(rng.choice([1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 2.5, 0.5]))
                form = _AMBIGUOUS_FORMS[name][k % len(_AMBIGUOUS_FORMS[name])]
                if value == 1 and form.endswith("s"):
                    form = form[:-1]
                other_form = surface(rng, base, True)[0]
                if k % 2 == 0:
                    question = f"How many {other_form} are in {number(value)} {form}?"
                    example = Example(question, convert(value, unit, base), reasoning(value, unit, base),
                                      unit.category, unit.name, base.name)
                else:
                    big = convert(value, unit, base)
                    amount = number(float(f"{big:.3g}"))
                    question = f"Convert {amount} {other_form} to {form}."
                    exact = float(amount)
                    example = Example(question, convert(exact, base, unit), reasoning(exact, base, unit),
                                      unit.category, base.name, unit.name)
                out.append((example, reading))
    return out


def keep(out: list[Example], seen: set[str], end: int, draw, fits=None) -> None:
    """Append new examples of `draw()` that `fits` (default: `plausible`) to `out` until it holds `end`; `seen`
    gains their questions."""
    fits = fits or plausible
    while len(out) < end:
        example = draw()
        if example.question not in seen and fits(example):
            seen.add(example.question)
            out.append(example)


def common_pairs(allowed: set) -> list[tuple[Unit, Unit]]:
    """COMMON_PAIRS both ways round, those in `allowed` alone."""
    return [pair for a, b in COMMON_PAIRS for pair in ((BY_NAME[a], BY_NAME[b]), (BY_NAME[b], BY_NAME[a]))
            if pair in allowed]


def said_question(rng: random.Random, pairs: list, common: list, k):
    """A function drawing one question with its value as people say it (`spoken_value`) on `pairs` (no data
    sizes), one of `common` FORMS_COMMON * 2 of the time, in the templates that put the value before the
    unit ("half a mile", never "for half a units"), the next of them by counter `k` each time."""
    templates = [t for t in TEMPLATES if "{v} {src}" in t]
    sampler = PairSampler([pair for pair in pairs if pair[0].category != "temperature"])
    common = [pair for pair in common if pair[0].category != "temperature"]

    def draw() -> Example:
        source, target = rng.choice(common) if rng.random() < FORMS_COMMON * 2 else sampler(rng)
        return make_example(rng, source, target, templates[next(k) % len(templates)], slips=FORMS_SLIPS,
                            spoken=True)
    return draw


def plain_question(rng: random.Random, sampler, common: list, scales: list):
    """A function drawing one question with a value the other splits hardly hold (`plain_value`): a pair of
    temperature `scales` a quarter of the time, one of `common` FORMS_COMMON of it, else one `sampler` draws;
    asked in PLAIN_TEMPLATES 40% of the time."""
    templates = [t for t in TEMPLATES if "{v} {src}" in t]

    def draw() -> Example:
        roll = rng.random()
        source, target = rng.choice(scales) if roll < 0.25 else (
            rng.choice(common) if roll < 0.25 + FORMS_COMMON else sampler(rng))
        template = rng.choice(PLAIN_TEMPLATES if rng.random() < 0.4 else templates)
        return make_example(rng, source, target, template, slips=FORMS_SLIPS, short_share=FORMS_SHORT,
                            typed=FORMS_TYPED / 2, plain=True)
    return draw


def forms_examples(seed: int, count: int, taken: set[str], n_values: int = FORMS_VALUES,
                   n_plain: int = FORMS_PLAIN) -> list[Example]:
    """The `forms` split: `count` questions on everyday pairs in the forms people type (FORMS_* above), then
    `n_values` with values as people say them (`spoken_value`) and `n_plain` with values the other splits
    hardly hold (`plain_value`), none of them a question in `taken`. Each part draws from a generator of
    its own, so a later part leaves the ones before it as they were."""
    rng = random.Random(f"forms-{seed}")
    shared = [pair for pair in split_pairs(seed)[0] if pair[0].category != "data"]
    allowed = set(shared)
    common = common_pairs(allowed)
    focus = [(BY_NAME[a], BY_NAME[b]) for group in FORMS_GROUPS for a in group for b in group if a != b]
    focus = [p for p in focus if p in allowed and (p[0].category != "volume"
                                                   or {"cubic meter", "fluid ounce"} & {p[0].name, p[1].name})]
    sampler = PairSampler(shared)
    out, seen, k = [], set(taken), itertools.count()

    def typed_question():
        roll = rng.random()
        source, target = rng.choice(focus) if roll < FORMS_FOCUS else (
            rng.choice(common) if roll < FORMS_FOCUS + FORMS_COMMON else sampler(rng))
        bare = "fluid ounce" in (source.name, target.name)  # in one of its context forms: oz, ounce, ounces
        return make_example(rng, source, target, TEMPLATES[next(k) % len(TEMPLATES)], slips=FORMS_SLIPS,
                            short_share=FORMS_SHORT, typed=0.0 if bare else FORMS_TYPED,
                            context=FORMS_BARE_OUNCE if bare else None)

    keep(out, seen, count, typed_question)
    keep(out, seen, len(out) + n_values, said_question(random.Random(f"forms-values-{seed}"), shared, common, k))
    scales = [pair for pair in focus if pair[0].category == "temperature"]
    keep(out, seen, len(out) + n_plain, plain_question(random.Random(f"forms-plain-{seed}"), sampler, common, scales))
    return out


def letters_examples(seed: int, count: int, taken: set[str]) -> list[Example]:
    """The `letters` split: `count` questions with units written as letters (N_LETTERS above), half of them
    temperatures, the rest the other categories in LETTERS_OTHER's shares; none of them in `taken`."""
    rng = random.Random(f"forms-letters-{seed}")
    seen = set(taken)
    by_category = {}
    for pair in split_pairs(seed)[0]:
        by_category.setdefault(pair[0].category, []).append(pair)
    total = sum(LETTERS_OTHER.values())
    plan = ["temperature"] * (count // 2) + [category for category, n in LETTERS_OTHER.items()
                                             for _ in range(round(n * (count - count // 2) / total))]
    out = []
    for i, category in enumerate(plan):
        options = by_category[category]
        while True:
            source, target = rng.choice(options)
            plain = category == "temperature" and rng.random() < 0.4
            example = make_example(rng, source, target, TEMPLATES[i % len(TEMPLATES)], typed=LETTERS_TYPED,
                                   short_share=LETTERS_SHORT, plain=plain,
                                   context=LETTERS_CONTEXT if category == "data" else None)
            above_zero = category != "temperature" or convert(example.answer, target, BY_NAME["kelvin"]) >= 0
            lower = category == "data" and example.question == example.question.lower()
            if example.question not in seen and plausible(example) and above_zero and not lower:
                break
        seen.add(example.question)
        out.append(example)
    return out


def letters_more_examples(seed: int, n_focus: int, n_said: int, n_plain: int, taken: set[str]) -> list[Example]:
    """The letters split's later parts (LETTERS_FOCUS_QUESTIONS above): `n_focus` questions naming a unit of
    LETTERS_FOCUS, `n_said` with values as people say them, `n_plain` with values the other splits hardly
    hold, as the forms split's parts draw them; none of them in `taken`."""
    rng = random.Random(f"forms-letters-focus-{seed}")
    seen, out = set(taken), []
    pairs = split_pairs(seed)[0]
    total = sum(n for n, _ in LETTERS_FOCUS.values())
    plan = [category for category, (n, _) in LETTERS_FOCUS.items() for _ in range(round(n * n_focus / total))]
    focus = {category: [p for p in pairs if p[0].category == category and {p[0].name, p[1].name} & set(names)]
             for category, (_, names) in LETTERS_FOCUS.items()}

    for i, category in enumerate(plan):
        keep(out, seen, i + 1, lambda: make_example(rng, *rng.choice(focus[category]),
                                                    TEMPLATES[i % len(TEMPLATES)], typed=LETTERS_FOCUS_TYPED,
                                                    short_share=LETTERS_FOCUS_TYPED))
    shared = [pair for pair in pairs if pair[0].category != "data"]
    common = common_pairs(set(shared))
    said = said_question(random.Random(f"forms-letters-said-{seed}"), shared, common, itertools.count())
    keep(out, seen, len(out) + n_said, said)
    scales = [pair for pair in shared if pair[0].category == "temperature"]
    plain = plain_question(random.Random(f"forms-letters-plain-{seed}"), PairSampler(shared), common, scales)
    keep(out, seen, len(out) + n_plain, plain)
    return out


def terse_example(rng: random.Random, k, source: Unit, target: Unit, **kwargs) -> Example:
    """A question typed as into a search box: TERSE_TEMPLATES SHORTHAND_TERSE of the time, else the next of
    TEMPLATES (`k` counts them), short forms and slips as the forms split writes them."""
    template = rng.choice(TERSE_TEMPLATES) if rng.random() < SHORTHAND_TERSE else TEMPLATES[next(k) % len(TEMPLATES)]
    return make_example(rng, source, target, template, short_share=FORMS_SHORT, slips=FORMS_SLIPS, **kwargs)


def beside(rng: random.Random, unit: Unit, partners: dict, units: list[Unit], ask) -> Example:
    """`ask(a, b)` on `unit` and, SHORTHAND_NEAR of the time, one of its `partners`, else another unit of its
    category among `units`; either way round."""
    near = [BY_NAME[name] for name in partners[unit.name]]
    others = [u for u in units if u.category == unit.category and u is not unit]
    other = rng.choice(near if rng.random() < SHORTHAND_NEAR else others)
    return ask(*((unit, other) if rng.random() < 0.5 else (other, unit)))


def lowered(example: Example, categories: set[str]) -> bool:
    """Whether a question of one of `categories` is all in lower case, where that can name another unit ("mb" is
    a megabit as often as a megabyte, "mbps" is not "MBps")."""
    return example.category in categories and example.question == example.question.lower()


def shorthand_examples(seed: int, taken: set[str], n_new: int = SHORTHAND_NEW, n_forms: int = SHORTHAND_FORMS,
                       n_shapes: int = SHORTHAND_SHAPES, n_big: int = SHORTHAND_BIG,
                       n_ounces: int = SHORTHAND_OUNCES, n_said: int = SHORTHAND_SAID,
                       n_plain: int = SHORTHAND_PLAIN) -> list[Example]:
    """The `shorthand` split (SHORTHAND_* above), part by part, each from a generator of its own; none of its
    questions in `taken`."""
    rng = random.Random(f"shorthand-{seed}")
    seen, out, k = set(taken), [], itertools.count()
    shared = split_pairs(seed)[0]
    allowed = set(shared)
    common = common_pairs(allowed)

    def ask(source, target, **kwargs) -> Example:
        return terse_example(rng, k, source, target, **kwargs)

    contrast = [pair for pair in shared if {pair[0].name, pair[1].name} & set(CONTRAST)]

    def new_unit():
        if rng.random() < SHORTHAND_CONTRAST:
            return ask(*rng.choice(contrast), typed=SHORTHAND_TYPED, later=SHORTHAND_NEW_LATER)
        return beside(rng, rng.choice(LATER_UNITS), LATER_PARTNERS, SHORTHAND_UNITS,
                      lambda a, b: ask(a, b, typed=SHORTHAND_TYPED, later=SHORTHAND_NEW_LATER))

    written_later = [pair for pair in shared if any(later_forms(u) or case_forms(u) for u in pair)]
    named_later = [pair for pair in written_later if any(later_forms(u) for u in pair)]  # "3c", "tbs", "mtrs"

    def later_form():
        pairs = named_later if rng.random() < 0.5 else written_later
        return ask(*rng.choice(pairs), later=SHORTHAND_LATER, typed=SHORTHAND_TYPED)

    def shape():
        return make_example(rng, *rng.choice(common), rng.choice(TERSE_TEMPLATES), short_share=FORMS_SHORT,
                            typed=SHORTHAND_TYPED, later=SHORTHAND_NEW_LATER, slips=FORMS_SLIPS)

    not_temperature = [pair for pair in shared if pair[0].category != "temperature"]

    def big():
        pair = rng.choice(common) if rng.random() < FORMS_COMMON * 2 else rng.choice(not_temperature)
        return ask(*pair, big=pair[0].category != "temperature", typed=SHORTHAND_TYPED)

    kitchen = [BY_NAME[name] for name in ("liter", "milliliter", "cup", "gallon", "quart", "pint", "tablespoon")]
    ounces = [pair for unit in kitchen for pair in ((BY_NAME["fluid ounce"], unit), (unit, BY_NAME["fluid ounce"]))
              if pair in allowed]

    def ounce():
        return ask(*rng.choice(ounces), context=1.0, typed=SHORTHAND_TYPED, later=SHORTHAND_NEW_LATER)

    for n, draw in ((n_new, new_unit), (n_forms, later_form), (n_shapes, shape), (n_big, big), (n_ounces, ounce)):
        keep(out, seen, len(out) + n, draw, lambda e: plausible(e) and not lowered(e, {"data"}))
    no_data = [pair for pair in shared if pair[0].category != "data"]
    no_data_common = common_pairs(set(no_data))
    keep(out, seen, len(out) + n_said, said_question(random.Random(f"shorthand-said-{seed}"), no_data, no_data_common,
                                                     itertools.count()))
    scales = [pair for pair in no_data if pair[0].category == "temperature"]
    keep(out, seen, len(out) + n_plain, plain_question(random.Random(f"shorthand-plain-{seed}"),
                                                       PairSampler(no_data), no_data_common, scales))
    return out


def more_examples(seed: int, taken: set[str], n_new: int = MORE_NEW, n_later: int = MORE_LATER) -> list[Example]:
    """The `more` split (MORE_* above), part by part, each from a generator of its own; none of its questions in
    `taken`. Seen pairs only among the first units."""
    rng = random.Random(f"more-{seed}")
    seen, out, k = set(taken), [], itertools.count()
    shared = split_pairs(seed)[0]
    looks_alike = {"data", "mass", "temperature", "energy"}  # the first categories the new units are written like
    contrast = [pair for pair in shared if pair[0].category in looks_alike]
    watts = [(a, b) for a in LATER_UNITS for b in LATER_UNITS if a.category == b.category == "power" and a is not b]

    def ask(source, target) -> Example:
        return terse_example(rng, k, source, target, typed=SHORTHAND_TYPED)

    def new_unit():
        if rng.random() < MORE_CONTRAST:
            return ask(*rng.choice(contrast if rng.random() < 0.8 else watts))
        return beside(rng, rng.choice(MORE_UNITS), MORE_PARTNERS, ALL_UNITS, ask)

    def later_unit():
        unit = BY_NAME["micrometer"] if rng.random() < MORE_MICRO else rng.choice(LATER_UNITS)
        return beside(rng, unit, LATER_PARTNERS, ALL_UNITS, ask)

    def fits(e: Example) -> bool:  # `plausible`, answers up to MORE_LARGEST, not lowered in MORE_CASED
        in_range = e.category == "temperature" or 0.01 <= abs(e.answer) < MORE_LARGEST
        return in_range and not lowered(e, MORE_CASED)

    for n, draw in ((n_new, new_unit), (n_later, later_unit)):
        keep(out, seen, len(out) + n, draw, fits)
    return out


def generate_splits(n_train: int, n_eval: int, seed: int = 0, n_extra: int = EXTRA_TRAIN,
                    reserved: set[str] = frozenset(), n_data: int = EXTRA_DATA,
                    n_variants: int = EXTRA_VARIANTS) -> dict[str, list[Example]]:
    """Disjoint train/valid/test/written; test and written also hold questions on pairs no other split has.

    The `n_extra` train questions after the first `n_train` are drawn after the evaluation splits, from their own
    generator, so adding or changing them leaves valid, test and written as they were; they never
    ask a question in `reserved` (the ambiguous split's). The `n_data` data-size questions come
    next and the `n_variants` questions on words of several readings last, each from a generator of
    their own, so they leave every question before them as it was.
    """
    rng = random.Random(seed)
    shared, unseen = split_pairs(seed)
    seen_texts: set[str] = set()
    splits: dict[str, list[Example]] = {}
    cycle = {"train": 0}

    def draw(sampler, count, templates, written=False, words=None, rng=rng, extra=False, short_share=SHORT_SHARE):
        out = []
        while len(out) < count:
            source, target = sampler(rng)
            template = templates[cycle["train"] % len(templates)]
            cycle["train"] += 1
            example = make_example(rng, source, target, template, written, words,
                                   context=EXTRA_CONTEXT if extra else None, slips=EXTRA_SLIPS if extra else 0.0,
                                   short_share=short_share)
            if extra and example.question in reserved:
                continue
            if example.question not in seen_texts and plausible(example):
                seen_texts.add(example.question)
                out.append(example)
        return out

    splits["train"] = draw(PairSampler(shared), n_train, TEMPLATES)
    splits["valid"] = draw(PairSampler(shared), n_eval, TEMPLATES)
    n_unseen = n_eval // 5
    for name, templates, written in (("test", TEMPLATES, False), ("written", WRITTEN_TEMPLATES, True)):
        examples = (draw(PairSampler(shared), n_eval - n_unseen, templates, written)
                    + draw(PairSampler(unseen), n_unseen, templates, written))
        rng.shuffle(examples)
        splits[name] = examples
    splits["train"] += draw(PairSampler(shared, EXTRA_HARD_BOOST), n_extra, TEMPLATES, words=EXTRA_WORDS,
                            rng=random.Random(f"extra-{seed}"), extra=True)
    data_pairs = [p for p in shared if p[0].category == "data"]
    splits["train"] += draw(lambda r: r.choice(data_pairs), n_data, TEMPLATES, words=EXTRA_WORDS,
                            rng=random.Random(f"data-{seed}"), extra=True, short_share=EXTRA_DATA_SHORT)
    splits["train"] += draw(variant_sampler(shared), n_variants, TEMPLATES, words=EXTRA_WORDS,
                            rng=random.Random(f"variants-{seed}"), extra=True)
    return splits


def plausible(example: Example) -> bool:
    """Skip answers the 3-decimal scoring rule cannot judge (tiny) or nobody asks for (huge)."""
    return example.category == "temperature" or 0.01 <= abs(example.answer) < 1e10


def write_splits(out: Path, n_train: int = 10000, n_eval: int = 1000, seed: int = 0,
                 per_reading: int = 12, n_extra: int = EXTRA_TRAIN, n_data: int = EXTRA_DATA,
                 n_variants: int = EXTRA_VARIANTS, n_forms: int = FORMS_QUESTIONS,
                 n_values: int = FORMS_VALUES, n_plain: int = FORMS_PLAIN,
                 n_letters: int = N_LETTERS, n_letters_focus: int = LETTERS_FOCUS_QUESTIONS,
                 n_letters_said: int = LETTERS_SAID, n_letters_plain: int = LETTERS_PLAIN,
                 shorthand_parts: tuple[int, ...] = SHORTHAND_PARTS,
                 more_parts: tuple[int, ...] = MORE_PARTS) -> dict[str, Path]:
    """Write train/valid/test/written/ambiguous/forms/letters/shorthand/more JSON (train, forms, letters,
    shorthand, more with gold reasoning) and `.tags.json` sidecars."""
    from .data import write_json_atomic

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _, unseen = split_pairs(seed)
    unseen_names = {(a.name, b.name) for a, b in unseen}
    ambiguous = ambiguous_examples(random.Random(f"ambiguous-{seed}"), per_reading)
    reserved = {example.question for example, _ in ambiguous}
    splits = {name: [(e, None) for e in examples]
              for name, examples in
              generate_splits(n_train, n_eval, seed, n_extra, reserved, n_data, n_variants).items()}
    taken = {e.question for examples in splits.values() for e, _ in examples}
    splits["ambiguous"] = []
    for example, reading in ambiguous:
        if example.question not in taken:
            taken.add(example.question)
            splits["ambiguous"].append((example, reading))
    splits["forms"] = [(e, None) for e in forms_examples(seed, n_forms, taken, n_values, n_plain)]
    taken |= {e.question for e, _ in splits["forms"]}
    splits["letters"] = [(e, None) for e in letters_examples(seed, n_letters, taken)]
    taken |= {e.question for e, _ in splits["letters"]}
    splits["letters"] += [(e, None) for e in letters_more_examples(seed, n_letters_focus, n_letters_said,
                                                                    n_letters_plain, taken)]
    taken |= {e.question for e, _ in splits["letters"]}
    splits["shorthand"] = [(e, None) for e in shorthand_examples(seed, taken, *shorthand_parts)]
    taken |= {e.question for e, _ in splits["shorthand"]}
    splits["more"] = [(e, None) for e in more_examples(seed, taken, *more_parts)]
    paths = {}
    for split, examples in splits.items():
        path = out / f"{split}.json"
        reasoning = split in ("train", "forms", "letters", "shorthand", "more")
        write_json_atomic(path, [e.entry(with_reasoning=reasoning) for e, _ in examples])
        tags = [
            {"category": e.category, "source": e.source, "target": e.target,
             "unseen_pair": (e.source, e.target) in unseen_names, **({"reading": r} if r else {})}
            for e, r in examples
        ]
        write_json_atomic(path.with_suffix(".tags.json"), tags)
        paths[split] = path
    return paths


def check_files(paths: list[Path]) -> list[str]:
    """Problems across data files: duplicate questions within a file and overlap between files."""
    from .data import read_entries

    problems = []
    seen: dict[str, str] = {}
    for path in paths:
        questions = [entry[0] for entry in read_entries(path)]
        if len(set(questions)) != len(questions):
            problems.append(f"{path}: {len(questions) - len(set(questions))} duplicate questions")
        for q in set(questions):
            if q in seen and seen[q] != str(path):
                problems.append(f"overlap: {q!r} in {seen[q]} and {path}")
            seen.setdefault(q, str(path))
    return problems


def counts(parts: tuple[int, ...]):
    """A parser of a split's part counts, "300,200,...": as many as `parts` (its defaults), none negative."""
    def parse(text: str) -> tuple[int, ...]:
        try:
            values = tuple(int(part) for part in text.split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(f"not comma-separated whole numbers: {text!r}") from None
        if len(values) != len(parts) or min(values) < 0:
            raise argparse.ArgumentTypeError(f"{len(parts)} counts of 0 or more, not {text!r}")
        return values
    return parse


def main(argv=None):
    """`unitlm data generate|check`: write the splits, or look for duplicates and overlap between files."""
    from .data import SPLITS_DIR

    parser = argparse.ArgumentParser(
        prog="unitlm data",
        description="Generate question splits with exact answers, or check data files.",
        epilog="example: unitlm data generate --n 10000 --n-eval 1000 --seed 0 --out src/unitlm/splits",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    generate = sub.add_parser("generate", help="write train/valid/test/written/ambiguous/forms/letters/shorthand/more JSON")
    generate.add_argument("--n", type=checked(int, {"at_least": 1}), default=10000, help="train questions drawn before the evaluation splits (default: %(default)s)")
    generate.add_argument("--n-extra", type=checked(int, {"at_least": 0}), default=EXTRA_TRAIN,
                          help="train questions drawn after the evaluation splits, more of them with number words "
                               "(default: %(default)s)")
    generate.add_argument("--n-data", type=checked(int, {"at_least": 0}), default=EXTRA_DATA,
                          help="data-size train questions after those, short forms and bits beside bytes "
                               "(default: %(default)s)")
    generate.add_argument("--n-variants", type=checked(int, {"at_least": 0}), default=EXTRA_VARIANTS,
                          help="train questions last, on words of several readings (ton, ounce, gallon ...) and "
                               "the variants they name (default: %(default)s)")
    generate.add_argument("--n-forms", type=checked(int, {"at_least": 0}), default=FORMS_QUESTIONS,
                          help="questions of the forms split: everyday pairs in the forms people type, for a last "
                               "training round (default: %(default)s)")
    generate.add_argument("--n-values", type=checked(int, {"at_least": 0}), default=FORMS_VALUES,
                          help="questions of the forms split after those, values as people say them: \"3/4 cup\", "
                               "\"half a gallon\", \"five hundred grams\" (default: %(default)s)")
    generate.add_argument("--n-plain", type=checked(int, {"at_least": 0}), default=FORMS_PLAIN,
                          help="questions of the forms split last, values the other splits hardly hold: \"in a day\", "
                               "\".25 s\", \"1,000,000 bytes\", \"0 C\" (default: %(default)s)")
    generate.add_argument("--n-letters", type=checked(int, {"at_least": 0}), default=N_LETTERS,
                          help="questions of the letters split, for both last rounds: units as letters, "
                               "\"20 C to F\", \"10 K to M\" (default: %(default)s)")
    generate.add_argument("--n-letters-focus", type=checked(int, {"at_least": 0}), default=LETTERS_FOCUS_QUESTIONS,
                          help="questions of the letters split after those, for RFT's last round: units read as "
                               "another of their kind, \"2 mg to oz\", \"4 cal in kcal\" (default: %(default)s)")
    generate.add_argument("--n-letters-said", type=checked(int, {"at_least": 0}), default=LETTERS_SAID,
                          help="questions of the letters split after those, for RFT's last round: values as people "
                               "say them, as in the forms split (default: %(default)s)")
    generate.add_argument("--n-letters-plain", type=checked(int, {"at_least": 0}), default=LETTERS_PLAIN,
                          help="questions of the letters split last, for RFT's last round: values the other splits "
                               "hardly hold, \"in a day\", as in the forms split (default: %(default)s)")
    generate.add_argument("--shorthand-parts", type=counts(SHORTHAND_PARTS), default=",".join(map(str, SHORTHAND_PARTS)),
                          help="questions of the shorthand split's parts, for both first rounds, comma-separated: "
                               "units added later (power, TiB, mcg ...), later forms and other cases (\"3c\", "
                               "\"KM\"), no verb (\"976 m km\"), values with commas, ounces beside liters, "
                               "said values, plain values (default: %(default)s)")
    generate.add_argument("--more-parts", type=counts(MORE_PARTS), default=",".join(map(str, MORE_PARTS)),
                          help="questions of the more split's parts (no recipe trains on it yet), comma-separated: "
                               "units added after the shorthand split (angles, forces, data rates, light years, dL ...) "
                               "or first units written like them, units of the shorthand split again (default: "
                               "%(default)s)")
    generate.add_argument("--n-eval", type=checked(int, {"at_least": 1}), default=1000,
                          help="valid, test and written questions each (default: %(default)s)")
    generate.add_argument("--seed", type=int, default=0, help="(default: %(default)s)")
    generate.add_argument("--out", type=Path, default=SPLITS_DIR, help="(default: %(default)s)")
    check = sub.add_parser("check", help="report duplicates and overlap between files")
    check.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    if args.command == "generate":
        for split, path in write_splits(args.out, args.n, args.n_eval, args.seed, n_extra=args.n_extra,
                                              n_data=args.n_data, n_variants=args.n_variants,
                                              n_forms=args.n_forms, n_values=args.n_values,
                                              n_plain=args.n_plain, n_letters=args.n_letters,
                                              n_letters_focus=args.n_letters_focus,
                                              n_letters_said=args.n_letters_said,
                                              n_letters_plain=args.n_letters_plain,
                                              shorthand_parts=args.shorthand_parts,
                                              more_parts=args.more_parts).items():
            print(f"{split}: {path}")
        return 0
    problems = check_files(args.files)
    print("\n".join(problems[:50]) if problems else f"ok: {len(args.files)} files, no duplicates, no overlap")
    if len(problems) > 50:
        print(f"... and {len(problems) - 50} more")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
