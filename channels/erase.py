"""Erase one conversation from whatever tracker store the Rasa server uses."""

from typing import Any

from rasa.core.tracker_store import InMemoryTrackerStore, SQLTrackerStore, TrackerStore


def innermost_store(store: Any) -> TrackerStore:
    """Unwrap Rasa's FailSafe/Awaitable wrappers to the store that holds the data."""
    while hasattr(store, "_tracker_store"):
        store = store._tracker_store
    return store


def erase_conversation(tracker_store: TrackerStore, sender_id: str) -> bool:
    """Delete every stored event of a conversation; True if the store supports it."""
    store = innermost_store(tracker_store)
    if isinstance(store, SQLTrackerStore):
        with store.session_scope() as session:
            session.query(store.SQLEvent).filter(store.SQLEvent.sender_id == sender_id).delete()
            session.commit()
        return True
    if isinstance(store, InMemoryTrackerStore):
        store.store.pop(sender_id, None)
        return True
    return False
