"""Questions typed the way people type them, written by hand, in four sets, answered by SFT and RFT;
accuracy, answer rate and the misses per set.

`typed`: everyday conversions in short forms ("4 G = ? MB", "72 F in C", "8 oz to grams").
`edges`: values and marks the generated splits hardly held before the forms split's last part
(questions.py, FORMS_PLAIN): zero ("0 C in K"), one as "a" ("how many seconds in a day"), a leading
dot (".25 s"), millions with commas, scientific notation ("2.5e3 m"), feet and inches as ' and ".
`everyday`: the bare word "ounces" beside mass and volume, "in a ..." for every category, the
temperatures people look up. The `edges` and `everyday` sets were written first and found what
FORMS_PLAIN now trains on, so they are not held out in spirit; `typed` was written the same way
but found no class of miss. `asked`: everyday questions written after that part was trained and
never used to choose training data. No question here is drawn from a generator.

    python scripts/handwritten.py --adapters src/unitlm --out runs/handwritten.json
"""

import argparse
from pathlib import Path

from values import converted, score

from unitlm import units

# (question, value, source unit, target unit): answers come from units.convert
TYPED = [
 ("4 G = ? MB", 4, "gigabyte", "megabyte"), ("how many mb in 3 gigs", 3, "gigabyte", "megabyte"),
 ("convert 3.5 TB into GB", 3.5, "terabyte", "gigabyte"), ("500 MB to GB", 500, "megabyte", "gigabyte"),
 ("64GB how many MB", 64, "gigabyte", "megabyte"), ("2048 KB = ? MB", 2048, "kilobyte", "megabyte"),
 ("How many KB is 7 M?", 7, "megabyte", "kilobyte"), ("How many bits in 12 bytes?", 12, "byte", "bit"),
 ("16 bits is how many bytes", 16, "bit", "byte"), ("1.5 GB in KB", 1.5, "gigabyte", "kilobyte"),
 ("How many Mb is 3 MB?", 3, "megabyte", "megabit"), ("100 Mbit in MB", 100, "megabit", "megabyte"),
 ("What's 0.25 TB in GB?", 0.25, "terabyte", "gigabyte"), ("How many GB is 750 M?", 750, "megabyte", "gigabyte"),
 ("How many kB in 9 MB", 9, "megabyte", "kilobyte"), ("20 GiB in MiB", 20, "gibibyte", "mebibyte"),
 ("How many G is 4000 M?", 4000, "megabyte", "gigabyte"), ("5 T in G", 5, "terabyte", "gigabyte"),
 ("how many kilobytes are in 6 megs", 6, "megabyte", "kilobyte"), ("8 Gb to GB", 8, "gigabit", "gigabyte"),
 ("72 F in C", 72, "degree Fahrenheit", "degree Celsius"), ("what is 25C in F", 25, "degree Celsius", "degree Fahrenheit"),
 ("-40 °F to °C", -40, "degree Fahrenheit", "degree Celsius"), ("300 K in C", 300, "kelvin", "degree Celsius"),
 ("How many F is 37 C?", 37, "degree Celsius", "degree Fahrenheit"), ("0 C in K", 0, "degree Celsius", "kelvin"),
 ("98.6 F = ? C", 98.6, "degree Fahrenheit", "degree Celsius"), ("180 C to F", 180, "degree Celsius", "degree Fahrenheit"),
 ("1 mile is how many km", 1, "mile", "kilometer"), ("how much is 20 kg in lbs", 20, "kilogram", "pound"),
 ("what's 100 km/h in mph", 100, "kilometer per hour", "mile per hour"), ("2.5 hrs = how many mins", 2.5, "hour", "minute"),
 ("How many km is 26.2 mi?", 26.2, "mile", "kilometer"), ("6 ft in m", 6, "foot", "meter"),
 ("180 cm in feet", 180, "centimeter", "foot"), ("How many inches is 30 cm?", 30, "centimeter", "inch"),
 ("5 km = ? mi", 5, "kilometer", "mile"), ("How many yd in 100 m", 100, "meter", "yard"),
 ("12 in to cm", 12, "inch", "centimeter"), ("how many mm is 2 in", 2, "inch", "millimeter"),
 ("3 m to ft", 3, "meter", "foot"), ("1000 ft in miles", 1000, "foot", "mile"),
 ("10 nmi in km", 10, "nautical mile", "kilometer"), ("How many m in 0.3 km?", 0.3, "kilometer", "meter"),
 ("150 lb in kg", 150, "pound", "kilogram"), ("How many oz is 250 g?", 250, "gram", "ounce"),
 ("8 oz to grams", 8, "ounce", "gram"), ("How many lbs is 70 kg?", 70, "kilogram", "pound"),
 ("2 st in kg", 2, "stone", "kilogram"), ("1 kg = ? oz", 1, "kilogram", "ounce"),
 ("How many mg in 2.5 g?", 2.5, "gram", "milligram"), ("500 mg to g", 500, "milligram", "gram"),
 ("3 tons in kg", 3, "ton", "kilogram"), ("2 metric tons in lbs", 2, "metric ton", "pound"),
 ("12 stone in lbs", 12, "stone", "pound"), ("how many g is 4 lb", 4, "pound", "gram"),
 ("1 oz in g", 1, "ounce", "gram"), ("How many pounds is 16 oz?", 16, "ounce", "pound"),
 ("5 ct in g", 5, "carat", "gram"), ("How many kg is 1 lb?", 1, "pound", "kilogram"),
 ("2 L in gal", 2, "liter", "gallon"), ("How many ml in 3 tbsp?", 3, "tablespoon", "milliliter"),
 ("1 gal = ? L", 1, "gallon", "liter"), ("500 ml in cups", 500, "milliliter", "cup"),
 ("How many fl oz in 1 L?", 1, "liter", "fluid ounce"), ("12 fl oz to ml", 12, "fluid ounce", "milliliter"),
 ("How many tsp in 2 tbsp?", 2, "tablespoon", "teaspoon"), ("4 qt in L", 4, "quart", "liter"),
 ("3 pints in ml", 3, "pint", "milliliter"), ("How many cc is 0.5 L?", 0.5, "liter", "cubic centimeter"),
 ("2 m3 to L", 2, "cubic meter", "liter"), ("How many L is 10 gallons?", 10, "gallon", "liter"),
 ("250 mL in oz", 250, "milliliter", "fluid ounce"), ("1 cup to ml", 1, "cup", "milliliter"),
 ("100 cu in in L", 100, "cubic inch", "liter"), ("5 cu ft in gal", 5, "cubic foot", "gallon"),
 ("60 mph in km/h", 60, "mile per hour", "kilometer per hour"), ("How many m/s is 90 kph?", 90, "kilometer per hour", "meter per second"),
 ("10 m/s to mph", 10, "meter per second", "mile per hour"), ("20 knots in km/h", 20, "knot", "kilometer per hour"),
 ("How many ft/s is 30 mph?", 30, "mile per hour", "foot per second"), ("50 kmh in mph", 50, "kilometer per hour", "mile per hour"),
 ("How many sq ft is 20 m2?", 20, "square meter", "square foot"), ("1 acre in m2", 1, "acre", "square meter"),
 ("3 ha in acres", 3, "hectare", "acre"), ("500 sq ft to sq m", 500, "square foot", "square meter"),
 ("How many km2 is 1 sq mi?", 1, "square mile", "square kilometer"), ("100 cm2 in sq in", 100, "square centimeter", "square inch"),
 ("2 sq km in ha", 2, "square kilometer", "hectare"), ("How many acres is 10 ha?", 10, "hectare", "acre"),
 ("90 min in h", 90, "minute", "hour"), ("How many seconds is 3 min?", 3, "minute", "second"),
 ("48 h to days", 48, "hour", "day"), ("2 wks in days", 2, "week", "day"),
 ("How many hrs in 3 days?", 3, "day", "hour"), ("1500 ms in s", 1500, "millisecond", "second"),
 ("How many min is 7200 s?", 7200, "second", "minute"), ("5 yrs in months", 5, "year", "month"),
 ("1 day = ? sec", 1, "day", "second"), ("How many weeks is 1 yr?", 1, "year", "week"),
 ("36 months in years", 36, "month", "year"), ("2 decades in yrs", 2, "decade", "year"),
 ("How many kcal is 500 kJ?", 500, "kilojoule", "kilocalorie"), ("2000 kcal in kJ", 2000, "kilocalorie", "kilojoule"),
 ("1 kWh in J", 1, "kilowatt hour", "joule"), ("How many BTU in 1 kWh?", 1, "kilowatt hour", "British thermal unit"),
 ("100 cal to J", 100, "calorie", "joule"), ("5 MJ in kWh", 5, "megajoule", "kilowatt hour"),
 ("30 psi in bar", 30, "pound per square inch", "bar"), ("How many kPa is 1 atm?", 1, "atmosphere", "kilopascal"),
 ("2 bar to psi", 2, "bar", "pound per square inch"), ("1013 hPa in atm", 1013, "hectopascal", "atmosphere"),
 ("760 mmHg in kPa", 760, "millimeter of mercury", "kilopascal"), ("How many Pa in 3 kPa?", 3, "kilopascal", "pascal"),
 ("35 PSI to kPa", 35, "pound per square inch", "kilopascal"), ("1 atm = ? psi", 1, "atmosphere", "pound per square inch"),
 ("How many MB in 1 GB", 1, "gigabyte", "megabyte"), ("How many GB is 1024 MB?", 1024, "megabyte", "gigabyte"),
 ("128 GB to TB", 128, "gigabyte", "terabyte"), ("How many bytes is 2 KB?", 2, "kilobyte", "byte"),
 ("how many hours is 150 minutes", 150, "minute", "hour"), ("45 mins in hrs", 45, "minute", "hour"),
 ("How many cm is 5'?", 5, "foot", "centimeter"), ("6 in in cm", 6, "inch", "centimeter"),
 ("KM TO MILES 10", 10, "kilometer", "mile"), ("lbs to kg: 200", 200, "pound", "kilogram"),
 ("convert 1,500 m to km", 1500, "meter", "kilometer"), ("How many g in 0.75 kg", 0.75, "kilogram", "gram"),
 ("1.2 km in m", 1.2, "kilometer", "meter"), ("What is 3.75 L in mL?", 3.75, "liter", "milliliter"),
 ("15 C in F?", 15, "degree Celsius", "degree Fahrenheit"), ("0 F in C", 0, "degree Fahrenheit", "degree Celsius"),
]
EDGES = [
 ("0 C in F", 0, "degree Celsius", "degree Fahrenheit"), ("0 K to C", 0, "kelvin", "degree Celsius"),
 ("What is 0 °C in °F?", 0, "degree Celsius", "degree Fahrenheit"), ("How many F is 0 C?", 0, "degree Celsius", "degree Fahrenheit"),
 ("-10 C in F", -10, "degree Celsius", "degree Fahrenheit"), ("-5 F to C", -5, "degree Fahrenheit", "degree Celsius"),
 ("100 C in K", 100, "degree Celsius", "kelvin"), ("212 F in C", 212, "degree Fahrenheit", "degree Celsius"),
 ("How many cm is 6'?", 6, "foot", "centimeter"), ("12\" in cm", 12, "inch", "centimeter"),
 ("5' in m", 5, "foot", "meter"), ("How many mm is 3\"?", 3, "inch", "millimeter"),
 ("1e6 bytes in MB", 1e6, "byte", "megabyte"), ("2.5e3 m in km", 2500, "meter", "kilometer"),
 ("1,000,000 bytes in MB", 1e6, "byte", "megabyte"), ("How many GB is 1000000 KB?", 1e6, "kilobyte", "gigabyte"),
 ("10000 m in miles", 10000, "meter", "mile"), ("What is .5 kg in g?", 0.5, "kilogram", "gram"),
 ("How many ms in .25 s", 0.25, "second", "millisecond"), ("1 000 m in km", 1000, "meter", "kilometer"),
 ("0.001 km in mm", 0.001, "kilometer", "millimeter"),
 ("3 mins to secs", 3, "minute", "second"), ("10 secs in ms", 10, "second", "millisecond"),
 ("How many lb in 1 ton?", 1, "ton", "pound"), ("1 tonne in kg", 1, "metric ton", "kilogram"),
 ("5 tonnes in lbs", 5, "metric ton", "pound"), ("How many kg in a ton?", 1, "ton", "kilogram"),
 ("How many ml in a cup", 1, "cup", "milliliter"), ("how many oz in a pound", 1, "pound", "ounce"),
 ("how many feet in a mile", 1, "mile", "foot"), ("how many seconds in a day", 1, "day", "second"),
 ("how many MB in a GB", 1, "gigabyte", "megabyte"), ("how many cm in an inch", 1, "inch", "centimeter"),
 ("how many bytes in a KB", 1, "kilobyte", "byte"), ("how many grams in a kilo", 1, "kilogram", "gram"),
 ("how many teaspoons in a tablespoon", 1, "tablespoon", "teaspoon"), ("how many liters in a gallon?", 1, "gallon", "liter"),
 ("How many bits in a byte?", 1, "byte", "bit"), ("how many minutes in a week", 1, "week", "minute"),
 ("km/h to m/s 36", 36, "kilometer per hour", "meter per second"), ("36 km/hr in m/s", 36, "kilometer per hour", "meter per second"),
 ("4 G to M", 4, "gigabyte", "megabyte"), ("How many M is 2 G?", 2, "gigabyte", "megabyte"),
 ("How many K is 3 M?", 3, "megabyte", "kilobyte"), ("8 K = ? B", 8, "kilobyte", "byte"),
 ("How many B is 2 K?", 2, "kilobyte", "byte"), ("How many MB is 4 G?", 4, "gigabyte", "megabyte"),
 ("How many GB is 4 T?", 4, "terabyte", "gigabyte"), ("How many MB is 300 K?", 300, "kilobyte", "megabyte"),
 ("How many kb is 4 MB?", 4, "megabyte", "kilobyte"), ("How many Kb is 4 KB?", 4, "kilobyte", "kilobit"),
 ("How many b is 4 B?", 4, "byte", "bit"), ("How many B is 64 b?", 64, "bit", "byte"),
 ("How many h is 90 min?", 90, "minute", "hour"), ("How many min is 2 h?", 2, "hour", "minute"),
 ("How many s is 2 hr?", 2, "hour", "second"), ("How many hr is 30 min?", 30, "minute", "hour"),
 ("How many d is 72 h?", 72, "hour", "day"), ("How many h is 3 d?", 3, "day", "hour"),
 ("How many cc is 2 L?", 2, "liter", "cubic centimeter"), ("How many L is 1500 cc?", 1500, "cubic centimeter", "liter"),
]
EVERYDAY = [
 ("How many ounces is 500 g?", 500, "gram", "ounce"), ("1 lb = ? ounces", 1, "pound", "ounce"),
 ("How many grams in 3 ounces?", 3, "ounce", "gram"), ("How many ounces in 2 cups?", 2, "cup", "fluid ounce"),
 ("How many ml in 8 ounces?", 8, "fluid ounce", "milliliter"), ("12 ounces in pounds", 12, "ounce", "pound"),
 ("How many kg is 40 ounces?", 40, "ounce", "kilogram"), ("6 ounces to grams", 6, "ounce", "gram"),
 ("How many ounces in 1 liter", 1, "liter", "fluid ounce"), ("16 ounces to cups", 16, "fluid ounce", "cup"),
 ("How many ounces is 2 kg?", 2, "kilogram", "ounce"), ("ounces in 3 lbs", 3, "pound", "ounce"),
 ("How many kgs is 220 lbs.?", 220, "pound", "kilogram"), ("5 hrs. in mins", 5, "hour", "minute"),
 ("HOW MANY FEET IN 2 METERS", 2, "meter", "foot"), ("1 KB = how many bytes", 1, "kilobyte", "byte"),
 ("How many kB are in 1 MB?", 1, "megabyte", "kilobyte"), ("How many mL is 2 cups?", 2, "cup", "milliliter"),
 ("How many oz is 1 lb?", 1, "pound", "ounce"), ("How many s is 1 h?", 1, "hour", "second"),
 ("How many secs in an hour", 1, "hour", "second"), ("how many mins in a day", 1, "day", "minute"),
 ("how many hours in a year", 1, "year", "hour"), ("how many days in a decade", 1, "decade", "day"),
 ("how many cm in a foot", 1, "foot", "centimeter"), ("how many meters in a km", 1, "kilometer", "meter"),
 ("how many inches in a yard", 1, "yard", "inch"), ("how many km in a mile", 1, "mile", "kilometer"),
 ("how many lbs in a kg", 1, "kilogram", "pound"), ("how many grams in an ounce", 1, "ounce", "gram"),
 ("how many ml in a teaspoon", 1, "teaspoon", "milliliter"), ("how many cups in a gallon", 1, "gallon", "cup"),
 ("how many pints in a quart", 1, "quart", "pint"), ("how many sq ft in an acre", 1, "acre", "square foot"),
 ("how many joules in a calorie", 1, "calorie", "joule"), ("how many psi in a bar", 1, "bar", "pound per square inch"),
 ("how many KB in a GB", 1, "gigabyte", "kilobyte"), ("how many bits in a megabyte", 1, "megabyte", "bit"),
 ("what's .5 miles in feet", 0.5, "mile", "foot"), (".75 cup in ml", 0.75, "cup", "milliliter"),
 ("How many g is .1 kg?", 0.1, "kilogram", "gram"), (".5 GB in MB", 0.5, "gigabyte", "megabyte"),
 ("350 F in C", 350, "degree Fahrenheit", "degree Celsius"), ("32 F to C", 32, "degree Fahrenheit", "degree Celsius"),
 ("100 C to F", 100, "degree Celsius", "degree Fahrenheit"), ("20 C in F", 20, "degree Celsius", "degree Fahrenheit"),
 ("-18 C in F", -18, "degree Celsius", "degree Fahrenheit"), ("450 F to C", 450, "degree Fahrenheit", "degree Celsius"),
 ("What is 1 C in F?", 1, "degree Celsius", "degree Fahrenheit"), ("5 C to F", 5, "degree Celsius", "degree Fahrenheit"),
 ("2,500,000 bytes in MB", 2.5e6, "byte", "megabyte"), ("1,500,000 m in km", 1.5e6, "meter", "kilometer"),
 ("How many MB is 3,000,000 bytes?", 3e6, "byte", "megabyte"), ("10,000 ft in m", 10000, "foot", "meter"),
 ("How many m is 1 nmi?", 1, "nautical mile", "meter"), ("3 kph in mph", 3, "kilometer per hour", "mile per hour"),
 ("How many hectares in 1 km2?", 1, "square kilometer", "hectare"), ("250 g in lbs", 250, "gram", "pound"),
 ("How many Gb is 1 GB?", 1, "gigabyte", "gigabit"), ("How many MB is 800 Mb?", 800, "megabit", "megabyte"),
 ("1 TB = ? GB", 1, "terabyte", "gigabyte"), ("How many KB is 1 G?", 1, "gigabyte", "kilobyte"),
 ("How many ms is 1 min?", 1, "minute", "millisecond"), ("How many wks in 1 yr?", 1, "year", "week"),
]


