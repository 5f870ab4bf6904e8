"""700 short questions as people type them into a search box ("How many MB is 4 G?", "72F to C",
"2c in milliliters", "976 metres KM"), answered by SFT and RFT; accuracy per category and the misses.

The questions are drawn apart from the project's generator: a unit table, templates, values and
readings of their own, gold answers from pint directly (not units.py). 512 ask the conversions
people look up most, 128 rarer ones of the same categories (some with units the data model lacks:
TiB, MPa, inches of mercury, Mbps), and 60 (category "outside") units of no category the data
model holds or that it lacks (micrograms, microns, nanoseconds, petabytes, watts, horsepower,
hertz, radians, light years); the last lines leave those 60 out, then score each category. Conventions where a
form has two readings: decimal data sizes, b = bit, bare G/M/K/T beside a byte unit, ton = US
short ton, oz beside a volume = US fluid ounce, cal = small calorie, year = 365.25 days.

    python scripts/searchbox.py --adapters src/unitlm --out runs/searchbox.json
"""
import argparse
import math
import random
import re
from pathlib import Path

import pint
from values import score

from unitlm import units

SEED = 20240611

ureg = pint.UnitRegistry()
Q = ureg.Quantity

# ---------------------------------------------------------------------------
# Unit table.  Each unit: pint expression, category, case-insensitive flag
# (whether lowercasing the whole question keeps the meaning), and surface
# forms.  A form is either an abbreviation ("km") or a word "singular|plural".
# Forms prefixed with "!" are "bare" data letters (G, M, gigs...) that may only
# be used when the other unit of the question is a byte unit.
# Forms prefixed with "^" are only used next to the number, never as target.
# Forms prefixed with "~" are not safe under lowercasing (e.g. "Calories").
# ---------------------------------------------------------------------------
U = {}


def unit(key, pint_expr, cat, forms, ci=True, byte=False):
    U[key] = dict(pint=pint_expr, cat=cat, forms=forms, ci=ci, byte=byte)


# ---- data ----
unit("B", "byte", "data", ["B", "bytes", "byte|bytes"], ci=False, byte=True)
unit("KB", "kilobyte", "data", ["KB", "kB", "KB", "kilobyte|kilobytes", "!K"], ci=False, byte=True)
unit("MB", "megabyte", "data", ["MB", "MB", "MB", "megabyte|megabytes", "!M", "!megs"], ci=False, byte=True)
unit("GB", "gigabyte", "data", ["GB", "GB", "GB", "gigabyte|gigabytes", "Gigabyte|Gigabytes", "!G", "!gigs"], ci=False, byte=True)
unit("TB", "terabyte", "data", ["TB", "TB", "terabyte|terabytes", "!T"], ci=False, byte=True)
unit("bit", "bit", "data", ["bits", "bit|bits"], ci=True)
unit("kbit", "kilobit", "data", ["kb", "Kb", "kbit", "kilobit|kilobits"], ci=False)
unit("Mbit", "megabit", "data", ["Mb", "Mb", "Mbit", "megabit|megabits"], ci=False)
unit("Gbit", "gigabit", "data", ["Gb", "Gbit", "gigabit|gigabits"], ci=False)
unit("KiB", "kibibyte", "data", ["KiB", "kibibyte|kibibytes"], ci=False, byte=True)
unit("MiB", "mebibyte", "data", ["MiB", "MiB", "mebibyte|mebibytes"], ci=False, byte=True)
unit("GiB", "gibibyte", "data", ["GiB", "GiB", "gibibyte|gibibytes"], ci=False, byte=True)
unit("TiB", "tebibyte", "data", ["TiB", "tebibyte|tebibytes"], ci=False, byte=True)
unit("Mbps", "megabit/second", "data", ["Mbps", "Mbps", "Mb/s", "megabits per second"], ci=False)
unit("MBps", "megabyte/second", "data", ["MB/s", "MB/s", "MBps", "megabytes per second"], ci=False)
# outside
unit("PB", "petabyte", "outside", ["PB", "PB", "petabyte|petabytes"], ci=False, byte=True)

# ---- length ----
unit("km", "kilometer", "length", ["km", "km", "km", "KM", "kms", "kilometer|kilometers", "kilometre|kilometres", "kilomter|kilomters"])
unit("mi", "mile", "length", ["mi", "mi", "mile|miles", "mile|miles", "Mile|Miles"])
unit("m", "meter", "length", ["m", "m", "meter|meters", "metre|metres", "mtrs"], ci=True)
unit("ft", "foot", "length", ["ft", "ft", "ft.", "foot|feet", "feet|feet", "Feet|Feet"])
unit("in", "inch", "length", ["in", "in.", "inch|inches", "inch|inches", "inchs|inchs"])
unit("cm", "centimeter", "length", ["cm", "cm", "cm", "CM", "cms", "centimeter|centimeters", "centimetre|centimetres"])
unit("mm", "millimeter", "length", ["mm", "mm", "millimeter|millimeters", "millimetre|millimetres"], ci=True)
unit("yd", "yard", "length", ["yd", "yds", "yard|yards", "yard|yards"])
unit("nmi", "nautical_mile", "length", ["nmi", "NM", "nautical mile|nautical miles", "nautical mile|nautical miles"], ci=False)
# outside
unit("um", "micrometer", "outside", ["µm", "μm", "um", "micrometer|micrometers", "micron|microns"], ci=True)
unit("nm", "nanometer", "outside", ["nm", "nm", "nanometer|nanometers", "nanometre|nanometres"], ci=True)
unit("ly", "light_year", "outside", ["ly", "light year|light years", "light-year|light-years", "lightyear|lightyears"], ci=True)

