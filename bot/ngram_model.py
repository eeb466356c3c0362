"""A fitted n-gram text classifier, kept as plain arrays: fast on one message, safe to load.

The intent classifier and the language detector are both scikit-learn pipelines:
TF-IDF character and word n-grams joined by a FeatureUnion, then a linear SVM with
sigmoid-calibrated probabilities. scikit-learn answers one short message in about 5 ms,
nearly all of it input checks and sparse-matrix bookkeeping (1.1's TF-IDF re-sums its
whole idf matrix on every call), and its pickles or skops files take seconds to read.
`NgramModel` holds what the fitted pipeline computes with (vocabularies, idf weights,
SVM weights, sigmoid parameters) and computes the same probabilities with a few array
operations; it is saved as a NumPy archive read without pickle, so a file can hold
numbers and text but never code. tests/test_ngram_model.py checks it against
scikit-learn's own predict_proba and the SVM's decision_function.
"""

import hashlib
import json
import os
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, Tuple

import numpy as np
from scipy.special import expit

FORMAT = 1
# Vocabulary terms are stored one per line: n-grams never hold a line break
# (the char_wb and word analyzers split on whitespace).
_SEPARATOR = "\n"


@dataclass
class _Vectorizer:
    """One TF-IDF vectorizer of the FeatureUnion: its analyzer settings and fitted weights."""

    settings: Dict[str, Any]  # analyzer, ngram_range, lowercase, token_pattern, sublinear_tf
    vocabulary: Dict[str, int]
    idf: np.ndarray
    offset: int  # where its columns start in the joined feature vector
    analyze: Callable[[str], List[str]]


@dataclass
class _Calibrated:
    """One calibrated SVM: weights per feature (rows) and class output (columns), and sigmoids."""

    weights: np.ndarray  # (features, outputs)
    intercept: np.ndarray  # (outputs,)
    positions: np.ndarray  # the class index each output calibrates
    slope: np.ndarray  # sigmoid a per output: p = expit(-(a * score + b))
    bias: np.ndarray


_SETTINGS = ("analyzer", "ngram_range", "lowercase", "token_pattern", "sublinear_tf")
# What the fitted vectorizers must be set to for this module to compute the same features.
_REQUIRED = {"norm": "l2", "use_idf": True, "smooth_idf": True, "binary": False, "strip_accents": None,
             "preprocessor": None, "tokenizer": None, "stop_words": None, "input": "content", "decode_error": "strict"}


def code_fingerprint() -> str:
    """A hash of this module's code: a model saved by other code is trained again, not reused."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def _analyzer(settings: Dict[str, Any]) -> Callable[[str], List[str]]:
    """scikit-learn's own analyzer for these settings, so features are split exactly as in training."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(**{**settings, "ngram_range": tuple(settings["ngram_range"])}).build_analyzer()


