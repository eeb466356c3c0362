"""Unanswered questions are stored scrubbed, grouped, and deleted on time; usage counts add up.

The store tests run on SQLite (a scratch file) and on PostgreSQL (a database of their
own, kyr_test_unanswered, whose tables are dropped at the end): the counters' upsert is
written once per dialect, and each must hold up with several writers at once.
"""

import os
import threading
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError

from organizer.charts import bar_chart, line_chart
from storage import analytics, organizer_db, unanswered
from storage.organizer_db import METADATA, daily_counts, now

POSTGRES_URL = os.environ.get("KYR_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
POSTGRES_DATABASE = "kyr_test_unanswered"


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """The tests' own PostgreSQL database, created if missing; its tables dropped afterwards."""
    server = make_url(POSTGRES_URL)
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": POSTGRES_DATABASE}
            ).scalar()
            if not exists:
                connection.execute(sa.text(f'CREATE DATABASE "{POSTGRES_DATABASE}"'))
    except OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL} (set KYR_TEST_POSTGRES_URL): {exc}")
    finally:
        admin.dispose()
    url = server.set(database=POSTGRES_DATABASE).render_as_string(hide_password=False)
    yield url
    database = organizer_db.engine(url)
    METADATA.drop_all(database)
    database.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty organizers' database on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'organizer.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    database = organizer_db.engine(url)
    empty(database)
    yield database
    empty(database)
    database.dispose()


def empty(database: Engine) -> None:
    with database.begin() as connection:
        connection.execute(unanswered.unanswered.delete())
        connection.execute(daily_counts.delete())


def stored_texts(database: Engine) -> list:
    with database.connect() as connection:
        return list(connection.execute(sa.select(unanswered.unanswered.c.text)).scalars())


# --- Unanswered questions -------------------------------------------------------------------


def test_record_stores_only_the_scrubbed_text(store: Engine) -> None:
    row_id = unanswered.record(
        store, "twilio", "en", "orlando", "my name is Maria Lopez, call 407-555-1234, can police ask my status", "police_status_questions", 0.41
    )
    with store.connect() as connection:
        row = connection.execute(sa.select(unanswered.unanswered).where(unanswered.unanswered.c.id == row_id)).mappings().one()
    assert row["text"] == "my name is [name], call [phone], can police ask my status"
    assert (row["channel"], row["language"], row["jurisdiction"], row["best_guess"]) == ("twilio", "en", "orlando", "police_status_questions")
    assert row["confidence"] == pytest.approx(0.41)


def test_record_cuts_long_text_after_scrubbing_it(store: Engine) -> None:
    # The phone number straddles the 500-character limit: scrubbed first, nothing of it is left.
    text = "a " * 247 + "407-555-1234 " + "b" * 600
    unanswered.record(store, "web", "en", None, text, None, None)
    [kept] = stored_texts(store)
    assert len(kept) <= unanswered.MAX_TEXT_CHARS
    assert not any(ch.isdigit() for ch in kept)
    assert "[" not in kept  # no half placeholder left at the cut


def test_similar_questions_are_grouped_and_others_kept_apart(store: Engine) -> None:
    start = now() - timedelta(hours=3)
    first = unanswered.record(store, "web", "en", "orlando", "can police ask my status in orlando", None, 0.3, at=start)
    daca = unanswered.record(store, "twilio", "en", None, "how do I renew my DACA", "daca", 0.2, at=start + timedelta(hours=1))
    second = unanswered.record(
        store, "twilio", "en", "orange_county_fl", "Can the police ask about my status in Orlando?", None, 0.4, at=start + timedelta(hours=2)
    )

    groups = unanswered.grouped(store)

    assert [group.count for group in groups] == [2, 1]
    police, renew = groups
    assert set(police.ids) == {first, second}
    assert police.text == "Can the police ask about my status in Orlando?"  # the most recent wording
    assert police.jurisdictions == ("orange_county_fl", "orlando")
    assert police.languages == ("en",)
    assert police.last_seen == start + timedelta(hours=2)
    assert renew.ids == (daca,) and renew.jurisdictions == ()

    # Only what was asked since a time, and at most `limit` groups.
    assert [group.ids for group in unanswered.grouped(store, since=start + timedelta(minutes=90))] == [(second,)]
    assert len(unanswered.grouped(store, limit=1)) == 1


