"""The held-out set measures understanding only while the model has never trained on it."""

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