# ---- mass ----
unit("kg", "kilogram", "mass", ["kg", "kg", "kg", "KG", "kgs", "kilogram|kilograms", "kilo|kilos"])
unit("lb", "pound", "mass", ["lb", "lbs", "lbs", "lbs.", "LBS", "pound|pounds", "pound|pounds"])
unit("g", "gram", "mass", ["g", "g", "gram|grams", "gram|grams", "gramme|grammes", "grms"])
unit("oz", "ounce", "mass", ["oz", "oz", "OZ", "ounce|ounces", "ounce|ounces"])
unit("mg", "milligram", "mass", ["mg", "mg", "milligram|milligrams"], ci=True)
unit("st", "stone", "mass", ["st", "stone|stone", "stone|stones"])
unit("t", "tonne", "mass", ["tonne|tonnes", "tonne|tonnes", "metric ton|metric tons"])
unit("ton", "short_ton", "mass", ["ton|tons", "ton|tons", "short ton|short tons"])
# outside
unit("mcg", "microgram", "outside", ["mcg", "mcg", "µg", "μg", "ug", "microgram|micrograms"], ci=True)

# ---- time ----
unit("s", "second", "time", ["s", "sec", "secs", "second|seconds", "second|seconds"])
unit("min", "minute", "time", ["min", "mins", "mins", "minute|minutes", "minute|minutes"])
unit("h", "hour", "time", ["h", "hr", "hrs", "hrs", "hour|hours", "hour|hours"])
unit("day", "day", "time", ["day|days", "day|days", "day|days", "^d"])
unit("week", "week", "time", ["week|weeks", "week|weeks", "wk", "wks"])
unit("month", "month", "time", ["month|months", "month|months", "^mo"])
unit("year", "year", "time", ["year|years", "year|years", "yr", "yrs"])
unit("ms", "millisecond", "time", ["ms", "ms", "millisecond|milliseconds", "millisec|millisecs"], ci=True)
unit("century", "century", "time", ["century|centuries"])
# outside
unit("us", "microsecond", "outside", ["µs", "μs", "microsecond|microseconds", "microsecond|microseconds"], ci=True)
unit("ns", "nanosecond", "outside", ["ns", "ns", "nanosecond|nanoseconds"], ci=True)
unit("fortnight", "fortnight", "outside", ["fortnight|fortnights"])

# ---- volume ----
unit("L", "liter", "volume", ["L", "L", "l", "liter|liters", "litre|litres", "ltr", "ltrs", "Liter|Liters"])
unit("gal", "gallon", "volume", ["gal", "gal", "gallon|gallons", "gallon|gallons", "gals"])
unit("ml", "milliliter", "volume", ["ml", "ml", "mL", "ML", "milliliter|milliliters", "millilitre|millilitres", "mililiter|mililiters"], ci=True)
unit("floz", "fluid_ounce", "volume", ["oz", "oz", "fl oz", "fl oz", "fl. oz", "ounce|ounces", "fluid ounce|fluid ounces"])
unit("cup", "cup", "volume", ["cup|cups", "cup|cups", "cup|cups", "^c"])
unit("tsp", "teaspoon", "volume", ["tsp", "tsp", "teaspoon|teaspoons", "tsps"])
unit("tbsp", "tablespoon", "volume", ["tbsp", "tbsp", "Tbsp", "tablespoon|tablespoons", "tbs"])
unit("pint", "pint", "volume", ["pint|pints", "pint|pints", "pt"])
unit("quart", "quart", "volume", ["quart|quarts", "qt", "qts"])
unit("cc", "cubic_centimeter", "volume", ["cc", "cc", "cm3", "cm³"], ci=True)
unit("ft3", "foot**3", "volume", ["cu ft", "cubic feet|cubic feet", "ft3", "ft³", "cubic foot|cubic feet"])
unit("m3", "meter**3", "volume", ["m3", "m³", "cubic meter|cubic meters", "cubic metre|cubic metres"])
unit("impgal", "imperial_gallon", "volume", ["imperial gallon|imperial gallons", "UK gallon|UK gallons"], ci=False)

# ---- speed ----
unit("mph", "mile/hour", "speed", ["mph", "mph", "mph", "MPH", "miles per hour|miles per hour", "mi/h"])
unit("kph", "kilometer/hour", "speed", ["kph", "km/h", "km/h", "kmh", "km/hr", "kmph", "KPH", "kilometers per hour|kilometers per hour", "kilometres per hour|kilometres per hour"])
unit("mps", "meter/second", "speed", ["m/s", "m/s", "m/s", "meters per second|meters per second", "metres per second|metres per second"])
unit("knot", "knot", "speed", ["knot|knots", "knot|knots", "^kn", "kts"])
unit("fps", "foot/second", "speed", ["ft/s", "ft/s", "feet per second|feet per second"])

