"""Worked examples chosen per question: the train questions that read most alike.

In-context learning with retrieved demonstrations (KATE, Liu et al. 2022): the
examples in a prompt are the pool questions nearest to the asked one, by TF-IDF
cosine over the words that name units. The words right after the question's
number are weighted again as `after:word`, since they usually name the unit
converted from: "9 ounces in kilograms" and "9 kilograms in ounces" hold the
same words, and only this tells them apart. The other unit words, usually the
unit converted to, are weighted again as `to:word`, so the nearest example
shares both ends of the conversion, not only the first. It is all lexical: nothing here
knows a unit or a factor, and the asked question itself is never an example.

>>> words("How many kilograms are in 9 ounces?", {"kilograms", "ounces"})
['kilograms', 'ounces', 'after:ounces', 'after:ounces', 'to:kilograms', 'to:kilograms']
"""

import math
import re

import torch

_WORD = re.compile(r"[a-z]+(?:\^\d|\d)?|°[a-z]?")
_NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?(?:e-?\d+)?")
AFTER_WORDS = 2  # words after the number that get the second weight
# How often the tagged words count again; chosen on valid by how often the nearest example holds the
# asked factor (docs/log.md, 2026-12-04).
AFTER_WEIGHT = 2
TO_WEIGHT = 2
UNIT_WINDOW = 3  # a pool word within this many words after a number counts as naming a unit


def _after_number(question: str, count: int) -> list[str]:
    text = question.lower()
    match = _NUMBER.search(text)
    return _WORD.findall(text[match.end():])[:count] if match else []


def words(question: str, vocabulary: set[str]) -> list[str]:
    """The question's unit words, then the ones after its number again, tagged, then the others."""
    unit_words = [w for w in _WORD.findall(question.lower()) if w in vocabulary]
    after = [w for w in _after_number(question, AFTER_WORDS) if w in vocabulary]
    to = [w for w in unit_words if w not in after]
    return unit_words + [f"after:{w}" for w in after] * AFTER_WEIGHT + [f"to:{w}" for w in to] * TO_WEIGHT


class Demonstrations:
    """Nearest pool entries for a question; `entries` are `[question, answer, ...]` lists."""

    def __init__(self, entries: list[list]):
        self.entries = entries
        # unit words, learned from where they stand in the pool: right after a number
        self.vocabulary = {w for e in entries for w in _after_number(e[0], UNIT_WINDOW)}
        bags = [words(e[0], self.vocabulary) for e in entries]
        counts: dict[str, int] = {}
        for bag in bags:
            for w in set(bag):
                counts[w] = counts.get(w, 0) + 1
        self.index = {w: i for i, w in enumerate(counts)}
        self.idf = torch.tensor([math.log(len(entries) / (1 + counts[w])) + 1 for w in counts])
        self.matrix = self._vectors(bags)

    def _vectors(self, bags: list[list[str]]) -> torch.Tensor:
        """One row per bag: its word counts (words outside the pool's left out) times idf, to unit length."""
        known = [[self.index[w] for w in bag if w in self.index] for bag in bags]
        rows = torch.tensor([r for r, columns in enumerate(known) for _ in columns], dtype=torch.long)
        cols = torch.tensor([c for columns in known for c in columns], dtype=torch.long)
        counts = torch.zeros(len(bags), len(self.index)).index_put_((rows, cols), torch.ones(len(rows)), accumulate=True)
        vectors = counts * self.idf
        return vectors / vectors.norm(dim=1, keepdim=True).clamp(min=1e-9)

    def nearest(self, question: str, k: int) -> list[list]:
        """The `k` most alike entries, least alike first (the nearest stands next to the question)."""
        similarity = self.matrix @ self._vectors([words(question, self.vocabulary)])[0]
        asked = " ".join(question.split())
        picked = [self.entries[i] for i in similarity.topk(min(k + 1, len(self.entries))).indices.tolist()
                  if " ".join(self.entries[i][0].split()) != asked]
        return picked[:k][::-1]
