"""Organizers teach the bot: unanswered questions become NLU examples, exported in Rasa's format."""

import json
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.nlu_data import iter_examples
from organizer.training import ExampleError, add_example, export, listing
from storage import organizer_db

LANGUAGES = ["en", "es", "ar"]


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return organizer_db.engine(f"sqlite:///{tmp_path}/o.db")


def test_an_example_is_added_and_exported_as_rasa_training_data(engine: Engine, tmp_path: Path) -> None:
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    add_example(engine, "mi patron me amenaza con llamar a la migra", "legal_help", "es", "eddie", LANGUAGES)
    add_example(engine, "هل يمكن لصاحب العمل الاتصال بالهجرة", "legal_help", "ar", "eddie", LANGUAGES)
    written = export(engine, tmp_path / "nlu")
    assert sorted(p.relative_to(tmp_path / "nlu").as_posix() for p in written) == ["ar/organizer.yml", "es/organizer.yml"]
    data = RasaYAMLReader().reads(written[1].read_text(encoding="utf-8"))
    assert [(m.get("intent"), m.get("text")) for m in data.intent_examples] == [
        ("legal_help", "mi patron me amenaza con llamar a la migra")
    ]
    assert ("es", "legal_help", "mi patron me amenaza con llamar a la migra") in set(iter_examples(tmp_path / "nlu"))


def test_what_must_not_become_an_example_is_refused(engine: Engine) -> None:
    training_text = next(text for _, _, text in iter_examples())
    heldout_text = json.loads(Path("bench/heldout/es.jsonl").read_text(encoding="utf-8").splitlines()[0])["text"]
    for text, intent, language, why in (
        ("", "daca", "es", "empty"),
        ("mi numero es [phone] ayuda", "legal_help", "es", "placeholders"),
        ("que es daca", "not_a_topic", "es", "not a topic"),
        ("que es daca", "daca", "xx", "not one of the bot's languages"),
        (training_text, "daca", "en", "already an example"),
        (heldout_text, "daca", "es", "held-out"),
        ("x" * 301, "daca", "es", "at most"),
    ):
        with pytest.raises(ExampleError, match=why):
            add_example(engine, text, intent, language, "eddie", LANGUAGES)
    add_example(engine, "como renuevo mi daca si estoy fuera", "daca", "es", "eddie", LANGUAGES)
    with pytest.raises(ExampleError, match="already added"):
        add_example(engine, "Como renuevo mi DACA si estoy fuera?", "daca", "es", "ana", LANGUAGES)
    assert len(listing(engine)) == 1