# ---- area ----
unit("ft2", "foot**2", "area", ["sq ft", "sq ft", "sqft", "sq. ft.", "ft2", "ft²", "square foot|square feet", "square feet|square feet"])
unit("m2", "meter**2", "area", ["m2", "m²", "m²", "sq m", "sqm", "square meter|square meters", "square metre|square metres"])
unit("acre", "acre", "area", ["acre|acres", "acre|acres", "acre|acres", "^ac"])
unit("ha", "hectare", "area", ["hectare|hectares", "hectare|hectares", "ha"])
unit("km2", "kilometer**2", "area", ["km2", "km²", "sq km", "square kilometer|square kilometers"])
unit("mi2", "mile**2", "area", ["sq mi", "square mile|square miles", "mi²"])
unit("in2", "inch**2", "area", ["sq in", "square inch|square inches", "in²"])
unit("cm2", "centimeter**2", "area", ["cm2", "cm²", "sq cm", "square centimeter|square centimeters"])

# ---- energy ----
unit("kcal", "kilocalorie", "energy", ["kcal", "kcal", "kcal", "kilocalorie|kilocalories", "~Calorie|Calories"], ci=True)
unit("cal", "calorie", "energy", ["cal", "cal"], ci=True)
unit("kJ", "kilojoule", "energy", ["kJ", "kJ", "kj", "KJ", "kilojoule|kilojoules"])
unit("J", "joule", "energy", ["J", "J", "joule|joules", "joule|joules"], ci=False)
unit("kWh", "kilowatt_hour", "energy", ["kWh", "kWh", "kwh", "KWH", "kilowatt hour|kilowatt hours", "kilowatt-hour|kilowatt-hours"])
unit("BTU", "BTU", "energy", ["BTU", "BTU", "btu", "Btu", "BTUs"])
unit("Wh", "watt_hour", "energy", ["Wh", "Wh", "watt hour|watt hours"], ci=False)
unit("MJ", "megajoule", "energy", ["MJ", "MJ", "megajoule|megajoules"], ci=False)

# ---- pressure ----
unit("psi", "psi", "pressure", ["psi", "psi", "PSI"])
unit("bar", "bar", "pressure", ["bar", "bar", "bar|bars"])
unit("kPa", "kilopascal", "pressure", ["kPa", "kPa", "kpa", "KPA", "kilopascal|kilopascals"])
unit("atm", "atm", "pressure", ["atm", "atm", "atmosphere|atmospheres"])
unit("Pa", "pascal", "pressure", ["Pa", "Pa", "pascal|pascals"], ci=False)
unit("hPa", "hectopascal", "pressure", ["hPa", "hPa", "hpa", "hectopascal|hectopascals"])
unit("mbar", "millibar", "pressure", ["mbar", "mbar", "millibar|millibars"], ci=True)
unit("mmHg", "mmHg", "pressure", ["mmHg", "mmHg", "mm Hg", "mmhg"])
unit("inHg", "inHg", "pressure", ["inHg", "in Hg", "inches of mercury|inches of mercury"])
unit("MPa", "megapascal", "pressure", ["MPa", "MPa", "megapascal|megapascals"], ci=False)

# ---- temperature ----
unit("F", "degF", "temperature", ["F", "F", "F", "°F", "°F", "degrees F", "deg F", "f", "fahrenheit", "Fahrenheit", "farenheit", "degrees fahrenheit"])
unit("C", "degC", "temperature", ["C", "C", "C", "°C", "°C", "degrees C", "deg C", "c", "celsius", "Celsius", "celcius", "centigrade", "degrees celsius"])
unit("K", "kelvin", "temperature", ["K", "K", "kelvin", "Kelvin"], ci=False)

# ---- outside: power / frequency / angle ----
unit("W", "watt", "outside", ["W", "W", "watt|watts", "watt|watts"], ci=False)
unit("kW", "kilowatt", "outside", ["kW", "kW", "kw", "kilowatt|kilowatts"])
unit("hp", "horsepower", "outside", ["hp", "hp", "HP", "horsepower|horsepower", "bhp"])
unit("Hz", "hertz", "outside", ["Hz", "Hz", "hz", "hertz|hertz"])
unit("kHz", "kilohertz", "outside", ["kHz", "kHz", "khz", "kilohertz|kilohertz"])
unit("MHz", "megahertz", "outside", ["MHz", "MHz", "mhz", "megahertz|megahertz"], ci=False)
unit("GHz", "gigahertz", "outside", ["GHz", "GHz", "ghz", "gigahertz|gigahertz"])
unit("deg", "degree", "outside", ["°", "deg", "degree|degrees", "degree|degrees"])
unit("rad", "radian", "outside", ["rad", "rad", "radian|radians", "radian|radians"])

