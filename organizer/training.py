"""New NLU training examples from what people asked, and retraining with them.

An organizer turns an unanswered question into an example of a topic; `kyr nlu export`
writes the examples to data/nlu/<language>/organizer.yml (Rasa's format, so they go into
version control with the rest of the training data) and `kyr retrain` exports, checks
the data, trains, and leaves the new model where the running bot servers watch for it.
"""

import json
import re
from pathlib import Path
from typing import Dict, Iterable, List

import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Engine

from bot.nlu_data import DEFAULT_NLU_DIR, iter_examples
from bot.settings import ROOT
from bot.text import tokens
from storage.organizer_db import audit_log, nlu_examples, now

EXPORT_NAME = "organizer.yml"
HELDOUT_DIR = ROOT / "bench" / "heldout"
MAX_EXAMPLE_CHARS = 300
# What bot/scrub.py leaves in place of personal data: not something to train on.
_PLACEHOLDER = re.compile(r"\[[a-z-]+\]")


class ExampleError(ValueError):
    """An example that cannot be added; the message says why."""


def intents(domain_file: Path = ROOT / "domain.yml") -> List[str]:
    """The intents the model is trained on (domain.yml)."""
    return list(yaml.safe_load(domain_file.read_text(encoding="utf-8"))["intents"])


def _key(text: str) -> str:
    return " ".join(tokens(text))


def known_texts(nlu_dir: Path = DEFAULT_NLU_DIR, heldout_dir: Path = HELDOUT_DIR) -> Dict[str, str]:
    """Every training and held-out text (normalised) and where it is, so nothing is added twice
    and nothing of the evaluation set leaks into training."""
    known = {_key(text): f"already an example of {intent} ({language})" for language, intent, text in iter_examples(nlu_dir)}
    for path in sorted(heldout_dir.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                known.setdefault(_key(json.loads(line)["text"]), "in the held-out evaluation set, which must stay unseen")
    return known


def add_example(engine: Engine, text: str, intent: str, language: str, actor: str, languages: Iterable[str]) -> int:
    """Record a new example of an intent in a language; return its id."""
    text = " ".join(text.split())
    if not text:
        raise ExampleError("the example is empty")
    if len(text) > MAX_EXAMPLE_CHARS:
        raise ExampleError(f"an example is at most {MAX_EXAMPLE_CHARS} characters")
    if _PLACEHOLDER.search(text):
        raise ExampleError("replace the [placeholders] left by the privacy filter with made-up values, or remove them")
    if intent not in intents():
        raise ExampleError(f"{intent!r} is not a topic the bot is trained on")
    if language not in set(languages):
        raise ExampleError(f"{language!r} is not one of the bot's languages")
    reason = known_texts().get(_key(text)) or _pending(engine).get(_key(text))
    if reason:
        raise ExampleError(f"this text is {reason}")
    with engine.begin() as connection:
        example_id = connection.execute(
            nlu_examples.insert().values(at=now(), added_by=actor, language=language, intent=intent, text=text)
        ).inserted_primary_key[0]
        connection.execute(
            audit_log.insert().values(at=now(), actor=actor, action="add training example", target=f"{intent} ({language})", detail=text)
        )
    return example_id


def _pending(engine: Engine) -> Dict[str, str]:
    return {_key(e["text"]): f"already added as an example of {e['intent']} ({e['language']})" for e in listing(engine)}


def listing(engine: Engine) -> List[Dict[str, str]]:
    """Every example organizers added, oldest first."""
    with engine.connect() as connection:
        rows = connection.execute(sa.select(nlu_examples).order_by(nlu_examples.c.id))
        return [dict(row._mapping) for row in rows]


def export(engine: Engine, nlu_dir: Path = DEFAULT_NLU_DIR) -> List[Path]:
    """Write the examples to <nlu_dir>/<language>/organizer.yml; return the files written."""
    by_language: Dict[str, Dict[str, List[str]]] = {}
    for example in listing(engine):
        by_language.setdefault(example["language"], {}).setdefault(example["intent"], []).append(example["text"])
    written = []
    for language, by_intent in sorted(by_language.items()):
        path = nlu_dir / language / EXPORT_NAME
        lines = [
            "# Examples organizers added from unanswered questions (organizer app; `kyr nlu export`).",
            'version: "3.1"',
            "nlu:",
        ]
        for intent, texts in sorted(by_intent.items()):
            lines += [f"- intent: {intent}", "  examples: |"] + [f"    - {text}" for text in texts]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        written.append(path)
    return written
