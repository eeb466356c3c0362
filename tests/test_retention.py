"""The retention job deletes old conversations whole, keeps the rest intact, and says only counts.

Events are written by Rasa's own SQLTrackerStore, to SQLite and to PostgreSQL, and
the job reads the tracker store from an endpoints.yml with ${ENV} references, as the
running bot does.
"""

import asyncio
import os
import sqlite3
import time
import uuid
import warnings
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

# Rasa 3.6 declares its tables the SQLAlchemy 1.4 way; the 2.0 notice is noise here.
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

from rasa.core.tracker_store import SQLTrackerStore  # noqa: E402
from rasa.shared.core.domain import Domain  # noqa: E402
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SessionStarted, SlotSet, UserUttered  # noqa: E402
from rasa.shared.core.trackers import DialogueStateTracker  # noqa: E402

from bot import cli  # noqa: E402
from channels.twilio.state import ChannelState  # noqa: E402
from storage.retention import DAY, purge_sms_state, run_retention  # noqa: E402

POSTGRES_URL = os.environ.get("KYR_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
NOW = time.time()
OLD = NOW - 40 * DAY
RECENT = NOW - 2 * DAY
with warnings.catch_warnings():
    # Rasa warns about slot auto-fill's removal for any domain with slots.
    warnings.simplefilter("ignore", UserWarning)
    DOMAIN = Domain.from_dict(
        {"slots": {name: {"type": "text", "mappings": [{"type": "custom"}]} for name in ("language", "jurisdiction")}}
    )


def turn(at: float, text: str) -> List[Event]:
    return [
        UserUttered(text, {"name": "ask", "confidence": 0.9}, timestamp=at),
        SlotSet("jurisdiction", "orlando", timestamp=at),
        ActionExecuted("action_reply", timestamp=at),
        BotUttered("an answer", timestamp=at + 0.5),
        ActionExecuted("action_listen", timestamp=at + 0.5),
    ]


def conversation(started: float, *turns_at: float) -> List[Event]:
    """What Rasa stores for a conversation: its session start, then each turn."""
    events: List[Event] = [
        ActionExecuted("action_session_start", timestamp=started),
        SessionStarted(timestamp=started),
        SlotSet("language", "es", timestamp=started),
        ActionExecuted("action_listen", timestamp=started),
    ]
    for at in turns_at:
        events += turn(at, f"message text {uuid.uuid4().hex}")
    return events


def open_store(config: Dict[str, str]) -> SQLTrackerStore:
    return SQLTrackerStore(domain=DOMAIN, **config)


def stored(config: Dict[str, str]) -> Dict[str, List[Dict]]:
    """Every stored conversation: sender id -> its events, as Rasa reads them back."""
    store = open_store(config)
    try:
        keys = asyncio.run(store.keys())
        trackers = {key: asyncio.run(store.retrieve_full_tracker(key)) for key in keys}
        return {key: [event.as_dict() for event in tracker.events] for key, tracker in trackers.items()}
    finally:
        store.engine.dispose()


@pytest.fixture
def senders() -> Dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    return {name: f"{name}-{tag}" for name in ("old", "recent", "long")}


def fill(config: Dict[str, str], senders: Dict[str, str]) -> Dict[str, List[Dict]]:
    """Three conversations: all old; all recent; begun long ago but still in use."""
    store = open_store(config)
    try:
        for name, events in (
            ("old", conversation(OLD, OLD + 60, OLD + 120)),
            ("recent", conversation(RECENT, RECENT + 60)),
            ("long", conversation(OLD, OLD + 60, RECENT)),
        ):
            asyncio.run(store.save(DialogueStateTracker.from_events(senders[name], events, DOMAIN.slots)))
    finally:
        store.engine.dispose()
    before = stored(config)
    assert set(before) == set(senders.values())
    return before


@pytest.fixture
def sqlite_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Dict[str, str]]:
    db = tmp_path / "tracker.db"
    monkeypatch.setenv("KYR_TEST_TRACKER_DB", str(db))
    (tmp_path / "endpoints.yml").write_text("tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: ${KYR_TEST_TRACKER_DB}\n", encoding="utf-8")
    yield {"dialect": "sqlite", "db": str(db)}


