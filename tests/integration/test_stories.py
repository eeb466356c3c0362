"""The test stories, replayed through the real model and actions as one conversation each.

`rasa test core` (also run by make test) checks that every turn is answered by
action_reply; it does not check what the NLU understood. This test does: each user
line of tests/stories/*.yml must be classified as the story's intent.
"""

import uuid
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest
import yaml

from bot.local_agent import LocalBot

pytestmark = pytest.mark.integration

STORIES = sorted((Path(__file__).resolve().parents[1] / "stories").glob("*.yml"))


def stories() -> Iterator[Tuple[str, List[Tuple[str, str]]]]:
    for path in STORIES:
        for story in yaml.safe_load(path.read_text(encoding="utf-8"))["stories"]:
            turns = [(step["user"].strip(), step["intent"]) for step in story["steps"] if "user" in step]
            yield story["story"], turns


@pytest.fixture(scope="module")
def bot(model: Path) -> Iterator[LocalBot]:
    with LocalBot(model) as local:
        yield local


@pytest.mark.parametrize("name,turns", list(stories()), ids=[name for name, _ in stories()])
def test_story_turns_are_understood(bot: LocalBot, name: str, turns: List[Tuple[str, str]]):
    sender = uuid.uuid4().hex
    for text, intent in turns:
        answer = bot.ask(text, sender_id=sender)
        assert answer.intent == intent, f"{name}: {text!r} understood as {answer.intent}"
        assert answer.text