class NgramModel:
    """Class probabilities for texts, from a fitted TF-IDF + calibrated linear SVM pipeline."""

    def __init__(self, classes: Sequence[str], vectorizers: List[_Vectorizer], calibrated: List[_Calibrated]) -> None:
        self.classes_ = np.array(classes)
        self._vectorizers = vectorizers
        self._calibrated = calibrated

    @classmethod
    def from_pipeline(cls, pipeline: Any) -> "NgramModel":
        """Take the weights of a fitted Pipeline(FeatureUnion(TfidfVectorizer...), CalibratedClassifierCV(LinearSVC))."""
        union, classifier = pipeline.steps[0][1], pipeline.steps[-1][1]
        vectorizers, offset = [], 0
        for _, vectorizer in union.transformer_list:
            params = vectorizer.get_params()
            wrong = {k: params[k] for k, v in _REQUIRED.items() if params[k] != v}
            if wrong or vectorizer.analyzer not in ("char_wb", "word"):
                raise ValueError(f"unsupported vectorizer settings: {wrong or vectorizer.analyzer}")
            settings = {k: params[k] for k in _SETTINGS}
            settings["ngram_range"] = list(settings["ngram_range"])
            vocabulary = dict(vectorizer.vocabulary_)
            vectorizers.append(_Vectorizer(settings, vocabulary, np.asarray(vectorizer.idf_, dtype=np.float64), offset, _analyzer(settings)))
            offset += len(vocabulary)
        classes = [str(c) for c in classifier.classes_]
        calibrated = []
        for part in classifier.calibrated_classifiers_:
            if type(part.base_estimator).__name__ != "LinearSVC" or any(type(c).__name__ != "_SigmoidCalibration" for c in part.calibrators):
                raise ValueError("only sigmoid-calibrated LinearSVC models are supported")
            index = {c: i for i, c in enumerate(classes)}
            positions = np.array([index[str(c)] for c in part.base_estimator.classes_])
            if len(classes) == 2:
                positions = positions[1:]  # a binary SVM scores only its second class
            calibrated.append(
                _Calibrated(
                    weights=np.ascontiguousarray(part.base_estimator.coef_.T, dtype=np.float64),
                    intercept=np.asarray(part.base_estimator.intercept_, dtype=np.float64),
                    positions=positions,
                    slope=np.array([c.a_ for c in part.calibrators], dtype=np.float64),
                    bias=np.array([c.b_ for c in part.calibrators], dtype=np.float64),
                )
            )
        return cls(classes, vectorizers, calibrated)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated class probabilities, one row per text, columns in the order of `classes_`."""
        return self.scores_and_probabilities(texts)[1]

    def scores_and_probabilities(self, texts: Sequence[str]) -> Tuple[np.ndarray, np.ndarray]:
        """The SVMs' decision values (averaged over the calibrated SVMs, as scikit-learn's
        `decision_function` of one of them) and the calibrated probabilities, each one row per
        text and a column per class, from one pass over each text's features."""
        shape = (len(texts), len(self.classes_))
        rows = [self._predict(text) for text in texts]
        return np.array([r[0] for r in rows]).reshape(shape), np.array([r[1] for r in rows]).reshape(shape)

    def _features(self, text: str) -> Tuple[np.ndarray, np.ndarray]:
        """The text's non-zero TF-IDF features: column indices and values."""
        columns, values = [], []
        for vectorizer in self._vectorizers:
            counts = Counter(j for j in map(vectorizer.vocabulary.get, vectorizer.analyze(text)) if j is not None)
            if not counts:
                continue
            index = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            if vectorizer.settings["sublinear_tf"]:
                tf = 1.0 + np.log(tf)
            weighted = tf * vectorizer.idf[index]
            columns.append(index + vectorizer.offset)
            values.append(weighted / np.sqrt(np.dot(weighted, weighted)))
        if not columns:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        return np.concatenate(columns), np.concatenate(values)

    def _predict(self, text: str) -> Tuple[np.ndarray, np.ndarray]:
        """One text's decision values and probabilities: each calibrated SVM's, averaged as
        scikit-learn does."""
        columns, values = self._features(text)
        n_classes = len(self.classes_)
        mean = np.zeros(n_classes)
        decision = np.zeros(n_classes)
        for part in self._calibrated:
            scores = values @ part.weights[columns] + part.intercept
            if n_classes == 2:
                decision += np.array([-scores[0], scores[0]])
            else:
                decision[part.positions] += scores
            proba = np.zeros(n_classes)
            proba[part.positions] = expit(-(part.slope * scores + part.bias))
            if n_classes == 2:
                proba[0] = 1.0 - proba[1]
            else:
                total = proba.sum()
                # As scikit-learn: when every sigmoid says 0, every class is equally likely.
                proba = proba / total if total != 0 else np.full(n_classes, 1.0 / n_classes)
            mean += proba
        return decision / len(self._calibrated), mean / len(self._calibrated)

    def save(self, path: Path) -> None:
        """Write the model as a NumPy archive (arrays and text only); readers never see a
        half-written file."""
        meta = {
            "format": FORMAT,
            "classes": [str(c) for c in self.classes_],
            "vectorizers": [v.settings for v in self._vectorizers],
            "calibrated": len(self._calibrated),
        }
        arrays: Dict[str, np.ndarray] = {"meta": np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)}
        for i, vectorizer in enumerate(self._vectorizers):
            terms = sorted(vectorizer.vocabulary, key=vectorizer.vocabulary.__getitem__)
            if any(_SEPARATOR in term for term in terms):
                raise ValueError("a vocabulary term holds a line break")
            arrays[f"vocabulary_{i}"] = np.frombuffer(_SEPARATOR.join(terms).encode("utf-8"), dtype=np.uint8)
            arrays[f"idf_{i}"] = vectorizer.idf
        for i, part in enumerate(self._calibrated):
            for name in ("weights", "intercept", "positions", "slope", "bias"):
                arrays[f"{name}_{i}"] = getattr(part, name)
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
        with open(partial, "wb") as file:
            np.savez(file, **arrays)
        os.replace(partial, path)

    @classmethod
    def load(cls, path: Path) -> "NgramModel":
        """Read a model written by `save`; ValueError if the file is not one."""
        try:
            with np.load(path, allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
            meta = json.loads(arrays["meta"].tobytes().decode("utf-8"))
            if meta.get("format") != FORMAT:
                raise ValueError(f"format {meta.get('format')}, expected {FORMAT}")
            vectorizers, offset = [], 0
            for i, settings in enumerate(meta["vectorizers"]):
                terms = arrays[f"vocabulary_{i}"].tobytes().decode("utf-8").split(_SEPARATOR)
                vocabulary = {term: j for j, term in enumerate(terms)}
                vectorizers.append(_Vectorizer(settings, vocabulary, arrays[f"idf_{i}"], offset, _analyzer(settings)))
                offset += len(vocabulary)
            calibrated = [
                _Calibrated(*(arrays[f"{name}_{i}"] for name in ("weights", "intercept", "positions", "slope", "bias")))
                for i in range(meta["calibrated"])
            ]
        except (KeyError, TypeError, AttributeError, UnicodeDecodeError, json.JSONDecodeError, OSError, zipfile.BadZipFile) as error:
            raise ValueError(f"{path} is not a saved n-gram model ({error.__class__.__name__}: {error})") from error
        if any(c.weights.shape[0] != offset for c in calibrated):
            raise ValueError(f"{path} is not a saved n-gram model (its weights do not match its vocabulary)")
        return cls(meta["classes"], vectorizers, calibrated)