# ---------------------------------------------------------------------------
# Value generators.  Each returns the string as typed; the gold uses the
# float parsed back from that exact string.
# ---------------------------------------------------------------------------


def fmt_large(rng, n):
    n = int(round(n))
    return f"{n:,}" if rng.random() < 0.5 else str(n)


def fmt_dec(x):
    s = f"{x:.4f}".rstrip("0").rstrip(".")
    return s


def v_gen(rng):
    r = rng.random()
    if r < 0.35:
        return str(rng.randint(1, 20))
    if r < 0.55:
        return str(rng.choice([rng.randint(20, 100), rng.randint(100, 500), rng.choice([25, 50, 75, 100, 150, 200, 250, 500])]))
    if r < 0.80:
        base = rng.randint(1, 30)
        frac = rng.choice([0.5, 0.25, 0.75, 0.2, 0.1, 0.3, 0.6, 0.8, 0.4, 0.9, 0.05])
        return fmt_dec(base + frac)
    if r < 0.90:
        s = fmt_dec(rng.choice([0.25, 0.5, 0.1, 0.75, 0.2, 0.3, 0.05, 0.4, 0.6, 0.8, 0.125]))
        if rng.random() < 0.15:
            s = s[1:]  # ".5"
        return s
    return str(rng.choice([rng.randint(500, 9999), rng.choice([1000, 1500, 2000, 2500, 5000, 10000, 1200, 3000])]))


def v_big(rng):
    r = rng.random()
    if r < 0.5:
        return str(rng.choice([rng.randint(100, 999), rng.randint(1000, 9999), rng.choice([1000, 1500, 2000, 2500, 5000, 10000])]))
    m = rng.choice([1.5, 2, 2.5, 3, 5, 7.5, 1.2, 4, 10, 12.5, 25])
    e = rng.choice([4, 5, 6])
    n = m * 10 ** e
    if rng.random() < 0.25:
        n = rng.randint(10000, 3000000)
    return fmt_large(rng, n)


def v_small(rng):
    r = rng.random()
    if r < 0.45:
        return str(rng.randint(1, 10))
    if r < 0.75:
        return fmt_dec(rng.randint(1, 9) + rng.choice([0.5, 0.25, 0.2, 0.75, 0.1]))
    s = fmt_dec(rng.choice([0.25, 0.5, 0.1, 0.75, 0.2, 0.05, 0.3, 0.01, 0.125]))
    if rng.random() < 0.15:
        s = s[1:]
    return s


def v_data(rng):
    r = rng.random()
    if r < 0.55:
        return str(rng.choice([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2, 4, 8, 16, 64]))
    if r < 0.75:
        return str(rng.choice([3, 5, 10, 20, 50, 100, 200, 250, 500, 750, 1000, 1500, 2000]))
    if r < 0.88:
        return fmt_dec(rng.choice([1.5, 2.5, 0.5, 4.7, 3.2, 1.44, 0.25, 7.5, 1.2, 0.8]))
    return fmt_large(rng, rng.choice([1500000, 2000000, 1048576, 500000, 250000, 3500000, 1200000, 10000000]))


def v_tempF(rng):
    r = rng.random()
    if r < 0.75:
        return str(rng.choice([rng.randint(-20, 110), rng.randint(30, 100), rng.choice([32, 212, 98.6, 350, 375, 400, 425, 450, -40, 0, 72, 68, 100])]))
    return fmt_dec(rng.randint(90, 104) + rng.choice([0.5, 0.6, 0.2, 0.8, 0.4]))


def v_tempC(rng):
    r = rng.random()
    if r < 0.75:
        return str(rng.choice([rng.randint(-30, 45), rng.randint(15, 40), rng.choice([0, 100, 37, 180, 200, 220, 250, -40, 25, 21, -18])]))
    return fmt_dec(rng.randint(35, 40) + rng.choice([0.5, 0.6, 0.2, 0.8, 0.4]))


def v_tempK(rng):
    return str(rng.choice([0, 100, 273, 273.15, 293, 298, 300, 310, 350, 373, 400, 500, 77, 4, 1000]))


def v_speed(rng):
    r = rng.random()
    if r < 0.75:
        return str(rng.choice([rng.randint(5, 150), rng.choice([30, 40, 50, 55, 60, 65, 70, 80, 100, 120, 130])]))
    return fmt_dec(rng.randint(1, 40) + rng.choice([0.5, 0.2, 0.8]))


def v_time_small(rng):
    r = rng.random()
    if r < 0.7:
        return str(rng.randint(1, 48))
    return fmt_dec(rng.choice([0.5, 1.5, 2.5, 0.25, 0.75, 3.5, 1.25, 4.5]))


def v_cook(rng):
    r = rng.random()
    if r < 0.6:
        return str(rng.choice([1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20]))
    return fmt_dec(rng.choice([0.5, 0.25, 0.75, 1.5, 2.5, 0.33, 1.25, 0.125]))


def v_ml(rng):
    return str(rng.choice([5, 10, 15, 30, 50, 100, 120, 150, 200, 240, 250, 300, 330, 355, 375, 400, 473, 500, 750, 1000]))


