"""The n-gram intent classifier: trains, ranks intents with the margin's probability of being
right first, survives saving and loading, and refuses a saved file that holds objects rather
than arrays."""

import pickle
import re
from pathlib import Path

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu_components.ngram_intent_classifier import MARGIN_FILE, MODEL_FILE, NgramIntentClassifier, fold

EXAMPLES = {
    "greet": ["hola", "hello there", "hi", "bonjou", "buenas", "hey hey", "xin chao", "good morning"],
    "ice_at_home": [
        "ICE is at my door", "la migra esta en mi puerta", "immigration knocking now",
        "ICE nan pot mwen", "agents outside my house", "hay agentes afuera de mi casa",
        "they have a paper at the door", "ice en la casa que hago",
    ],
    "legal_help": [
        "i need a lawyer", "necesito un abogado", "free legal help", "mwen bezwen avoka",
        "abogado gratis", "legal aid near me", "immigration lawyer cheap", "clinic legal",
    ],
}


def training_data() -> TrainingData:
    return TrainingData([Message(data={"text": t, "intent": i}) for i, texts in EXAMPLES.items() for t in texts])


def trained(tmp_path: Path) -> NgramIntentClassifier:
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(GraphSchema({}), "test")
    component = NgramIntentClassifier.create({"calibration_folds": 3}, storage, Resource("clf"), context)
    component.train(training_data())
    return component


def load(tmp_path: Path) -> NgramIntentClassifier:
    context = ExecutionContext(GraphSchema({}), "test")
    return NgramIntentClassifier.load({"calibration_folds": 3}, LocalModelStorage(tmp_path), Resource("clf"), context)


def intent_of(component: NgramIntentClassifier, text: str) -> dict:
    message = Message(data={"text": text})
    component.process([message])
    return message


def test_fold_removes_accents_and_keeps_hangul():
    assert fold("Policía ÁREA") == "policia area"
    assert fold("경찰이 물어봐요") == "경찰이 물어봐요"


def test_unseen_phrasings_get_their_intent_with_a_ranking_of_probabilities(tmp_path):
    component = trained(tmp_path)
    message = intent_of(component, "la migra toca mi puerta ahora")
    assert message.get("intent")["name"] == "ice_at_home"
    ranking = message.get("intent_ranking")
    assert [r["name"] for r in ranking][0] == "ice_at_home"
    assert sum(r["confidence"] for r in ranking) == pytest.approx(1.0)
    assert ranking[0]["confidence"] > ranking[1]["confidence"]
    assert intent_of(component, "where can i find a lawyer").get("intent")["name"] == "legal_help"


def test_a_saved_model_loads_and_answers_the_same(tmp_path):
    component = trained(tmp_path)
    before = intent_of(component, "abogado por favor").get("intent_ranking")
    after = intent_of(load(tmp_path), "abogado por favor").get("intent_ranking")
    assert [r["name"] for r in after] == [r["name"] for r in before]
    assert after[0]["confidence"] == pytest.approx(before[0]["confidence"])


def test_a_saved_file_holding_objects_is_refused(tmp_path):
    trained(tmp_path)
    path = next(tmp_path.rglob(MODEL_FILE))
    path.write_bytes(pickle.dumps({"model": Path("/etc/passwd")}))  # loading a pickle can run code
    component = load(tmp_path)
    assert component.model is None
    assert intent_of(component, "hola").get("intent") is None


def test_chinese_characters_are_words_and_other_words_stay_whole():
    from bot.text import WORD_TOKENS

    assert re.findall(WORD_TOKENS, "警察会问 my status 在orlando 경찰이 qué") == [
        "警", "察", "会", "问", "my", "status", "在", "orlando", "경찰이", "qué",
    ]


def test_the_confidence_is_the_margins_probability_of_being_right(tmp_path):
    component = trained(tmp_path)
    component.margin_sigmoid = {"slope": 2.0, "bias": -1.0}
    scores = np.array([0.9, -0.2, 0.5])  # greet, ice_at_home, legal_help
    ranking = component.ranking(scores, np.array([0.2, 0.1, 0.7]))
    assert [r["name"] for r in ranking] == ["greet", "legal_help", "ice_at_home"]
    right = 1 / (1 + np.exp(-(2.0 * (0.9 - 0.5) - 1.0)))
    assert ranking[0]["confidence"] == pytest.approx(right)
    # The rest is shared by calibrated probability, and never above the chosen intent.
    assert ranking[1]["confidence"] == pytest.approx(min(right, (1 - right) * 0.7 / 0.8))
    assert ranking[2]["confidence"] == pytest.approx((1 - right) * 0.1 / 0.8)
    wider = component.ranking(np.array([1.5, -0.2, 0.5]), np.array([0.2, 0.1, 0.7]))
    assert wider[0]["confidence"] > ranking[0]["confidence"]


def test_a_model_saved_without_its_margin_sigmoid_is_not_used(tmp_path):
    trained(tmp_path)
    next(tmp_path.rglob(MARGIN_FILE)).write_text('{"slope": "x"}', encoding="utf-8")
    assert load(tmp_path).model is None
    next(tmp_path.rglob(MARGIN_FILE)).unlink()
    assert load(tmp_path).model is None


def test_calibration_folds_mix_the_languages_rasa_hands_over_one_after_another(tmp_path):
    # Rasa gives the examples file by file, one language after another: five languages and
    # five folds in that order would each hold out a whole language, and the confidence
    # would be calibrated on languages the model had not seen.
    labels = np.array([intent for _ in range(5) for intent in ("ask", "tell") for _ in range(10)])
    language = np.repeat(np.arange(5), 20)
    component = NgramIntentClassifier.create({}, LocalModelStorage(tmp_path), Resource("clf"), ExecutionContext(GraphSchema({}), "test"))
    for _, held_out in component.folds(labels).split(np.zeros(len(labels)), labels):
        assert set(language[held_out]) == set(range(5))
