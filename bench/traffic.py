"""The requests of a load run, built in full before the clock starts.

kyr bot: half the people text over SMS (form-encoded, signed with Twilio's
RequestValidator for the public URL, as bot/sms/simulator.py does), half use the web
widget (JSON with an allowed Origin); each asks questions from the held-out set
(bench/heldout/<language>.jsonl) in one of its ten languages. Reference (`rasa init`'s
moodbot): English small talk over Rasa's REST channel.
"""

import json
import random
import secrets
import urllib.parse
from dataclasses import dataclass
from typing import Dict, List, Sequence

from twilio.request_validator import RequestValidator

from bench.schedule import Slot
from bot.settings import ROOT
from bot.sms.simulator import WEBHOOK_PATH as SMS_PATH, twilio_params

HELDOUT = ROOT / "bench" / "heldout"
WIDGET_PATH = "/webhooks/widget/webhook"
REST_PATH = "/webhooks/rest/webhook"
TO_NUMBER = "+15555550100"
# What the moodbot understands (its data/nlu.yml), as short conversations.
MOODBOT_CONVERSATIONS = (
    ("hello", "I am sad", "yes"),
    ("hi", "I am feeling great", "goodbye"),
    ("good morning", "I am unhappy", "no"),
    ("hey there", "are you a bot?", "bye"),
    ("good evening", "very good", "see you later"),
    ("hey", "not very good", "yes, it did help"),
)
# Bytes that show a request was answered with a message, per kind.
ANSWERED = {"sms": b"<Message", "widget": b'"text"', "rest": b'"text"'}


@dataclass(frozen=True)
class Request:
    """One prepared HTTP POST and when it is due (offset from the start, s)."""

    at: float
    kind: str
    path: str
    body: bytes
    headers: Dict[str, str]


def heldout_questions() -> Dict[str, List[str]]:
    """Held-out question texts by language code."""
    questions = {}
    for path in sorted(HELDOUT.glob("*.jsonl")):
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        questions[path.stem] = [row["text"] for row in rows]
    return questions


class KyrTraffic:
    """SMS and widget requests to the kyr bot, alternating by person."""

    def __init__(self, auth_token: str, public_base_url: str, origin: str, seed: int) -> None:
        self.validator = RequestValidator(auth_token)
        self.public_url = public_base_url.rstrip("/") + SMS_PATH
        self.origin = origin
        self.rng = random.Random(seed)
        self.questions = heldout_questions()
        self.languages = sorted(self.questions)
        self.tag = secrets.token_hex(4)

    def request(self, slot: Slot) -> Request:
        """The request of one arrival: person p's language is the p-th, SMS for even p."""
        language = self.languages[slot.person // 2 % len(self.languages)]
        text = self.rng.choice(self.questions[language])
        if slot.person % 2 == 0:
            sender = f"+1555{(int(self.tag, 16) + slot.person) % 10**7:07d}"
            params = twilio_params(text, sender, TO_NUMBER)
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": self.validator.compute_signature(self.public_url, params),
            }
            return Request(slot.at, "sms", SMS_PATH, urllib.parse.urlencode(params).encode("utf-8"), headers)
        body = {"sender": f"load-{self.tag}-{slot.person:08d}", "message": text, "metadata": {}}
        headers = {"Content-Type": "application/json", "Origin": self.origin}
        return Request(slot.at, "widget", WIDGET_PATH, json.dumps(body).encode("utf-8"), headers)


class MoodbotTraffic:
    """REST requests to the reference: each person one of the moodbot conversations."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.tag = secrets.token_hex(4)
        self.conversations: Dict[int, Sequence[str]] = {}

    def request(self, slot: Slot) -> Request:
        """The person's conversation's message for this turn (the last one repeats)."""
        conversation = self.conversations.setdefault(slot.person, self.rng.choice(MOODBOT_CONVERSATIONS))
        text = conversation[min(slot.turn, len(conversation) - 1)]
        body = {"sender": f"load-{self.tag}-{slot.person:08d}", "message": text}
        return Request(slot.at, "rest", REST_PATH, json.dumps(body).encode("utf-8"), {"Content-Type": "application/json"})