# Written after the forms split's last part was trained, and never used to choose training data:
# held out in spirit. Everyday questions in the shapes people type into a search box.
ASKED = [
 ("what's 1 TB in GB", 1, "terabyte", "gigabyte"), ("70kg in lbs", 70, "kilogram", "pound"),
 ("-40 F in C", -40, "degree Fahrenheit", "degree Celsius"), ("1e6 bytes in MB", 1e6, "byte", "megabyte"),
 ("1 mile = ? km", 1, "mile", "kilometer"), ("How much is 10 stone in kg?", 10, "stone", "kilogram"),
 ("100 km/h in mph", 100, "kilometer per hour", "mile per hour"), ("convert 3 tbsp to tsp", 3, "tablespoon", "teaspoon"),
 ("how many ml in a cup", 1, "cup", "milliliter"), ("how many ounces in a pound", 1, "pound", "ounce"),
 ("how many feet in a mile", 1, "mile", "foot"), ("how many inches in a foot", 1, "foot", "inch"),
 ("how many cm in an inch", 1, "inch", "centimeter"), ("how many grams in a kilogram", 1, "kilogram", "gram"),
 ("how many minutes in an hour", 1, "hour", "minute"), ("how many days in a year", 1, "year", "day"),
 ("how many weeks in a year", 1, "year", "week"), ("how many bits in a byte", 1, "byte", "bit"),
 ("how many MB in a GB", 1, "gigabyte", "megabyte"), ("how many liters in a gallon", 1, "gallon", "liter"),
 ("6 feet in meters", 6, "foot", "meter"), ("6 ft in m", 6, "foot", "meter"), ("5 inches in cm", 5, "inch", "centimeter"),
 ("5 in in cm", 5, "inch", "centimeter"), ("What is 2 hours in seconds", 2, "hour", "second"),
 ("What is 2 hrs in sec", 2, "hour", "second"), ("2 h = ? min", 2, "hour", "minute"),
 ("1.5 kWh in J", 1.5, "kilowatt hour", "joule"), ("1 atm in psi", 1, "atmosphere", "pound per square inch"),
 ("12 psi to bar", 12, "pound per square inch", "bar"), ("25 mph to m/s", 25, "mile per hour", "meter per second"),
 ("2 acres in sq ft", 2, "acre", "square foot"), ("3 cu ft in liters", 3, "cubic foot", "liter"),
 ("100 cc in ml", 100, "cubic centimeter", "milliliter"), ("1 gallon in liters", 1, "gallon", "liter"),
 ("1 imperial gallon in liters", 1, "imperial gallon", "liter"), ("16 fl oz in ml", 16, "fluid ounce", "milliliter"),
 ("16 oz in g", 16, "ounce", "gram"), ("1 ton in kg", 1, "ton", "kilogram"), ("1 metric ton in lb", 1, "metric ton", "pound"),
 ("1 short ton in kg", 1, "ton", "kilogram"), ("how many seconds in a week", 1, "week", "second"),
 ("how many ml in a tablespoon", 1, "tablespoon", "milliliter"), ("how many yards in a mile", 1, "mile", "yard"),
 ("How many kilobytes in 2 megabytes?", 2, "megabyte", "kilobyte"), ("marathon 42.195 km in miles", 42.195, "kilometer", "mile"),
 ("my baby weighs 3.4 kg, in pounds?", 3.4, "kilogram", "pound"), ("oven at 180C, what is it in F", 180, "degree Celsius", "degree Fahrenheit"),
 ("body temp 37 C in F", 37, "degree Celsius", "degree Fahrenheit"), ("tyre 2.2 bar in psi", 2.2, "bar", "pound per square inch"),
 ("550 kcal to kJ", 550, "kilocalorie", "kilojoule"), ("1200 sq ft in m2", 1200, "square foot", "square meter"),
 ("How many litres is 500 ml", 500, "milliliter", "liter"), ("30 mins in hours", 30, "minute", "hour"),
 ("90 minutes = how many hours", 90, "minute", "hour"), ("How many cm is 5.5 in?", 5.5, "inch", "centimeter"),
 ("10k steps is 8 km, how many miles is 8 km", 8, "kilometer", "mile"), ("1 knot in km/h", 1, "knot", "kilometer per hour"),
 ("3 pints in ml", 3, "pint", "milliliter"), ("0.5 L in cups", 0.5, "liter", "cup"),
]

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--adapters", type=Path, default=Path(units.__file__).parent,
                        help="folder holding sft_model and rft_model (default: the package's)")
    parser.add_argument("--out", type=Path, default=Path("runs/handwritten.json"))
    args = parser.parse_args(argv)
    score({"typed": converted(TYPED), "edges": converted(EDGES), "everyday": converted(EVERYDAY),
           "asked": converted(ASKED)}, args.adapters, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
