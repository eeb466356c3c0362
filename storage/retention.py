"""Data retention: delete conversations and channel state once they are old enough.

People who write to this bot may be undocumented, so it keeps the least data for the
shortest time. This job, run daily (`kyr retention`), deletes:

- from Rasa's SQL tracker store (table `events`), every conversation whose LAST event
  is older than the limit, with all its events. A conversation still in use keeps its
  older events too: deleting only the old rows would leave a tracker that starts
  mid-conversation, without its session start and slot events, which Rasa would then
  replay as if it were the whole conversation. So no conversation outlives its last
  message by more than the limit, and none is ever cut in half. Events without a
  timestamp (Rasa always writes one) count as old.
- from the SMS channel's state file, MessageSids and unsent pages past their 24-hour
  windows. Opt-outs are kept: STOP must be honoured until START.

Everything is read the way the running bot reads it: the tracker store from
endpoints.yml, the SMS state file from credentials.yml, ${ENV} references expanded from
the environment that bot.settings.load_settings() filled, relative paths taken from the
project folder (where `kyr serve` runs Rasa).
"""

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Union

# Rasa 3.6 declares its tables the SQLAlchemy 1.4 way; the 2.0 migration warning would
# only add noise to a cron job's mail.
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

import sqlalchemy as sa  # noqa: E402
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs, validate_port  # noqa: E402
from rasa.shared.utils.io import read_config_file  # noqa: E402
from rasa.utils.endpoints import read_endpoint_config  # noqa: E402
from sqlalchemy.engine import URL, Engine, make_url  # noqa: E402

from bot.settings import ROOT  # noqa: E402
from channels.twilio.state import ChannelState  # noqa: E402

DAY = 24 * 3600
TWILIO_CHANNEL = "channels.twilio.TwilioInput"
# The channel's own fallback when credentials.yml gives no state_db.
DEFAULT_SMS_STATE_DB = "var/sms_state.db"


class RetentionError(Exception):
    """The configured stores cannot be purged by this job."""


@dataclass(frozen=True)
class TrackerPurge:
    """What the tracker-store purge deleted (or, in a dry run, would delete)."""

    dialect: str
    conversations: int
    events: int
    conversations_kept: int


@dataclass(frozen=True)
class SmsPurge:
    """What the SMS state purge deleted (or would delete), and the opt-outs it kept."""

    seen_messages: int
    pending_pages: int
    opt_outs_kept: int


@dataclass(frozen=True)
class RetentionReport:
    """Counts only: never sender ids or message text."""

    days: float
    dry_run: bool
    tracker: Optional[TrackerPurge]  # None: no SQL tracker store configured (in-memory)
    sms: Optional[SmsPurge]  # None: the SMS channel is not configured or has stored nothing yet


def tracker_store_url(endpoints_file: Path, base_dir: Path = ROOT) -> Optional[URL]:
    """The SQLAlchemy URL of the SQL tracker store in endpoints.yml; None when none is configured.

    Built like Rasa's SQLTrackerStore.get_db_url, except that it names `db` directly
    (Rasa only uses `login_db` to create `db`) and makes a relative SQLite path
    relative to `base_dir`.
    """
    config = read_endpoint_config(str(endpoints_file), "tracker_store")
    if config is None or config.type is None:
        return None  # Rasa's default: an in-memory store, gone when the server stops
    if config.type.lower() != "sql":
        raise RetentionError(f"the tracker store is of type {config.type!r}; this job purges SQL tracker stores only")
    kwargs: Dict[str, Any] = dict(config.kwargs)
    dialect = str(kwargs.get("dialect") or "sqlite")
    db = str(kwargs.get("db") or "rasa.db")
    if dialect == "sqlite" and db != ":memory:" and not Path(db).is_absolute():
        db = str(base_dir / db)
    url = SQLTrackerStore.get_db_url(
        dialect=dialect,
        host=config.url,
        port=validate_port(kwargs.get("port")),
        db=db,
        username=kwargs.get("username"),
        password=kwargs.get("password"),
        query=kwargs.get("query"),
    )
    return make_url(url) if isinstance(url, str) else url