def v_tiny(rng):
    return str(rng.choice([1, 2, 5, 10, 25, 50, 100, 250, 400, 500, 1000, 2500, 5000]))


VAL = dict(gen=v_gen, big=v_big, small=v_small, data=v_data, tempF=v_tempF,
           tempC=v_tempC, tempK=v_tempK, speed=v_speed, tsmall=v_time_small,
           cook=v_cook, ml=v_ml, tiny=v_tiny)

# ---------------------------------------------------------------------------
# Conversion pairs: (from, to, weight, value profile)
# ---------------------------------------------------------------------------
COMMON = [
    # data
    ("GB", "MB", 6, "data"), ("MB", "GB", 5, "big"), ("TB", "GB", 4, "data"), ("GB", "TB", 4, "data"),
    ("KB", "MB", 3, "big"), ("MB", "KB", 3, "data"), ("KB", "B", 2, "data"), ("B", "KB", 2, "big"),
    ("MB", "B", 2, "data"), ("B", "MB", 2, "big"), ("Mbit", "MB", 4, "data"), ("MB", "Mbit", 3, "data"),
    ("Gbit", "GB", 2, "data"), ("GB", "Gbit", 2, "data"), ("KB", "bit", 2, "data"), ("B", "bit", 2, "data"),
    ("bit", "B", 1, "big"), ("kbit", "KB", 1, "data"), ("TB", "MB", 2, "small"), ("GB", "KB", 1, "small"),
    ("MB", "TB", 1, "big"),
    # length
    ("km", "mi", 8, "gen"), ("mi", "km", 8, "gen"), ("ft", "m", 5, "gen"), ("m", "ft", 6, "gen"),
    ("in", "cm", 6, "gen"), ("cm", "in", 7, "gen"), ("mm", "in", 3, "gen"), ("in", "mm", 3, "gen"),
    ("cm", "ft", 3, "gen"), ("m", "km", 2, "big"), ("km", "m", 2, "small"), ("mi", "ft", 2, "small"),
    ("ft", "in", 2, "gen"), ("ft", "cm", 2, "gen"), ("m", "cm", 1, "small"), ("cm", "mm", 1, "gen"),
    ("mm", "cm", 1, "big"), ("m", "in", 2, "gen"),
    # mass
    ("kg", "lb", 9, "gen"), ("lb", "kg", 9, "gen"), ("g", "oz", 5, "gen"), ("oz", "g", 6, "gen"),
    ("lb", "oz", 4, "gen"), ("oz", "lb", 2, "gen"), ("kg", "g", 2, "small"), ("g", "kg", 2, "big"),
    ("lb", "g", 2, "gen"), ("g", "lb", 2, "big"), ("kg", "oz", 1, "small"),
    # temperature
    ("F", "C", 18, "tempF"), ("C", "F", 17, "tempC"), ("C", "K", 3, "tempC"), ("K", "C", 3, "tempK"),
    ("F", "K", 1, "tempF"), ("K", "F", 1, "tempK"),
    # volume
    ("L", "gal", 5, "gen"), ("gal", "L", 5, "gen"), ("ml", "floz", 4, "ml"), ("floz", "ml", 5, "cook"),
    ("ml", "cup", 4, "ml"), ("cup", "ml", 5, "cook"), ("tsp", "ml", 2, "cook"), ("tbsp", "ml", 3, "cook"),
    ("ml", "tsp", 2, "ml"), ("ml", "tbsp", 2, "ml"), ("tbsp", "tsp", 2, "cook"), ("cup", "tbsp", 2, "cook"),
    ("cup", "floz", 2, "cook"), ("L", "ml", 2, "small"), ("ml", "L", 2, "big"), ("L", "cup", 2, "gen"),
    ("gal", "floz", 1, "small"), ("floz", "L", 1, "gen"), ("L", "floz", 2, "small"), ("pint", "ml", 1, "cook"),
    ("quart", "L", 1, "cook"), ("cup", "L", 1, "cook"), ("gal", "cup", 1, "small"),
    # time
    ("h", "min", 4, "tsmall"), ("min", "h", 3, "big"), ("min", "s", 3, "gen"), ("s", "min", 3, "big"),
    ("h", "s", 2, "tsmall"), ("s", "h", 2, "big"), ("day", "h", 3, "tsmall"), ("h", "day", 2, "big"),
    ("week", "day", 2, "tsmall"), ("day", "week", 2, "big"), ("year", "month", 1, "tsmall"),
    ("month", "year", 1, "gen"), ("week", "h", 1, "tsmall"), ("day", "min", 2, "tsmall"),
    ("min", "day", 1, "big"), ("year", "day", 1, "tsmall"), ("day", "year", 1, "big"), ("week", "min", 1, "small"),
    # speed
    ("mph", "kph", 6, "speed"), ("kph", "mph", 6, "speed"), ("mps", "kph", 3, "speed"), ("kph", "mps", 3, "speed"),
    ("mps", "mph", 2, "speed"), ("mph", "mps", 2, "speed"),
    # area
    ("ft2", "m2", 5, "big"), ("m2", "ft2", 5, "gen"), ("acre", "ft2", 3, "gen"), ("acre", "ha", 3, "gen"),
    ("ha", "acre", 3, "gen"), ("acre", "m2", 2, "gen"), ("ft2", "acre", 2, "big"), ("m2", "ha", 1, "big"),
    ("ha", "m2", 1, "small"), ("km2", "m2", 1, "small"),
    # pressure
    ("psi", "bar", 4, "gen"), ("bar", "psi", 4, "gen"), ("psi", "kPa", 3, "gen"), ("kPa", "psi", 3, "big"),
    ("atm", "kPa", 2, "small"), ("atm", "psi", 2, "small"), ("bar", "kPa", 1, "gen"), ("hPa", "mbar", 1, "big"),
    ("Pa", "hPa", 1, "big"), ("hPa", "Pa", 1, "big"), ("kPa", "Pa", 1, "gen"), ("bar", "atm", 1, "gen"),
    ("Pa", "kPa", 1, "big"), ("mbar", "hPa", 1, "big"),
    # energy
    ("kcal", "kJ", 5, "big"), ("kJ", "kcal", 5, "big"), ("kWh", "kJ", 2, "gen"), ("kWh", "J", 1, "small"),
    ("J", "kJ", 1, "big"), ("kJ", "J", 1, "gen"), ("BTU", "kWh", 2, "big"), ("kWh", "BTU", 2, "gen"),
    ("BTU", "J", 1, "gen"), ("J", "cal", 1, "big"), ("cal", "J", 2, "big"), ("kcal", "cal", 1, "gen"),
    ("J", "kWh", 1, "big"), ("kcal", "kWh", 1, "big"), ("BTU", "kJ", 1, "big"),
]