def test_retention_deletes_only_old_questions(store: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    old = unanswered.record(store, "web", "es", None, "¿me pueden deportar?", None, None, at=now() - timedelta(days=40))
    recent = unanswered.record(store, "web", "es", None, "¿qué es la visa U?", None, None, at=now() - timedelta(days=10))
    today = unanswered.record(store, "web", "es", None, "¿qué es DACA?", None, None)

    monkeypatch.delenv(unanswered.RETENTION_ENV, raising=False)
    assert unanswered.retention_days() == 30
    assert unanswered.delete_older_than(store) == 1
    assert {id_ for group in unanswered.grouped(store) for id_ in group.ids} == {recent, today}
    assert old not in {id_ for group in unanswered.grouped(store) for id_ in group.ids}

    monkeypatch.setenv(unanswered.RETENTION_ENV, "5")
    assert unanswered.delete_older_than(store) == 1
    assert [group.ids for group in unanswered.grouped(store)] == [(today,)]


@pytest.mark.parametrize("value", ["thirty", "0", "-3", "inf", "nan"])
def test_a_bad_retention_setting_is_refused(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(unanswered.RETENTION_ENV, value)
    with pytest.raises(ValueError):
        unanswered.retention_days()


def test_organizers_delete_questions_they_dealt_with(store: Engine) -> None:
    keep = unanswered.record(store, "web", "fr", None, "la police peut-elle entrer chez moi?", None, None)
    drop = unanswered.record(store, "web", "fr", None, "qu'est-ce que le DACA?", None, None)
    assert unanswered.delete(store, [drop, drop]) == 1
    assert unanswered.delete(store, []) == 0
    assert [group.ids for group in unanswered.grouped(store)] == [(keep,)]


# --- Usage counts ----------------------------------------------------------------------------


def test_count_turn_increments_and_series_add_up(store: Engine) -> None:
    today = now().date()
    for _ in range(3):
        analytics.count_turn(store, "web", "en", "daca", "orlando", False)
    analytics.count_turn(store, "twilio", "es", "out_of_scope", None, True)
    analytics.count_turn(store, "web", "en", "daca", "orlando", True, day=today - timedelta(days=2))
    analytics.count_turn(store, "web", "en", "daca", "orlando", False, day=today - timedelta(days=40))

    with store.connect() as connection:
        counted = connection.execute(
            sa.select(daily_counts.c["count"]).where(daily_counts.c.day == today, daily_counts.c.topic == "daca")
        ).scalar_one()
    assert counted == 3

    days = [today - timedelta(days=offset) for offset in range(6, -1, -1)]
    by_language = analytics.daily_series(store, "language", since_days=7)
    assert by_language == {
        "en": list(zip(days, [0, 0, 0, 0, 1, 0, 3])),
        "es": list(zip(days, [0, 0, 0, 0, 0, 0, 1])),
    }
    assert set(analytics.daily_series(store, "jurisdiction", since_days=7)) == {"", "orlando"}
    assert analytics.daily_series(store, "channel", since_days=1) == {"twilio": [(today, 1)], "web": [(today, 3)]}

    assert analytics.fallback_share(store, since_days=7) == [(days[4], 1.0), (today, 0.25)]

    totals = analytics.totals(store, since_days=7)
    assert (totals.turns, totals.fallbacks) == (5, 2)
    assert totals.fallback_share == pytest.approx(0.4)
    assert totals.by["topic"] == [("daca", 4), ("out_of_scope", 1)]
    assert analytics.totals(store, since_days=60).turns == 6


def test_count_turn_refuses_anything_but_identifiers(store: Engine) -> None:
    with pytest.raises(ValueError):
        analytics.count_turn(store, "web", "en", "can police ask my status 407-555-1234", None, True)
    with pytest.raises(ValueError):
        analytics.count_turn(store, "web", "en", "daca", "Maria Lopez's house", False)
    with pytest.raises(ValueError):
        analytics.daily_series(store, "text")
    assert analytics.totals(store, since_days=30).turns == 0


def test_the_action_server_writes_a_seconds_turns_in_one_transaction(store: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from actions import usage
    from bot.compose import Reply
    from bot.dialogue import Outcome, State, Turn

    monkeypatch.setattr(usage, "engine", lambda: store)
    monkeypatch.setattr(usage, "BATCH_SECONDS", 0.2)
    transactions: list = []
    count_turns = analytics.count_turns
    monkeypatch.setattr(analytics, "count_turns", lambda *args: transactions.append(args) or count_turns(*args))

    answered = Outcome(Reply(topic="daca", language="es", jurisdiction="orlando"), State())
    unsure = Outcome(Reply(topic="out_of_scope", language="es"), State())
    for _ in range(4):
        usage.record("twilio", Turn(text="que es daca", intent="daca"), answered, 0.9)
    usage.record("twilio", Turn(text="mi vecino Juan, 407-555-0134, pizza?", intent="out_of_scope"), unsure, 0.2)
    usage._writer.submit(lambda: None).result(timeout=10)  # the one worker finished the batch

    assert len(transactions) == 1
    totals = analytics.totals(store, since_days=1)
    assert (totals.turns, totals.fallbacks) == (5, 1)
    assert stored_texts(store) == ["mi vecino Juan, [phone], pizza?"]


def test_concurrent_counts_are_not_lost(store: Engine) -> None:
    errors: list = []

    def worker() -> None:
        try:
            for _ in range(50):
                analytics.count_turn(store, "twilio", "ht", "ice_at_home", "miami_dade", False)
        except Exception as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert analytics.totals(store, since_days=1).turns == 200


# --- Charts ------------------------------------------------------------------------------------


def test_bar_chart_is_accessible_svg_with_escaped_labels() -> None:
    markup = bar_chart("Questions <by> topic & place", [("police & <status>", 12), ("daca \"renewal\"", 3), ("u_visa", 0)])
    root = ET.fromstring(markup)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("role") == "img"
    assert root.find("{http://www.w3.org/2000/svg}title").text == "Questions <by> topic & place"
    assert root.find("{http://www.w3.org/2000/svg}desc").text
    assert "police &amp; &lt;status&gt;" in markup and "&quot;renewal&quot;" in markup
    assert "<status>" not in markup
    assert "style=" not in markup and "<script" not in markup


def test_line_chart_is_accessible_svg_with_escaped_labels() -> None:
    today = now().date()
    days = [today - timedelta(days=offset) for offset in range(2, -1, -1)]
    markup = line_chart(
        "Turns per day",
        {"en": list(zip(days, [3, 5, 2])), "<es> & 'ht'": list(zip(days, [1, 0, 4]))},
    )
    root = ET.fromstring(markup)
    assert root.get("role") == "img"
    labelled = root.get("aria-labelledby").split()
    assert {element.get("id") for element in root.iter() if element.get("id")} == set(labelled)
    assert "&lt;es&gt; &amp; &#x27;ht&#x27;" in markup
    assert len(root.findall(".//{http://www.w3.org/2000/svg}polyline")) == 2
    assert "style=" not in markup and "<script" not in markup


def test_charts_without_data_still_parse() -> None:
    for markup in (bar_chart("Nothing yet", []), line_chart("Nothing yet", {})):
        assert "No data" in markup
        ET.fromstring(markup)
