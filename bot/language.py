"""Which language a message is written in, and whether it asks for a language.

The detector is a linear classifier over character and word n-grams, trained on the
project's own NLU examples and knowledge-base translations, so it knows exactly the
languages the bot serves (Haitian Creole included, which common detectors call French)
and the way people text in them, and needs no model download. It replaced a naive
Bayes model of the same n-grams, which was measured behind it on the held-out set
(README, "Understanding").
"""

from dataclasses import dataclass
from typing import Iterable, List, Mapping, Optional, Tuple

import numpy as np

from bot.text import contains_name

# Below this probability the message is too short or mixed to change the language.
CONFIDENT = 0.5
MIN_LETTERS = 4
# A Chinese character or Hangul syllable says as much as a couple of Latin letters.
WIDE_LETTERS_FROM = 0x3000
# A text whose letters are mostly unseen in every sample is in a script none of them use.
MIN_KNOWN_LETTERS = 0.5


@dataclass(frozen=True)
class Detection:
    """The most likely language and how sure the detector is (0..1)."""

    language: str
    probability: float

    @property
    def confident(self) -> bool:
        """Whether this is sure enough to answer in the detected language."""
        return self.probability >= CONFIDENT


class LanguageDetector:
    """Calibrated linear SVM over character (1-4) and word n-grams of each language's texts."""

    def __init__(self, samples: Mapping[str, Iterable[str]]) -> None:
        # Imported here: building a detector is rare, importing this module is not.
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import make_pipeline, make_union
        from sklearn.svm import LinearSVC

        texts, labels = [], []
        for language, language_texts in samples.items():
            for text in language_texts:
                texts.append(text.lower())
                labels.append(language)
        self._letters = {ch for text in texts for ch in text if ch.isalpha()}
        self._model = None
        if len(set(labels)) >= 2:
            features = make_union(
                TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True),
                TfidfVectorizer(analyzer="word", sublinear_tf=True, token_pattern=r"(?u)\b\w+\b"),
            )
            self._model = make_pipeline(features, CalibratedClassifierCV(LinearSVC(C=1.0), cv=3))
            self._model.fit(texts, np.array(labels))

    @property
    def languages(self) -> List[str]:
        """Languages this detector can tell apart."""
        return sorted(self._model.classes_) if self._model is not None else []

    def detect(self, text: str) -> Optional[Detection]:
        """The most likely language of a text, or None if it has too few letters."""
        letters = [ch for ch in text.lower() if ch.isalpha()]
        weight = sum(2 if ord(ch) >= WIDE_LETTERS_FROM else 1 for ch in letters)
        if weight < MIN_LETTERS or self._model is None:
            return None
        if sum(ch in self._letters for ch in letters) / len(letters) < MIN_KNOWN_LETTERS:
            return None
        probabilities = self._model.predict_proba([text.lower()])[0]
        best = int(np.argmax(probabilities))
        return Detection(str(self._model.classes_[best]), float(probabilities[best]))


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