LESS = [
    ("st", "lb", 3, "gen"), ("st", "kg", 4, "gen"), ("kg", "st", 3, "gen"), ("lb", "st", 2, "big"),
    ("nmi", "km", 3, "gen"), ("km", "nmi", 2, "gen"), ("nmi", "mi", 2, "gen"),
    ("knot", "kph", 3, "speed"), ("knot", "mph", 3, "speed"), ("kph", "knot", 2, "speed"), ("mps", "knot", 1, "speed"),
    ("fps", "mph", 1, "speed"), ("mph", "fps", 1, "speed"),
    ("t", "kg", 3, "gen"), ("kg", "t", 2, "big"), ("t", "lb", 2, "gen"), ("ton", "kg", 2, "gen"),
    ("ton", "t", 1, "gen"), ("t", "ton", 1, "gen"), ("ton", "lb", 1, "small"),
    ("mg", "g", 3, "tiny"), ("g", "mg", 2, "small"), ("mg", "oz", 1, "big"),
    ("cc", "ml", 1, "tiny"), ("cc", "L", 2, "big"), ("L", "cc", 1, "small"), ("cc", "floz", 1, "tiny"),
    ("ft3", "m3", 2, "gen"), ("m3", "ft3", 2, "gen"), ("ft3", "L", 2, "gen"), ("m3", "L", 1, "small"),
    ("gal", "ft3", 1, "big"), ("impgal", "L", 1, "gen"), ("impgal", "gal", 1, "gen"),
    ("mmHg", "kPa", 2, "gen"), ("mmHg", "psi", 1, "gen"), ("kPa", "mmHg", 1, "gen"), ("atm", "mmHg", 1, "small"),
    ("inHg", "hPa", 2, "gen"), ("hPa", "inHg", 1, "big"), ("MPa", "psi", 2, "gen"), ("psi", "MPa", 1, "big"),
    ("Wh", "kWh", 2, "big"), ("kWh", "Wh", 1, "gen"), ("Wh", "J", 1, "gen"), ("MJ", "kWh", 2, "gen"),
    ("kWh", "MJ", 2, "gen"), ("MJ", "kcal", 1, "gen"), ("MJ", "BTU", 1, "small"),
    ("MiB", "MB", 2, "data"), ("GiB", "GB", 3, "data"), ("GB", "GiB", 2, "data"), ("MB", "MiB", 1, "data"),
    ("KiB", "B", 1, "data"), ("TiB", "TB", 1, "data"), ("TB", "TiB", 1, "data"), ("GiB", "MiB", 1, "data"),
    ("Mbps", "MBps", 3, "data"), ("MBps", "Mbps", 1, "data"),
    ("century", "year", 2, "small"), ("year", "century", 1, "big"),
    ("ms", "s", 3, "big"), ("s", "ms", 2, "small"), ("min", "ms", 1, "small"),
    ("yd", "m", 3, "gen"), ("m", "yd", 3, "gen"), ("yd", "ft", 2, "gen"), ("mi", "yd", 1, "small"), ("yd", "in", 1, "small"),
    ("mi2", "km2", 2, "gen"), ("km2", "mi2", 2, "gen"), ("mi2", "acre", 1, "small"), ("in2", "cm2", 1, "gen"),
    ("cm2", "in2", 1, "gen"), ("m3", "gal", 1, "small"),
]

