"""Which language a message is written in, and whether it asks for a language.

The detector is a character n-gram naive Bayes model trained on the project's own
NLU examples, so it knows exactly the languages the bot serves and the way people
text in them, and needs no model download.
"""

import math
from collections import Counter
from dataclasses import dataclass
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

from bot.text import contains_name, tokens

NGRAM_SIZES = (1, 2, 3)
# Below this posterior the message is too short or mixed to change the language.
CONFIDENT = 0.9
MIN_LETTERS = 4
MIN_KNOWN_GRAMS = 0.5


@dataclass(frozen=True)
class Detection:
    """The most likely language and how sure the detector is (0..1)."""

    language: str
    probability: float

    @property
    def confident(self) -> bool:
        """Whether this is sure enough to answer in the detected language."""
        return self.probability >= CONFIDENT


def _grams(text: str) -> Iterable[str]:
    padded = f" {' '.join(tokens(text))} "
    for n in NGRAM_SIZES:
        for i in range(len(padded) - n + 1):
            yield padded[i : i + n]


class LanguageDetector:
    """Naive Bayes over character n-grams of each language's examples."""

    def __init__(self, samples: Mapping[str, Iterable[str]]) -> None:
        self._counts: Dict[str, Counter] = {}
        self._totals: Dict[str, int] = {}
        for language, texts in samples.items():
            counter: Counter = Counter()
            for text in texts:
                counter.update(_grams(text))
            self._counts[language] = counter
            self._totals[language] = sum(counter.values())
        self._vocabulary = len(set().union(*self._counts.values())) if self._counts else 1

    @property
    def languages(self) -> List[str]:
        """Languages this detector can tell apart."""
        return sorted(self._counts)

    def detect(self, text: str) -> Optional[Detection]:
        """The most likely language of a text, or None if it has too few letters."""
        letters = sum(ch.isalpha() for ch in text)
        if letters < MIN_LETTERS or not self._counts:
            return None
        grams = list(_grams(text))
        scores = {}
        for language, counter in self._counts.items():
            denominator = self._totals[language] + self._vocabulary
            scores[language] = sum(math.log((counter[g] + 1) / denominator) for g in grams)
        best = max(scores, key=scores.__getitem__)
        known = sum(1 for g in grams if self._counts[best][g]) / len(grams)
        if known < MIN_KNOWN_GRAMS:
            return None  # a script or language none of the samples is written in
        # Normalise log-likelihoods into a posterior with equal priors.
        top = scores[best]
        total = sum(math.exp(s - top) for s in scores.values())
        return Detection(best, 1.0 / total)


def requested_language(text: str, names: Mapping[str, Iterable[str]]) -> Optional[str]:
    """The language a message asks for by name ("español", "in english please"), if any.

    `names` maps a language code to the words that name it in any language; the
    longest name found wins ("kreyòl ayisyen" over "kreyòl").
    """
    hits: List[Tuple[int, str]] = []
    for language, language_names in names.items():
        for name in language_names:
            if contains_name(text, name):
                hits.append((len(name), language))
    return max(hits)[1] if hits else None