@pytest.fixture
def postgres_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Dict[str, str]]:
    """A fresh database of its own on the test server, dropped afterwards."""
    import psycopg2
    from sqlalchemy.engine import make_url

    server = make_url(POSTGRES_URL)
    name = f"kyr_retention_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg2.connect(POSTGRES_URL)
    except psycopg2.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL} (set KYR_TEST_POSTGRES_URL): {exc}")
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        monkeypatch.setenv("KYR_TEST_PG_HOST", str(server.host))
        monkeypatch.setenv("KYR_TEST_PG_DB", name)
        (tmp_path / "endpoints.yml").write_text(
            "tracker_store:\n  type: SQL\n  dialect: postgresql\n  url: ${KYR_TEST_PG_HOST}\n"
            f"  port: {server.port or 5432}\n  db: ${{KYR_TEST_PG_DB}}\n  username: {server.username}\n"
            + (f"  password: {server.password}\n" if server.password else ""),
            encoding="utf-8",
        )
        config = {"dialect": "postgresql", "host": str(server.host), "port": server.port or 5432, "db": name, "username": server.username}
        if server.password:
            config["password"] = server.password
        yield config
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def check_old_conversations_go_and_the_rest_stay(config: Dict[str, str], senders: Dict[str, str], tmp_path: Path) -> None:
    before = fill(config, senders)
    old_events = len(before[senders["old"]])

    report = run_retention(30, endpoints_file=tmp_path / "endpoints.yml", credentials_file=tmp_path / "none.yml", base_dir=tmp_path, now=NOW)

    assert report.tracker is not None
    assert (report.tracker.conversations, report.tracker.events, report.tracker.conversations_kept) == (1, old_events, 2)
    after = stored(config)
    assert senders["old"] not in after
    assert after[senders["recent"]] == before[senders["recent"]]
    # Begun 40 days ago but written to 2 days ago: kept whole, session start included.
    assert after[senders["long"]] == before[senders["long"]]
    assert after[senders["long"]][1]["event"] == "session_started"
    assert report.sms is None

    # Nothing left to delete on a second run.
    again = run_retention(30, endpoints_file=tmp_path / "endpoints.yml", credentials_file=tmp_path / "none.yml", base_dir=tmp_path, now=NOW)
    assert (again.tracker.conversations, again.tracker.events, again.tracker.conversations_kept) == (0, 0, 2)


def test_sqlite_old_conversations_deleted_whole_others_intact(sqlite_backend, senders, tmp_path):
    check_old_conversations_go_and_the_rest_stay(sqlite_backend, senders, tmp_path)


@pytest.mark.integration
def test_postgresql_old_conversations_deleted_whole_others_intact(postgres_backend, senders, tmp_path):
    check_old_conversations_go_and_the_rest_stay(postgres_backend, senders, tmp_path)


def test_a_shorter_limit_takes_conversations_idle_that_long(sqlite_backend, senders, tmp_path):
    fill(sqlite_backend, senders)
    report = run_retention(1, endpoints_file=tmp_path / "endpoints.yml", credentials_file=tmp_path / "none.yml", base_dir=tmp_path, now=NOW)
    assert (report.tracker.conversations, report.tracker.conversations_kept) == (3, 0)
    assert stored(sqlite_backend) == {}


def test_missing_tracker_db_is_not_created(sqlite_backend, tmp_path):
    report = run_retention(30, endpoints_file=tmp_path / "endpoints.yml", credentials_file=tmp_path / "none.yml", base_dir=tmp_path, now=NOW)
    assert (report.tracker.conversations, report.tracker.events) == (0, 0)
    assert not Path(sqlite_backend["db"]).exists()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Dict[str, Path]]:
    """The real endpoints.yml and credentials.yml, pointed by environment at scratch files."""
    saved = dict(os.environ)
    paths = {"tracker": tmp_path / "tracker.db", "sms": tmp_path / "sms_state.db"}
    monkeypatch.setenv("TRACKER_SQLITE_PATH", str(paths["tracker"]))
    monkeypatch.setenv("KYR_SMS_STATE_DB", str(paths["sms"]))
    # Set, so that load_settings() does not generate var/local-secrets.env in the repo.
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "test-token")
    monkeypatch.setenv("KYR_SENDER_HMAC_KEY", "test-key")
    yield paths
    # load_settings() fills os.environ with the defaults; leave it as it was.
    os.environ.clear()
    os.environ.update(saved)