OUTSIDE = [
    ("mcg", "mg", 3, "tiny"), ("mg", "mcg", 3, "small"), ("mcg", "g", 1, "big"), ("g", "mcg", 1, "small"),
    ("um", "mm", 2, "big"), ("mm", "um", 2, "small"), ("um", "in", 1, "big"), ("nm", "um", 2, "big"),
    ("um", "nm", 1, "small"), ("nm", "m", 1, "big"), ("nm", "mm", 1, "big"),
    ("us", "ms", 2, "big"), ("ms", "us", 2, "small"), ("ns", "us", 1, "big"), ("ns", "ms", 1, "big"),
    ("us", "s", 1, "big"), ("s", "ns", 1, "small"),
    ("PB", "TB", 3, "data"), ("TB", "PB", 2, "big"), ("PB", "GB", 1, "small"),
    ("W", "kW", 2, "big"), ("kW", "W", 2, "gen"), ("hp", "kW", 3, "speed"), ("kW", "hp", 3, "speed"),
    ("hp", "W", 2, "gen"), ("W", "hp", 1, "big"),
    ("Hz", "kHz", 1, "big"), ("kHz", "Hz", 1, "gen"), ("MHz", "GHz", 2, "big"), ("GHz", "MHz", 2, "small"),
    ("kHz", "MHz", 1, "big"), ("MHz", "kHz", 1, "gen"),
    ("deg", "rad", 3, "gen"), ("rad", "deg", 3, "small"),
    ("ly", "km", 2, "small"), ("ly", "mi", 1, "small"),
    ("fortnight", "day", 2, "small"), ("fortnight", "week", 1, "gen"), ("day", "fortnight", 1, "gen"),
    ("fortnight", "h", 1, "small"),
]

# ---------------------------------------------------------------------------
# Templates.  {X} = value with unit, {Y} = target unit.
# ---------------------------------------------------------------------------
TEMPLATES = [
    # shape, template, weight, question-mark probability, ok for temperature
    ("to", "{X} to {Y}", 22, 0.08, True),
    ("in", "{X} in {Y}", 14, 0.10, True),
    ("eq_q", "{X} = ? {Y}", 5, 0.0, True),
    ("eq_how_many", "{X} = how many {Y}", 3, 0.4, False),
    ("how_many_in", "how many {Y} in {X}", 10, 0.5, False),
    ("how_many_is", "how many {Y} is {X}", 6, 0.6, False),
    ("how_many_are_in", "how many {Y} are in {X}", 3, 0.6, False),
    ("convert_to", "convert {X} to {Y}", 8, 0.0, True),
    ("convert_into", "convert {X} into {Y}", 3, 0.0, True),
    ("x_how_many", "{X} how many {Y}", 4, 0.4, False),
    ("what_is", "what is {X} in {Y}", 5, 0.7, True),
    ("whats", "what's {X} in {Y}", 3, 0.6, True),
    ("equals_how_many", "{X} equals how many {Y}", 3, 0.5, False),
    ("is_how_many", "{X} is how many {Y}", 3, 0.6, False),
    ("x_is_what_in", "{X} is what in {Y}", 2, 0.7, True),
    ("to_y_conversion", "{X} to {Y} conversion", 2, 0.0, True),
    ("x_y_bare", "{X} {Y}", 2, 0.0, True),
]
VOWEL_START = re.compile(r"^(?:[aeio]|hour)", re.I)


def pick_form(rng, key, other_key, role):
    """role: 'x' (with number) or 'y' (target)."""
    forms = list(U[key]["forms"])
    other_is_byte = U[other_key]["byte"]
    usable = []
    for f in forms:
        if f.startswith("!"):
            if not other_is_byte or role != "x":
                continue
        if f.startswith("^"):
            if role != "x":
                continue
            f = f[1:]
        usable.append(f)
    return rng.choice(usable)


def render_form(form, value_str, role):
    """Return (text, is_word, safe_lower)."""
    safe_lower = True
    if form.startswith("!"):
        form = form[1:]
    if form.startswith("~"):
        form = form[1:]
        safe_lower = False
    if "|" in form:
        sing, plur = form.split("|")
        if role == "x" and value_str in ("1", "1.0"):
            return sing, True, safe_lower
        return plur, True, safe_lower
    return form, False, safe_lower


def joiner(rng, form_text, is_word, key):
    """separator between number and unit."""
    if is_word or " " in form_text or (form_text.isalpha() and len(form_text) > 4):
        return " "
    if U[key]["cat"] == "temperature" and form_text in ("F", "C", "°F", "°C", "f", "c"):
        return "" if rng.random() < 0.6 else " "
    if form_text == "°":
        return ""
    return "" if rng.random() < 0.4 else " "


def parse_value(s):
    return float(s.replace(",", ""))


def compute(v, f, t):
    mag = Q(v, f).to(t).magnitude
    mag = float(mag)
    return float(f"{mag:.12g}")


