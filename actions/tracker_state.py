"""Translate between Rasa trackers and the dialogue's Turn and State."""

from dataclasses import asdict, fields
from typing import Any, Dict, List, Tuple

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

from bot.dialogue import Outcome, State, Turn

PLACE_ENTITY = "jurisdiction"
FALLBACK_INTENT = "nlu_fallback"
SLOTS = tuple(f.name for f in fields(State))


def turn_and_state(tracker: Tracker) -> Tuple[Turn, State]:
    """The latest message as a Turn, and the conversation's remembered State."""
    message: Dict[str, Any] = tracker.latest_message or {}
    intent = (message.get("intent") or {}).get("name") or "out_of_scope"
    mentions = [str(e.get("value")) for e in message.get("entities", []) if e.get("entity") == PLACE_ENTITY]
    metadata = message.get("metadata") or {}
    ranking = [r.get("name") for r in message.get("intent_ranking") or [] if r.get("name") != FALLBACK_INTENT]
    turn = Turn(
        text=message.get("text") or "",
        intent=intent,
        place_mentions=mentions,
        best_guess=ranking[0] if ranking else None,
        metadata=metadata if isinstance(metadata, dict) else {},
    )
    state = State(**{name: tracker.get_slot(name) for name in SLOTS if tracker.get_slot(name) is not None})
    return turn, state


def outcome_events(outcome: Outcome) -> List[EventType]:
    """Slot events for every remembered value."""
    return [SlotSet(name, value) for name, value in asdict(outcome.state).items()]
