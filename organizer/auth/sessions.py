"""Server-side sessions for the organizer app.

The cookie holds a random token; the database holds only its SHA-256, so a copy of the
database does not let anyone sign in. A session ends after KYR_ORGANIZER_IDLE_MINUTES
without a request (30 by default) and KYR_ORGANIZER_MAX_HOURS after sign-in (12 by
default), whichever comes first.
"""

import hashlib
import os
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from storage.organizer_db import now, organizer_sessions

COOKIE_NAME = "kyr_org"


@dataclass(frozen=True)
class Session:
    """One signed-in browser. For reviewers and admins, only half signed in until second_factor_done."""

    token_hash: str
    user_id: int
    created_at: datetime
    last_seen: datetime
    csrf_token: str
    second_factor_done: bool


def idle_timeout() -> timedelta:
    """How long a session survives without requests (KYR_ORGANIZER_IDLE_MINUTES, default 30)."""
    return timedelta(minutes=float(os.environ.get("KYR_ORGANIZER_IDLE_MINUTES") or 30))


def max_age() -> timedelta:
    """How long a session lasts at most after sign-in (KYR_ORGANIZER_MAX_HOURS, default 12)."""
    return timedelta(hours=float(os.environ.get("KYR_ORGANIZER_MAX_HOURS") or 12))


def token_hash(token: str) -> str:
    """What the database keeps of a cookie token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _session(row: sa.engine.Row) -> Session:
    return Session(
        token_hash=row.token_hash,
        user_id=row.user_id,
        created_at=_aware(row.created_at),
        last_seen=_aware(row.last_seen),
        csrf_token=row.csrf_token,
        second_factor_done=bool(row.second_factor_done),
    )


def _insert(connection: Connection, user_id: int, created_at: datetime, second_factor_done: bool) -> Tuple[str, Session]:
    token = secrets.token_urlsafe(32)
    values = dict(
        token_hash=token_hash(token),
        user_id=user_id,
        created_at=created_at,
        last_seen=now(),
        csrf_token=secrets.token_urlsafe(32),
        second_factor_done=second_factor_done,
    )
    connection.execute(organizer_sessions.insert().values(**values))
    return token, Session(**values)


def create(engine: Engine, user_id: int, second_factor_done: bool) -> Tuple[str, Session]:
    """A new session after the password was checked; returns the cookie token and the session."""
    current = now()
    with engine.begin() as connection:
        # Sign-ins are rare, so this is a cheap moment to forget every expired session.
        connection.execute(
            organizer_sessions.delete().where(
                (organizer_sessions.c.last_seen < current - idle_timeout())
                | (organizer_sessions.c.created_at < current - max_age())
            )
        )
        return _insert(connection, user_id, current, second_factor_done)


def load(engine: Engine, token: str) -> Optional[Session]:
    """The live session for a cookie token, its last_seen moved to now; None (and deleted) when expired."""
    hashed = token_hash(token)
    current = now()
    with engine.begin() as connection:
        row = connection.execute(sa.select(organizer_sessions).where(organizer_sessions.c.token_hash == hashed)).first()
        if row is None:
            return None
        session = _session(row)
        if current - session.last_seen > idle_timeout() or current - session.created_at > max_age():
            connection.execute(organizer_sessions.delete().where(organizer_sessions.c.token_hash == hashed))
            return None
        connection.execute(
            organizer_sessions.update().where(organizer_sessions.c.token_hash == hashed).values(last_seen=current)
        )
    return replace(session, last_seen=current)


def complete_second_factor(engine: Engine, session: Session) -> Tuple[str, Session]:
    """Replace a half-signed-in session by a full one under a new token and CSRF token.

    The new token means one seen before the second factor (say, on a shared computer)
    is worth nothing afterwards. The sign-in time is kept: the absolute limit counts
    from the password.
    """
    with engine.begin() as connection:
        connection.execute(organizer_sessions.delete().where(organizer_sessions.c.token_hash == session.token_hash))
        return _insert(connection, session.user_id, session.created_at, second_factor_done=True)


def delete(engine: Engine, token: str) -> None:
    """End the session this cookie token belongs to (sign out); nothing if there is none."""
    with engine.begin() as connection:
        connection.execute(organizer_sessions.delete().where(organizer_sessions.c.token_hash == token_hash(token)))
