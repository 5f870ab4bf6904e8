"""demos.py: the retrieved worked examples of the CoT prompt, on a small hand-written pool."""

from unitlm.demos import Demonstrations, words

POOL = [
    ["How many kilograms are in 5 ounces?", 0.1417, "r1"],
    ["How many ounces are in 5 kilograms?", 176.37, "r2"],
    ["Convert 3 miles to kilometers.", 4.828, "r3"],
    ["Convert 2 hours to minutes.", 120.0, "r4"],
    ["What is 7 liters in gallons?", 1.849, "r5"],
]


def test_vocabulary_is_the_words_after_numbers_in_the_pool():
    pool = Demonstrations(POOL)
    assert {"ounces", "kilograms", "miles", "hours", "liters"} <= pool.vocabulary
    assert not {"how", "many", "convert", "what"} & pool.vocabulary
    asked = words("Convert 4 parsecs to miles", pool.vocabulary)
    assert "miles" in asked and not any("parsecs" in w for w in asked)  # a word the pool never used is dropped


def test_the_unit_converted_from_decides_between_mirrored_questions():
    """Both ounce/kilogram pool questions hold the same words; the one converting from ounces is nearest."""
    pool = Demonstrations(POOL)
    assert pool.nearest("How many kilograms are in 9 ounces?", 1)[0][2] == "r1"
    assert pool.nearest("How many ounces are in 9 kilograms?", 1)[0][2] == "r2"


def test_nearest_comes_last_and_the_asked_question_is_never_an_example():
    pool = Demonstrations(POOL)
    picked = pool.nearest("How many  kilograms are in 5 ounces?", 3)  # the pool's first question, spaced apart
    assert [e[2] for e in picked][-1] == "r2" and "r1" not in [e[2] for e in picked]
    assert len(picked) == 3
    everything = pool.nearest("Convert 10 miles to kilometers.", 10)
    assert len(everything) == len(POOL) and everything[-1][2] == "r3"


def test_the_unit_converted_to_is_tagged_and_decides_between_questions_from_one_unit():
    pool = Demonstrations(POOL + [["Convert 3 miles to feet.", 15840.0, "r6"]])
    asked = words("How many kilometers are in 9 miles?", pool.vocabulary)
    assert asked.count("to:kilometers") == 2 and not any(w.startswith("to:miles") for w in asked)
    assert pool.nearest("How many kilometers are in 9 miles?", 1)[0][2] == "r3"
    assert pool.nearest("How many feet are in 9 miles?", 1)[0][2] == "r6"


def test_the_pool_matrix_holds_each_entrys_own_vector():
    """The matrix is filled in one call; each row is that entry's word counts times idf, to unit length, to the bit."""
    import torch

    pool = Demonstrations(POOL + [["Convert 2 ounces to ounces and 2 ounces.", 2.0, "r6"]])  # a word counted thrice

    def vector(bag):
        counts = torch.zeros(len(pool.index))
        for w in bag:
            if w in pool.index:
                counts[pool.index[w]] += 1
        weighted = counts * pool.idf
        return weighted / weighted.norm().clamp(min=1e-9)

    rows = torch.stack([vector(words(entry[0], pool.vocabulary)) for entry in pool.entries])
    assert torch.equal(pool.matrix, rows)
    asked = words("Convert 4 parsecs to ounces", pool.vocabulary) + ["to:parsecs"]  # a tag the pool never made
    assert torch.equal(pool._vectors([asked])[0], vector(asked))
