"""Metric labels come from closed sets, /metrics is for this machine or the token only,
and /ready checks the agent and the tracker store."""

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Awaitable, Callable, Dict, Optional

import pytest
import sqlalchemy
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.tracker_store import (
    AwaitableTrackerStore,
    FailSafeTrackerStore,
    InMemoryTrackerStore,
    SQLTrackerStore,
    TrackerStore,
)
from rasa.shared.core.domain import Domain

from bot.kb.loader import load as load_kb
from channels.answering import Fallback, run_turn
from channels.metrics import OTHER, Metrics, closed
from channels.metrics import metrics
from server.site import is_loopback, metrics_allowed, not_ready_because

TOKEN = "s3cret-metrics-token"


def fresh() -> Metrics:
    return Metrics(languages=["en", "es"], topics=["police_status_questions", "out_of_scope"])


def value(m: Metrics, name: str, labels: Optional[Dict[str, str]] = None) -> float:
    return m.registry.get_sample_value(name, labels or {}) or 0.0


@pytest.mark.parametrize(
    "given, expected",
    [("es", "es"), ("xx", OTHER), ("", OTHER), (None, OTHER), (5, OTHER), (["es"], OTHER), ("ES", OTHER)],
)
def test_closed_keeps_known_values_only(given: object, expected: str) -> None:
    assert closed(given, {"en", "es"}) == expected


def test_reply_is_counted_by_its_language_and_topic() -> None:
    m = fresh()
    m.answered("rest", {"language": "es", "topic": "police_status_questions", "jurisdiction": "orlando"})
    assert value(m, "kyr_messages_total", {"channel": "rest", "language": "es", "topic": "police_status_questions"}) == 1


def test_values_outside_the_closed_sets_become_other() -> None:
    m = fresh()
    m.answered("+15555550123", {"language": "my secret text", "topic": "conversation-1234"})
    m.answered("widget", {})
    m.failed("sms-0123456789abcdef", "whatever")
    m.limited("../etc/passwd")
    assert value(m, "kyr_messages_total", {"channel": OTHER, "language": OTHER, "topic": OTHER}) == 1
    assert value(m, "kyr_messages_total", {"channel": "widget", "language": OTHER, "topic": OTHER}) == 1
    assert value(m, "kyr_fallbacks_total", {"channel": OTHER, "reason": OTHER}) == 1
    assert value(m, "kyr_rate_limited_total", {"channel": OTHER}) == 1
    exposition = m.exposition().decode("utf-8")
    for sent in ("+15555550123", "my secret text", "conversation-1234", "sms-0123456789abcdef", "passwd"):
        assert sent not in exposition


def test_out_of_scope_reply_counts_as_nlu_fallback_and_apology_as_service_unavailable() -> None:
    m = fresh()
    m.answered("twilio", {"language": "en", "topic": "out_of_scope"})
    m.answered("twilio", {"language": "en", "topic": "service_unavailable"})
    m.failed("twilio", "timeout")
    assert value(m, "kyr_fallbacks_total", {"channel": "twilio", "reason": "nlu_fallback"}) == 1
    assert value(m, "kyr_fallbacks_total", {"channel": "twilio", "reason": "timeout"}) == 1
    assert value(m, "kyr_messages_total", {"channel": "twilio", "language": "en", "topic": "service_unavailable"}) == 1


def test_answer_times_and_signature_failures_are_recorded() -> None:
    m = fresh()
    m.took("rest", 0.2)
    m.took("rest", 7.0)
    m.bad_signature()
    assert value(m, "kyr_answer_seconds_count", {"channel": "rest"}) == 2
    assert value(m, "kyr_answer_seconds_bucket", {"channel": "rest", "le": "0.25"}) == 1
    assert value(m, "kyr_signature_failures_total") == 1


def test_every_channel_starts_at_zero_and_instances_do_not_collide() -> None:
    first, second = fresh(), fresh()
    first.limited("widget")
    assert value(second, "kyr_rate_limited_total", {"channel": "widget"}) == 0
    assert 'kyr_rate_limited_total{channel="twilio"} 0.0' in second.exposition().decode("utf-8")


@pytest.mark.parametrize("ip", ["127.0.0.1", "127.0.0.53", "::1", "[::1]", "::ffff:127.0.0.1"])
def test_loopback_addresses(ip: str) -> None:
    assert is_loopback(ip)


@pytest.mark.parametrize("ip", ["10.0.0.1", "192.168.1.5", "2001:db8::1", "::ffff:10.0.0.1", "", "localhost", "unknown"])
def test_other_addresses_are_not_loopback(ip: str) -> None:
    assert not is_loopback(ip)


