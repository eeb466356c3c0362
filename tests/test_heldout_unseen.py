"""The held-out set measures understanding only while the model has never trained on it,
and only where it says what the right answer is."""

import json
from pathlib import Path

from bench.metrics import word_count
from bot.nlu_data import iter_examples
from bot.text import tokens

HELDOUT = Path(__file__).resolve().parents[1] / "bench" / "heldout"


def test_no_heldout_message_of_three_words_or_more_is_also_a_training_example() -> None:
    # Shorter ones ("hi hi", "borra todo") are bound to coincide; longer ones are copies.
    training = {tuple(tokens(text)): (language, text) for language, _, text in iter_examples()}
    copies = []
    for path in sorted(HELDOUT.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            words = tuple(tokens(row["text"]))
            if word_count(row["text"]) >= 3 and words in training:
                copies.append((row["id"], row["text"], training[words]))
    assert copies == []


def test_every_language_request_names_the_language_it_asks_for() -> None:
    # The bench expects a reply in the requested language, so each request must say which.
    languages = {path.stem for path in HELDOUT.glob("*.jsonl")}
    unlabelled, unknown = [], []
    for path in sorted(HELDOUT.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row["topic"] == "set_language" and "reply_language" not in row:
                unlabelled.append(row["id"])
            if "reply_language" in row and row["reply_language"] not in languages:
                unknown.append((row["id"], row["reply_language"]))
    assert unlabelled == [] and unknown == []
