"""The compiled n-gram model gives scikit-learn's own probabilities and SVM decision values,
survives saving, and refuses files it did not write."""

import pickle
from pathlib import Path

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_pipeline, make_union
from sklearn.svm import LinearSVC

from bot.ngram_model import NgramModel

TEXTS = {
    "en": ["will the police ask my status", "can i call the police", "ice is at my door", "i need a lawyer", "hello there", "what are my rights"],
    "es": ["la policia me va a preguntar mi estatus", "puedo llamar a la policia", "la migra esta en mi puerta", "necesito un abogado", "hola buenas", "cuales son mis derechos"],
    "zh": ["警察会问我的身份吗", "我可以报警吗", "移民局在我家门口", "我需要律师", "你好", "我有什么权利"],
    "ar": ["هل ستسألني الشرطة عن وضعي", "هل يمكنني الاتصال بالشرطة", "الهجرة عند بابي", "أحتاج محامي", "مرحبا", "ما هي حقوقي"],
}
PROBES = [
    "la policia me para en la calle", "police stopped me on the street", "我需要帮助", "محامي مجاني من فضلك",
    "", "   ", "!!!", "ñ", "x" * 3000, "q pasa si me para la police", "<script>alert(1)</script>", "😀 hola",
]


def pipeline(ensemble: bool, languages=("en", "es", "zh", "ar")):
    texts = [t for lang in languages for t in TEXTS[lang]]
    labels = [lang for lang in languages for _ in TEXTS[lang]]
    fitted = make_pipeline(
        make_union(
            TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True),
            TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w+\b"),
        ),
        CalibratedClassifierCV(LinearSVC(C=0.5), cv=3, method="sigmoid", ensemble=ensemble),
    )
    return fitted.fit(texts, np.array(labels))


@pytest.mark.parametrize("ensemble", [True, False])
@pytest.mark.parametrize("languages", [("en", "es", "zh", "ar"), ("en", "es")])
def test_probabilities_are_scikit_learns(ensemble, languages, tmp_path: Path) -> None:
    fitted = pipeline(ensemble, languages)
    model = NgramModel.from_pipeline(fitted)
    assert list(model.classes_) == list(fitted.classes_)
    np.testing.assert_allclose(model.predict_proba(PROBES), fitted.predict_proba(PROBES), rtol=0, atol=1e-12)

    model.save(tmp_path / "model.npz")
    loaded = NgramModel.load(tmp_path / "model.npz")
    np.testing.assert_allclose(loaded.predict_proba(PROBES), fitted.predict_proba(PROBES), rtol=0, atol=1e-12)


@pytest.mark.parametrize("languages", [("en", "es", "zh", "ar"), ("en", "es")])
def test_decision_values_are_the_svms(languages) -> None:
    fitted = pipeline(False, languages)
    svm = fitted.steps[-1][1].calibrated_classifiers_[0].base_estimator
    expected = svm.decision_function(fitted.steps[0][1].transform(PROBES))
    if expected.ndim == 1:  # a binary SVM scores its second class; the first gets the opposite
        expected = np.column_stack([-expected, expected])
    scores, probabilities = NgramModel.from_pipeline(fitted).scores_and_probabilities(PROBES)
    np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(probabilities, fitted.predict_proba(PROBES), rtol=0, atol=1e-12)


def test_other_vectorizer_settings_are_refused() -> None:
    fitted = make_pipeline(
        make_union(TfidfVectorizer(analyzer="char", ngram_range=(1, 2))),
        CalibratedClassifierCV(LinearSVC(), cv=3),
    ).fit(TEXTS["en"] + TEXTS["es"], np.array(["en"] * 6 + ["es"] * 6))
    with pytest.raises(ValueError, match="unsupported"):
        NgramModel.from_pipeline(fitted)


def test_files_it_did_not_write_are_refused(tmp_path: Path) -> None:
    pickled = tmp_path / "pickled.npz"
    pickled.write_bytes(pickle.dumps({"not": "a model"}))
    objects = tmp_path / "objects.npz"
    np.savez(objects, meta=np.array([{"format": 1}], dtype=object))
    truncated = tmp_path / "truncated.npz"
    NgramModel.from_pipeline(pipeline(False)).save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:1000])
    for path in (pickled, objects, truncated, tmp_path / "missing.npz"):
        with pytest.raises(ValueError):
            NgramModel.load(path)
