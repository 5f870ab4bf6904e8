"""Units written as letters, answered by SFT and RFT: accuracy per set and the misses.

`temperatures`: the three scales as C, F and K (and °C, °F) in seven shapes people type ("20 C to F",
"0C to K", "How many K is 100 C?"), at values from -40 to 451, 115 questions: SFT answered 77% of them
before its letters round (recipes/full.toml, [sft_letters]), so they guided that round and RFT's
([rft_letters]) and are not held out in spirit. `typed`: 110 short questions of every category in the forms people type ("How many MB is
4 G?", "60 mph in km/h", "2 L in gal"), written by hand before that round and never used to choose its
data. No question here is drawn from a generator.

    python scripts/letters.py --adapters src/unitlm --out runs/letters.json
"""

import argparse
from pathlib import Path

from values import converted, score

from unitlm import units

SCALES = {"C": "degree Celsius", "F": "degree Fahrenheit", "K": "kelvin"}
SHAPES = ["{v} {a} in {b}", "{v} {a} to {b}", "{v}{a} to {b}", "How many {b} is {v} {a}?", "{v} °{a} in °{b}",
          "convert {v} {a} to {b}", "what is {v} {a} in {b}"]
VALUES = [-40, -5, 0, 12, 20, 37, 100, 180, 250, 451]


def temperatures() -> list[tuple[str, float, str, str]]:
    """(question, value, source unit, target unit) for five ordered pairs of scales, each shape at every third
    value (no kelvin under zero)."""
    out = []
    for a, b in [("C", "F"), ("F", "C"), ("C", "K"), ("K", "C"), ("F", "K")]:
        for i, shape in enumerate(SHAPES):
            for v in VALUES[i % 3::3]:
                if a != "K" or v >= 0:
                    out.append((shape.format(v=v, a=a, b=b).replace("°K", "K"), v, SCALES[a], SCALES[b]))
    return out