@pytest.mark.parametrize(
    "ip, authorization, proxied, token, allowed",
    [
        ("127.0.0.1", None, False, "", True),
        ("::1", None, False, "", True),
        ("127.0.0.1", "Bearer wrong", False, TOKEN, True),  # this machine may read it anyway
        ("203.0.113.9", None, False, "", False),
        ("203.0.113.9", None, False, TOKEN, False),
        ("203.0.113.9", "Bearer wrong", False, TOKEN, False),
        ("203.0.113.9", f"bearer {TOKEN}", False, TOKEN, False),
        ("203.0.113.9", TOKEN, False, TOKEN, False),
        ("203.0.113.9", f"Bearer {TOKEN}x", False, TOKEN, False),
        ("203.0.113.9", f"Bearer {TOKEN}", False, TOKEN, True),
        ("203.0.113.9", "Bearer ", False, "", False),  # no token configured: none is accepted
        ("127.0.0.1", None, True, "", False),  # forwarded by a proxy on this machine
        ("127.0.0.1", "Bearer wrong", True, TOKEN, False),
        ("127.0.0.1", f"Bearer {TOKEN}", True, TOKEN, True),
    ],
)
def test_metrics_access(ip: str, authorization: Optional[str], proxied: bool, token: str, allowed: bool) -> None:
    assert metrics_allowed(ip, authorization, proxied, token) is allowed


def app_with(agent: object) -> SimpleNamespace:
    return SimpleNamespace(ctx=SimpleNamespace(agent=agent) if agent else SimpleNamespace())


def agent_with(store: TrackerStore) -> SimpleNamespace:
    # Wrapped as Rasa wraps the store it builds from endpoints.yml.
    return SimpleNamespace(tracker_store=FailSafeTrackerStore(AwaitableTrackerStore(store)), is_ready=lambda: True)


def test_not_ready_before_the_agent_is_loaded() -> None:
    assert asyncio.run(not_ready_because(app_with(None))) == "model not loaded"
    not_loaded = SimpleNamespace(tracker_store=None, is_ready=lambda: False)
    assert asyncio.run(not_ready_because(app_with(not_loaded))) == "model not loaded"


def test_ready_when_the_sql_tracker_store_answers_and_not_when_it_fails(tmp_path: Path) -> None:
    store = SQLTrackerStore(dialect="sqlite", db=str(tmp_path / "tracker.db"))
    assert asyncio.run(not_ready_because(app_with(agent_with(store)))) is None
    store.engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'missing' / 'tracker.db'}")
    assert asyncio.run(not_ready_because(app_with(agent_with(store)))) == "tracker store unavailable"


def test_other_tracker_stores_need_only_the_agent() -> None:
    assert asyncio.run(not_ready_because(app_with(agent_with(InMemoryTrackerStore(Domain.empty()))))) is None


async def answers(message: UserMessage) -> None:
    await message.output_channel.send_response(message.sender_id, {"text": "Hola", "custom": {"language": "es", "topic": "u_visa"}})


async def stalls(_: UserMessage) -> None:
    await asyncio.sleep(5)


async def fails(_: UserMessage) -> None:
    raise RuntimeError("action server down")


async def says_nothing(_: UserMessage) -> None:
    return None


@pytest.mark.parametrize(
    "handler, series, labels",
    [
        (answers, "kyr_messages_total", {"channel": "widget", "language": "es", "topic": "u_visa"}),
        (stalls, "kyr_fallbacks_total", {"channel": "widget", "reason": "timeout"}),
        (fails, "kyr_fallbacks_total", {"channel": "widget", "reason": "error"}),
        (says_nothing, "kyr_fallbacks_total", {"channel": "widget", "reason": "no_reply"}),
    ],
)
def test_run_turn_counts_each_outcome_and_times_it(
    monkeypatch: pytest.MonkeyPatch, handler: Callable[[UserMessage], Awaitable[None]], series: str, labels: Dict[str, str]
) -> None:
    monkeypatch.setenv("KYR_ANSWER_TIMEOUT", "0.5")
    before, timed = value(metrics(), series, labels), value(metrics(), "kyr_answer_seconds_count", {"channel": "widget"})
    collector = CollectingOutputChannel()
    asyncio.run(run_turn(handler, UserMessage("hola", collector, "web-test"), collector, "widget"))
    assert value(metrics(), series, labels) == before + 1
    assert value(metrics(), "kyr_answer_seconds_count", {"channel": "widget"}) == timed + 1


def test_an_apology_is_counted_as_a_service_unavailable_answer() -> None:
    labels = {"channel": "rest", "language": "es", "topic": "service_unavailable"}
    before = value(metrics(), "kyr_messages_total", labels)
    Fallback("rest", load_kb()).apology("¿me puede ayudar?", "es")
    assert value(metrics(), "kyr_messages_total", labels) == before + 1
