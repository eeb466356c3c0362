"""A model loaded the quick way predicts exactly what Rasa's own load predicts."""

import asyncio
from pathlib import Path

import pytest
from rasa.core.agent import Agent
from rasa.model_training import train_nlu
from rasa.utils.tensorflow.models import RasaModel

from server import quick_model_load

CONFIG = """
language: en
pipeline:
  - name: WhitespaceTokenizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 1
    max_ngram: 3
  - name: DIETClassifier
    epochs: 5
    number_of_transformer_layers: 1
    transformer_size: 32
    random_seed: 1
"""

NLU = """
version: "3.1"
nlu:
- intent: ice_at_home
  examples: |
    - ICE is at my door
    - immigration agents knocking at my house
    - la migra esta en mi puerta
    - agents outside my home in [Orlando](jurisdiction)
    - ICE en mi casa en [Miami](jurisdiction)
- intent: legal_help
  examples: |
    - i need a lawyer
    - necesito un abogado
    - free legal help in [Chicago](jurisdiction)
    - where is a legal clinic
    - abogado gratis en [Pasadena](jurisdiction)
- intent: greet
  examples: |
    - hello
    - hola
    - good morning
    - hi there
    - buenos dias
"""

TEXTS = ["ICE at my door in Orlando", "necesito abogado en Miami", "hello", "help me please"]


def parse_all(model: Path):
    agent = Agent.load(str(model))

    async def run():
        return [await agent.parse_message(text) for text in TEXTS]

    return asyncio.run(run())


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("diet")
    (directory / "config.yml").write_text(CONFIG, encoding="utf-8")
    (directory / "nlu.yml").write_text(NLU, encoding="utf-8")
    return Path(train_nlu(str(directory / "config.yml"), str(directory / "nlu.yml"), str(directory), fixed_model_name="diet"))


def test_intents_and_entities_are_the_same_after_the_quick_load(model, monkeypatch):
    rasa_own = parse_all(model)
    monkeypatch.setattr(RasaModel, "load", classmethod(quick_model_load._load))
    quick = parse_all(model)
    for own, fast in zip(rasa_own, quick):
        assert [(r["name"], pytest.approx(r["confidence"], abs=1e-5)) for r in fast["intent_ranking"]] == [
            (r["name"], r["confidence"]) for r in own["intent_ranking"]
        ]
        assert [(e["entity"], e["value"]) for e in fast["entities"]] == [(e["entity"], e["value"]) for e in own["entities"]]
