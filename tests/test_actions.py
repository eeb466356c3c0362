"""The answering action over canned trackers: exact messages and slot events."""

import asyncio
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.reply import ActionReply

SLOTS = ("language", "language_chosen", "jurisdiction", "unlisted_place", "pending_topic", "asked_jurisdiction")


def tracker(text: str, intent: str, entities: Optional[List[Dict[str, Any]]] = None, slots=None, metadata=None) -> Tracker:
    message = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.9},
        "entities": entities or [],
        "metadata": metadata or {},
    }
    all_slots = {name: None for name in SLOTS}
    all_slots.update(slots or {})
    return Tracker("test-user", all_slots, message, [], False, None, {}, "action_listen")


def run(t: Tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionReply().run(dispatcher, t, {}))
    assert len(dispatcher.messages) == 1
    return dispatcher.messages[0], {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def test_answer_carries_text_and_metadata_and_remembers_city():
    message, slots = run(tracker("will police ask my status in orlando", "police_status_questions", [{"entity": "jurisdiction", "value": "orlando"}]))
    assert message["text"].startswith("Orlando:")
    custom = message["custom"]
    assert set(custom) >= {"topic", "jurisdiction", "language", "sources", "fact_ids"}
    assert custom["topic"] == "police_status_questions" and custom["jurisdiction"] == "orlando"
    assert slots["jurisdiction"] == "orlando" and slots["language"] == "en"


def test_typo_in_city_still_resolves():
    message, slots = run(tracker("does the jail in orlnado hold people for ice", "ice_detainers", [{"entity": "jurisdiction", "value": "orlnado"}]))
    assert slots["jurisdiction"] == "orlando"
    assert "orlando-05" in message["custom"]["fact_ids"]


def test_question_without_city_sets_pending_topic_then_city_answers_it():
    message, slots = run(tracker("is this a sanctuary city?", "local_policy_overview"))
    assert message["custom"]["topic"] == "local_policy_overview"
    assert message["custom"]["needs"] == "jurisdiction"
    assert slots["pending_topic"] == "local_policy_overview" and slots["asked_jurisdiction"] is True
    message, slots = run(tracker("chicago", "set_jurisdiction", [{"entity": "jurisdiction", "value": "chicago"}], slots=slots))
    assert message["custom"]["topic"] == "local_policy_overview"
    assert message["custom"]["jurisdiction"] == "chicago"
    assert slots["pending_topic"] is None


def test_delete_my_data_resets_slots_and_asks_channel_to_erase():
    message, slots = run(tracker("delete my data", "delete_my_data", slots={"jurisdiction": "orlando", "language": "en"}))
    assert message["custom"]["erase"] is True
    assert slots["jurisdiction"] is None


def test_emergency_path_in_spanish():
    message, _ = run(tracker("la migra esta en mi puerta que hago", "ice_at_home"))
    assert message["text"].startswith("Si ICE está en su puerta ahora:")
    assert message["custom"]["language"] == "es"
    assert SlotSet  # events are plain dicts in rasa-sdk