def make_item(rng, pair):
    fk, tk, _w, prof = pair
    cat_f, cat_t = U[fk]["cat"], U[tk]["cat"]
    is_temp = cat_f == "temperature"
    templates = [t for t in TEMPLATES if (t[4] or not is_temp)]
    shape, tmpl, _, qprob, _ = rng.choices(templates, weights=[t[2] for t in templates])[0]

    value_str = VAL[prof](rng)
    xform = pick_form(rng, fk, tk, "x")
    yform = pick_form(rng, tk, fk, "y")
    xtext, xword, xsafe = render_form(xform, value_str, "x")
    ytext, yword, ysafe = render_form(yform, value_str, "y")

    # "in" as the target abbreviation reads badly after "in"/"how many";
    # people then write "to in".
    if ytext in ("in", "in.") and shape not in ("to", "convert_to", "eq_q", "x_y_bare"):
        shape, tmpl = "to", "{X} to {Y}"
    # likewise "5 in in cm" / "5 in how many cm": keep X="5 in" to unambiguous shapes
    if xtext in ("in", "in.") and shape not in ("to", "convert_to", "convert_into", "eq_q",
                                                 "eq_how_many", "equals_how_many", "is_how_many",
                                                 "to_y_conversion", "how_many_is"):
        shape, tmpl = "to", "{X} to {Y}"
    # a bare "?"-less "{X} {Y}" is only natural with short abbreviations
    if shape == "x_y_bare" and (yword or len(ytext) > 4):
        shape, tmpl = "to", "{X} to {Y}"

    # "how many ounces in a pound"
    article = None
    if (shape in ("how_many_in", "how_many_are_in") and xword
            and (value_str == "1" or rng.random() < 0.15)):
        xtext, _, _ = render_form(xform, "1", "x")  # singular
        article = "an" if VOWEL_START.match(xtext) else "a"
    if article:
        value_str = "1"
        X = f"{article} {xtext}"
        shape = shape + "_a"
    else:
        X = value_str + joiner(rng, xtext, xword, fk) + xtext
    if is_temp and rng.random() < 0.1 and not xword and xtext in ("F", "C", "°F", "°C"):
        X = value_str + " degrees " + xtext.lstrip("°")
    q = tmpl.format(X=X, Y=ytext)
    if rng.random() < qprob:
        q += "?"

    # casing
    r = rng.random()
    ci = U[fk]["ci"] and U[tk]["ci"] and xsafe and ysafe
    if r < 0.30 and ci:
        q = q.lower()
    elif r < 0.55 and q[0].isalpha() and q[0].islower():
        q = q[0].upper() + q[1:]

    v = 1.0 if article else parse_value(value_str)
    ans = compute(v, U[fk]["pint"], U[tk]["pint"])
    category = "outside" if "outside" in (cat_f, cat_t) else cat_f
    return dict(question=q, answer=ans, category=category, frm=U[fk]["pint"], to=U[tk]["pint"],
                shape=shape, _value=v, _x=xtext, _y=ytext, _fk=fk, _tk=tk)


def sample(rng, pairs, n, seen, out):
    weights = [p[2] for p in pairs]
    # guarantee every pair appears at least once, then weighted sampling
    order = list(pairs)
    rng.shuffle(order)
    queue = order + rng.choices(pairs, weights=weights, k=n * 3)
    count = 0
    for p in queue:
        if count >= n:
            break
        for _ in range(10):
            it = make_item(rng, p)
            if it["question"].lower() not in seen:
                seen.add(it["question"].lower())
                out.append(it)
                count += 1
                break
    return count


def questions() -> list[dict]:
    """The probe's questions, the same every time: {question, answer, category, from, to, shape}."""
    rng = random.Random(SEED)
    seen, items = set(), []
    sample(rng, COMMON, 512, seen, items)
    sample(rng, LESS, 128, seen, items)
    sample(rng, OUTSIDE, 60, seen, items)
    rng.shuffle(items)
    for item in items:
        assert math.isfinite(item["answer"]), item
    return [dict(question=it["question"], answer=it["answer"], category=it["category"], **{"from": it["frm"]},
                 to=it["to"], shape=it["shape"]) for it in items]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--adapters", type=Path, default=Path(units.__file__).parent,
                        help="folder holding sft_model and rft_model (default: the package's)")
    parser.add_argument("--out", type=Path, default=Path("runs/searchbox.json"))
    args = parser.parse_args(argv)
    asked = questions()  # all 700 in one call per model: the batch the reported numbers came from
    result = score({"searchbox": [(item["question"], item["answer"]) for item in asked]}, args.adapters, args.out)
    by_category = {}
    for item in asked:
        by_category.setdefault(item["category"], []).append(item["question"])
    inside = sum(len(qs) for category, qs in by_category.items() if category != "outside")
    for name in ("sft", "rft"):
        missed = {q for q, _, _ in result["misses"][f"{name}_searchbox"]}
        misses = {c: len(missed.intersection(qs)) for c, qs in by_category.items()}
        inside_misses = sum(n for c, n in misses.items() if c != "outside")
        print(f"{name}: {1 - inside_misses / inside:.3f} on the {inside} questions in the data model's categories; "
              + ", ".join(f"{c} {1 - n / len(by_category[c]):.3f}" for c, n in misses.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