def test_cli_dry_run_deletes_nothing_then_the_real_run_does(cli_env, senders, capsys):
    config = {"dialect": "sqlite", "db": str(cli_env["tracker"])}
    before = fill(config, senders)
    state = ChannelState(cli_env["sms"])
    state.first_delivery("SMold", now=time.time() - 2 * DAY)
    state.set_opted_out("hashed-sender", True)
    state.close()
    sms_before = sqlite3.connect(str(cli_env["sms"])).execute("SELECT COUNT(*) FROM seen_message").fetchone()[0]

    assert cli.main(["retention", "--dry-run"]) == 0
    dry = capsys.readouterr().out
    assert stored(config) == before
    assert sqlite3.connect(str(cli_env["sms"])).execute("SELECT COUNT(*) FROM seen_message").fetchone()[0] == sms_before == 1
    assert "Dry run" in dry
    assert f"would delete 1 conversation(s) with no message for 30 day(s), {len(before[senders['old']])} event(s)" in dry
    assert "would delete 1 message id(s) and 0 pending page(s)" in dry

    assert cli.main(["retention", "--days", "30"]) == 0
    real = capsys.readouterr().out
    assert f"deleted 1 conversation(s) with no message for 30 day(s), {len(before[senders['old']])} event(s); 2 conversation(s) kept" in real
    assert "1 opt-out(s) kept" in real
    assert set(stored(config)) == {senders["recent"], senders["long"]}
    # Counts only: no conversation id and no message text ever reaches the output.
    texts = [e["text"] for events in before.values() for e in events if e.get("text")]
    for secret in [*senders.values(), *texts]:
        assert secret not in dry + real


def test_cli_rejects_a_zero_day_limit(cli_env, capsys):
    assert cli.main(["retention", "--days", "0"]) == 2
    assert not cli_env["tracker"].exists()


def test_sms_state_expires_by_its_own_windows_and_keeps_opt_outs(tmp_path):
    path = tmp_path / "sms_state.db"
    now = time.time()
    state = ChannelState(path)
    state.first_delivery("SMrecent", now=now - 3600)
    state.first_delivery("SMold", now=now - 26 * 3600)
    state.save_pages("waiting-recent", ["page 2", "page 3"])
    state.save_pages("waiting-old", ["old page 2"])
    state.set_opted_out("said-stop-long-ago", True)
    state.set_opted_out("said-stop-today", True)
    state.close()
    with sqlite3.connect(str(path)) as db:
        # Written by the channel a day and more ago.
        db.execute("UPDATE pending_page SET at = ? WHERE sender = 'waiting-old'", (now - 25 * 3600,))
        db.execute("UPDATE opt_out SET at = ? WHERE sender = 'said-stop-long-ago'", (now - 400 * DAY,))

    dry = purge_sms_state(path, now=now, dry_run=True)
    assert (dry.seen_messages, dry.pending_pages, dry.opt_outs_kept) == (1, 1, 2)
    report = purge_sms_state(path, now=now)
    assert (report.seen_messages, report.pending_pages, report.opt_outs_kept) == (1, 1, 2)

    state = ChannelState(path)
    try:
        assert state.first_delivery("SMold", now=now)  # forgotten: a new delivery now
        assert not state.first_delivery("SMrecent", now=now)  # still within its 24 hours
        assert state.next_page("waiting-old") is None
        assert state.next_page("waiting-recent") == "page 2"
        assert state.opted_out("said-stop-long-ago") and state.opted_out("said-stop-today")
    finally:
        state.close()


def test_missing_sms_state_is_not_created(tmp_path):
    assert purge_sms_state(tmp_path / "sms_state.db") is None
    assert not (tmp_path / "sms_state.db").exists()


def test_cli_deletes_unanswered_questions_past_their_own_retention(cli_env, capsys):
    from datetime import datetime, timedelta, timezone

    import sqlalchemy as sa

    from storage import unanswered
    from storage.organizer_db import engine, unanswered as table

    database = engine()
    old = unanswered.record(database, "rest", "en", None, "old question", None, 0.2, at=datetime.now(timezone.utc) - timedelta(days=31))
    new = unanswered.record(database, "rest", "en", None, "new question", None, 0.2)
    assert cli.main(["retention"]) == 0
    assert "Unanswered questions: deleted" in capsys.readouterr().out
    with database.connect() as connection:
        ids = {row.id for row in connection.execute(sa.select(table.c.id))}
    assert old not in ids and new in ids
