"""Which language a message is written in, and whether it asks for a language.

The detector is a linear classifier over character and word n-grams, trained on the
project's own NLU examples and knowledge-base translations, so it knows exactly the
languages the bot serves (Haitian Creole included, which common detectors call French)
and the way people text in them, and needs no model download. It replaced a naive
Bayes model of the same n-grams, which was measured behind it on the held-out set
(README, "Understanding").
"""

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from bot import ngram_model
from bot.ngram_model import NgramModel
from bot.text import contains_name, fold, without_word_spaces

logger = logging.getLogger(__name__)

# Below this probability the message is too short or mixed to change the language.
CONFIDENT = 0.5
MIN_LETTERS = 4
CALIBRATION_FOLDS = 3
# A Chinese character or Hangul syllable says as much as a couple of Latin letters.
WIDE_LETTERS_FROM = 0x3000
# A text whose letters are mostly unseen in every sample is in a script none of them use.
MIN_KNOWN_LETTERS = 0.5
# How far a negation may stand from the language name it negates, without crossing a
# clause break: "no hablo bien el inglés" (words) or "我不会说英语" (joined characters).
_CLAUSE_GAP = r"[^,.;:!?¿¡，。！？；،؟\n]{{0,{chars}}}?"
_WORD_GAP = 20
_JOINED_GAP = 6


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

    def __init__(self, samples: Mapping[str, Iterable[str]], model: Optional[NgramModel] = None) -> None:
        """Train on `samples` (texts per language), or take `model`, trained on them before."""
        # Imported here: building a detector is rare, importing this module is not.
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import make_pipeline, make_union
        from sklearn.svm import LinearSVC

        texts, labels = [], []
        for language, language_texts in samples.items():
            language_texts = list(language_texts)
            if len(language_texts) < CALIBRATION_FOLDS:
                continue  # too little to learn a language from (a language just added to the KB)
            for text in language_texts:
                texts.append(text.lower())
                labels.append(language)
        self._letters = {ch for text in texts for ch in text if ch.isalpha()}
        self._model = model
        if model is None and len(set(labels)) >= 2:
            features = make_union(
                TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True),
                TfidfVectorizer(analyzer="word", sublinear_tf=True, token_pattern=r"(?u)\b\w+\b"),
            )
            fitted = make_pipeline(features, CalibratedClassifierCV(LinearSVC(C=1.0), cv=CALIBRATION_FOLDS))
            self._model = NgramModel.from_pipeline(fitted.fit(texts, np.array(labels)))

    @property
    def model(self) -> Optional[NgramModel]:
        """The fitted model (None with fewer than two languages)."""
        return self._model

    @property
    def languages(self) -> List[str]:
        """Languages this detector can tell apart."""
        return sorted(self._model.classes_) if self._model is not None else []

    def detect(self, text: str) -> Optional[Detection]:
        """The most likely language of a text, or None if it has too few letters."""
        lowered = text.lower()
        letters = [ch for ch in lowered if ch.isalpha()]
        weight = sum(2 if ord(ch) >= WIDE_LETTERS_FROM else 1 for ch in letters)
        if weight < MIN_LETTERS or self._model is None:
            return None
        if sum(ch in self._letters for ch in letters) / len(letters) < MIN_KNOWN_LETTERS:
            return None
        probabilities = self._model.predict_proba([lowered])[0]
        best = int(np.argmax(probabilities))
        return Detection(str(self._model.classes_[best]), float(probabilities[best]))


def samples_key(samples: Mapping[str, Sequence[str]]) -> str:
    """A hash of the training texts and of the code that trains and runs the detector, which
    names a saved detector."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(ngram_model.code_fingerprint().encode())
    digest.update(json.dumps({k: list(v) for k, v in sorted(samples.items())}, ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()[:20]


def cached_detector(samples: Mapping[str, Sequence[str]], directory: Path) -> LanguageDetector:
    """The detector for these samples: loaded from `directory` if one was trained on exactly
    them, else trained (a few seconds) and saved there for the next process."""
    path = directory / f"language-detector-{samples_key(samples)}.npz"
    if path.exists():
        try:
            return LanguageDetector(samples, NgramModel.load(path))
        except (ValueError, OSError) as error:
            logger.warning("saved language detector not used (%s); training a new one", error)
    detector = LanguageDetector(samples)
    if detector.model is not None:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            detector.model.save(path)
        except OSError as error:
            logger.warning("language detector not saved (%s); the next process trains its own", error)
    return detector


def requested_language(
    text: str, names: Mapping[str, Iterable[str]], negations: Iterable[str] = ()
) -> Optional[str]:
    """The language a message asks for by name ("español", "in english please"), if any.

    `names` maps a language code to the words that name it in any language; the
    longest name found wins ("kreyòl ayisyen" over "kreyòl"). A name the message
    negates ("no hablo inglés") is not a request for that language.
    """
    hits: List[Tuple[int, str]] = []
    for language, language_names in names.items():
        for name in language_names:
            if contains_name(text, name) and not negated(text, name, negations):
                hits.append((len(name), language))
    return max(hits)[1] if hits else None


def negated(text: str, name: str, negations: Iterable[str]) -> bool:
    """Whether a negation stands close before a name in the same clause ("pa pale angle").

    Chinese and Korean negations may also follow it ("영어 못해요"). A comma or full stop
    in between ends the clause, so "no, english please" still asks for English.
    """
    folded, target = fold(text), re.escape(fold(name))
    for negation in negations:
        word = re.escape(fold(negation))
        if without_word_spaces(negation):
            between = _CLAUSE_GAP.format(chars=_JOINED_GAP)
            pattern = f"{word}{between}{target}|{target}{between}{word}"
        else:
            pattern = rf"(?<![^\W_]){word}(?![^\W_]){_CLAUSE_GAP.format(chars=_WORD_GAP)}{target}"
        if re.search(pattern, folded):
            return True
    return False
