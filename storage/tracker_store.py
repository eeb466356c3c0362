"""Make the tracker store fail safely for this bot's users.

Rasa wraps every tracker store in a FailSafeTrackerStore: when the database cannot be
read it carries on with an empty conversation, and when it cannot be written it keeps
the conversation in that one process's memory. For a person mid-conversation that
means an answer without the city they gave, or a reply the other replicas never see.
Here a store error fails the turn instead, so the channel sends its apology (see
channels/answering.py) and nothing diverges; and connections are checked before use,
so a PostgreSQL restart costs no message at all.

The embedded SQLite store keeps its connections open (Rasa's default opens the file
again for every read and write) in WAL mode with synchronous=FULL: every answered
message is still synced to disk before the reply goes out, power cuts included, with
one fsync per commit instead of a rollback journal's several.
"""

from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore, create_engine_kwargs


class TrackerStoreUnavailable(Exception):
    """The conversation could not be read or written; the turn must not go on without it."""


def _fail_the_turn(error: Exception) -> None:
    raise TrackerStoreUnavailable(type(error).__name__) from error


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def _engine(url: sa.engine.URL) -> sa.engine.Engine:
    if url.get_backend_name() == "sqlite":
        # The event loop and the /ready probe's thread take turns on the pooled connections.
        engine = sa.create_engine(url, poolclass=sa.pool.QueuePool, connect_args={"check_same_thread": False})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url))


def harden(tracker_store: Any) -> None:
    """Turn off Rasa's silent in-memory fallback, pre-ping pooled server connections, and
    keep SQLite's connections open in WAL mode."""
    store = tracker_store
    while store is not None:
        if isinstance(store, FailSafeTrackerStore):
            # Rasa's constructor argument for this callback is not reachable from
            # endpoints.yml, so it is set on the store the agent built.
            store._on_tracker_store_error = _fail_the_turn
        if isinstance(store, SQLTrackerStore):
            store.engine = _engine(store.engine.url)
            store.sessionmaker = sa.orm.session.sessionmaker(bind=store.engine)
        store = getattr(store, "_tracker_store", None)