def sms_state_path(credentials_file: Path, base_dir: Path = ROOT) -> Optional[Path]:
    """The SMS channel's state file from credentials.yml; None when the channel is not configured."""
    if not credentials_file.exists():
        return None
    credentials = read_config_file(str(credentials_file)) or {}
    if TWILIO_CHANNEL not in credentials:
        return None
    path = Path(str((credentials[TWILIO_CHANNEL] or {}).get("state_db") or DEFAULT_SMS_STATE_DB))
    return path if path.is_absolute() else base_dir / path


def purge_tracker_store(url: Union[str, URL], days: float, now: Optional[float] = None, dry_run: bool = False) -> TrackerPurge:
    """Delete every conversation whose last event is older than `days`; return the counts.

    One DELETE with the age test as its subquery, so the database decides which
    conversations are stale in the same statement that deletes them.
    """
    url = make_url(url)
    cutoff = (now or time.time()) - days * DAY
    dialect = url.get_backend_name()
    if dialect == "sqlite" and url.database not in (None, "", ":memory:") and not Path(url.database).exists():
        return TrackerPurge(dialect, 0, 0, 0)  # the bot never stored anything; do not create the file
    engine: Engine = sa.create_engine(url, **create_engine_kwargs(url))
    try:
        if not sa.inspect(engine).has_table(SQLTrackerStore.SQLEvent.__tablename__):
            return TrackerPurge(dialect, 0, 0, 0)
        events = SQLTrackerStore.SQLEvent.__table__
        last_event = sa.func.coalesce(sa.func.max(events.c.timestamp), 0.0)
        stale = sa.select(events.c.sender_id).group_by(events.c.sender_id).having(last_event < cutoff)
        in_stale = events.c.sender_id.in_(stale)
        with engine.begin() as connection:
            conversations = connection.execute(sa.select(sa.func.count()).select_from(stale.subquery())).scalar_one()
            if dry_run:
                deleted = connection.execute(sa.select(sa.func.count()).select_from(events).where(in_stale)).scalar_one()
            else:
                deleted = connection.execute(events.delete().where(in_stale)).rowcount
            kept = connection.execute(sa.select(sa.func.count(sa.distinct(events.c.sender_id)))).scalar_one()
            if dry_run:
                kept -= conversations
        return TrackerPurge(dialect, int(conversations), int(deleted), int(kept))
    finally:
        engine.dispose()


def purge_sms_state(path: Path, now: Optional[float] = None, dry_run: bool = False) -> Optional[SmsPurge]:
    """Expire the SMS channel's seen MessageSids and pending pages; keep opt-outs.

    None when the file does not exist (the channel has stored nothing), so the job
    never creates it.
    """
    if not path.exists():
        return None
    state = ChannelState(path)
    try:
        counts = state.purge_expired(now=now, dry_run=dry_run)
        return SmsPurge(counts["seen_message"], counts["pending_page"], state.opt_out_count())
    finally:
        state.close()


def run_retention(
    days: float,
    dry_run: bool = False,
    endpoints_file: Path = ROOT / "endpoints.yml",
    credentials_file: Path = ROOT / "credentials.yml",
    base_dir: Path = ROOT,
    now: Optional[float] = None,
) -> RetentionReport:
    """Purge the tracker store and the SMS state as the running bot has them configured.

    Call bot.settings.load_settings() first: the config files' ${ENV} references are
    expanded from os.environ.
    """
    if days <= 0:
        raise RetentionError("the retention period must be more than 0 days")
    now = now or time.time()
    url = tracker_store_url(endpoints_file, base_dir)
    tracker = purge_tracker_store(url, days, now=now, dry_run=dry_run) if url is not None else None
    sms_path = sms_state_path(credentials_file, base_dir)
    sms = purge_sms_state(sms_path, now=now, dry_run=dry_run) if sms_path is not None else None
    return RetentionReport(days=days, dry_run=dry_run, tracker=tracker, sms=sms)