# (question, value, source unit, target unit): answers come from units.convert
TYPED = [
 ("How many MB is 4 G?",4,"gigabyte","megabyte"),("4GB = how many MB",4,"gigabyte","megabyte"),
 ("How many KB in 2 MB",2,"megabyte","kilobyte"),("2 TB to GB",2,"terabyte","gigabyte"),
 ("1024 MB in GB",1024,"megabyte","gigabyte"),("How many bytes in 3 KB?",3,"kilobyte","byte"),
 ("How many gigabytes is 5000 megabytes?",5000,"megabyte","gigabyte"),("How many Gb in 2 GB",2,"gigabyte","gigabit"),
 ("How many bits are in 4 B?",4,"byte","bit"),("8 kb in bytes",8,"kilobit","byte"),
 ("How many MiB is 3 GiB?",3,"gibibyte","mebibyte"),("250 M in G",250,"megabyte","gigabyte"),
 ("How many K is 3 M?",3,"megabyte","kilobyte"),("12 MB to KB",12,"megabyte","kilobyte"),
 ("0.5 TB = ? MB",0.5,"terabyte","megabyte"),("How many Mb in 1 MB?",1,"megabyte","megabit"),
 ("5 ft in m",5,"foot","meter"),("How many inches is 2.5 m?",2.5,"meter","inch"),
 ("How many yds in 100 m",100,"meter","yard"),("3 mi = ? km",3,"mile","kilometer"),
 ("How many mm in 2.5 in",2.5,"inch","millimeter"),("6ft in cm",6,"foot","centimeter"),
 ("How many nmi is 50 km?",50,"kilometer","nautical mile"),("42.2 km in miles",42.2,"kilometer","mile"),
 ("How many feet is 1000 m?",1000,"meter","foot"),("18 in to cm",18,"inch","centimeter"),
 ("150 lbs in kg",150,"pound","kilogram"),("How many oz in 2 lb?",2,"pound","ounce"),
 ("3 st to kg",3,"stone","kilogram"),("How many g is 5 oz",5,"ounce","gram"),
 ("How many carats in 1 g",1,"gram","carat"),("How many mg in 0.5 g",0.5,"gram","milligram"),
 ("80 kg to lb",80,"kilogram","pound"),("How many lbs is 2.2 kg?",2.2,"kilogram","pound"),
 ("2 metric tons in kg",2,"metric ton","kilogram"),("How many grams in 3 troy oz",3,"troy ounce","gram"),
 ("How many secs in 3 hrs",3,"hour","second"),("90 min in h",90,"minute","hour"),
 ("How many days is 72 h?",72,"hour","day"),("2 wks in days",2,"week","day"),
 ("How many ms in 1.5 s",1.5,"second","millisecond"),("3 yrs in months",3,"year","month"),
 ("45 sec to min",45,"second","minute"),("How many hours in 3 days",3,"day","hour"),
 ("How many minutes is 2.5 hrs?",2.5,"hour","minute"),("10000 s in hr",10000,"second","hour"),
 ("2 L in gal",2,"liter","gallon"),("How many ml in 3 tbsp",3,"tablespoon","milliliter"),
 ("5 gal to L",5,"gallon","liter"),("How many cups in 1 qt",1,"quart","cup"),
 ("500 cc in L",500,"cubic centimeter","liter"),("How many fl oz in 1 L?",1,"liter","fluid ounce"),
 ("2 pt in ml",2,"pint","milliliter"),("1 m³ in L",1,"cubic meter","liter"),
 ("How many cu ft in 1 m3",1,"cubic meter","cubic foot"),("How many tsp in 2 tbsp",2,"tablespoon","teaspoon"),
 ("250 mL to cups",250,"milliliter","cup"),("How many liters is 12 fl oz?",12,"fluid ounce","liter"),
 ("60 mph in km/h",60,"mile per hour","kilometer per hour"),("100 kph to mph",100,"kilometer per hour","mile per hour"),
 ("How many m/s is 36 km/h",36,"kilometer per hour","meter per second"),("20 knots in mph",20,"knot","mile per hour"),
 ("10 ft/s in m/s",10,"foot per second","meter per second"),
 ("How many km/h is 25 m/s?",25,"meter per second","kilometer per hour"),
 ("How many sq ft in 50 m²",50,"square meter","square foot"),("2 acres in m2",2,"acre","square meter"),
 ("1 ha to acres",1,"hectare","acre"),("How many sq in in 1 sq ft",1,"square foot","square inch"),
 ("3 km2 in sq mi",3,"square kilometer","square mile"),("How many hectares is 10 acres?",10,"acre","hectare"),
 ("How many kcal in 500 kJ",500,"kilojoule","kilocalorie"),("2 kWh in MJ",2,"kilowatt hour","megajoule"),
 ("How many J in 3 cal",3,"calorie","joule"),("1000 BTU in kJ",1000,"British thermal unit","kilojoule"),
 ("How many Wh in 1.5 kWh",1.5,"kilowatt hour","watt hour"),("250 kcal to kJ",250,"kilocalorie","kilojoule"),
 ("How many psi is 2 bar",2,"bar","pound per square inch"),("101.3 kPa in atm",101.3,"kilopascal","atmosphere"),
 ("760 mmHg to kPa",760,"millimeter of mercury","kilopascal"),("1013 hPa in mbar",1013,"hectopascal","millibar"),
 ("How many Pa in 1 psi",1,"pound per square inch","pascal"),("32 psi in bar",32,"pound per square inch","bar"),
 ("72F to C",72,"degree Fahrenheit","degree Celsius"),
 ("How many °C is 100 °F",100,"degree Fahrenheit","degree Celsius"),
 ("20 C in F",20,"degree Celsius","degree Fahrenheit"),("300K to °C",300,"kelvin","degree Celsius"),
 ("-10 C in F",-10,"degree Celsius","degree Fahrenheit"),("350 F in C",350,"degree Fahrenheit","degree Celsius"),
 ("what's 5 kilos in pounds",5,"kilogram","pound"),("convert 3 miles to kilometers please",3,"mile","kilometer"),
 ("how many centimeters is 5 feet",5,"foot","centimeter"),("16 oz = ? g",16,"ounce","gram"),
 ("I need 2 liters in cups",2,"liter","cup"),("How many meters are in 3 miles?",3,"mile","meter"),
 ("Convert 250 grams to ounces",250,"gram","ounce"),("What is 1 gallon in liters?",1,"gallon","liter"),
 ("how many seconds in 2 minutes",2,"minute","second"),("how many bytes is 2 kilobytes",2,"kilobyte","byte"),
 ("7 days in hours",7,"day","hour"),("How many mL is 2 cups?",2,"cup","milliliter"),
 ("1.75 m in ft",1.75,"meter","foot"),("How many km is 26.2 mi?",26.2,"mile","kilometer"),
 ("3.5 GB → MB",3.5,"gigabyte","megabyte"),("1 TB in GiB",1,"terabyte","gibibyte"),
 ("How many KiB in 1 MiB?",1,"mebibyte","kibibyte"),("64 Gbit in GB",64,"gigabit","gigabyte"),
 ("40 mi/h to km/h",40,"mile per hour","kilometer per hour"),("How many L in 1 cu ft?",1,"cubic foot","liter"),
 ("5 t in lb",5,"metric ton","pound"),("How many oz in 1 kg?",1,"kilogram","ounce"),
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--adapters", type=Path, default=Path(units.__file__).parent,
                        help="folder holding sft_model and rft_model (default: the package's)")
    parser.add_argument("--out", type=Path, default=Path("runs/letters.json"))
    args = parser.parse_args(argv)
    score({"temperatures": converted(temperatures()), "typed": converted(TYPED)}, args.adapters, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
