"""The fault benchmark's helpers (bench/fault_analysis.py, and the small pure parts of
bench/faults.py): windows, what a killed replica held, recovery, the tracker-store
check, the summary and its table. No servers."""

import asyncio
import subprocess
import time
from argparse import Namespace
from collections import Counter

import pytest

from bench import faults
from bench.fault_analysis import (
    AFTER, BEFORE, DURING, Fault, Message, failures, in_flight, recovery, render, summarize, unstored,
)
from bench.reply_check import APOLOGY, CROSSED, LOST, OK, Conversation
from bot.processes import Topology
from bot.sms.privacy import sender_key

FAULT = Fault(started=10.0, ended=12.0)  # with the 5 s settling time, "during" is [10, 17)


def message(due: float, outcome: str = OK, latency: float = 0.2, conversation: str = "a", text: str = "hi", status: int = 200) -> Message:
    return Message(conversation, f"stored-{conversation}", text, due, due + latency, status, outcome)


def steady(start: float, end: float, outcome: str = OK) -> list:
    """One message every half second from start to end (exclusive)."""
    return [message(start + i / 2, outcome) for i in range(int((end - start) * 2))]


def test_windows_split_at_the_fault_and_after_it_settles() -> None:
    assert FAULT.window(9.99) == BEFORE
    assert FAULT.window(10.0) == DURING
    assert FAULT.window(16.9) == DURING  # undone at 12, still settling
    assert FAULT.window(17.0) == AFTER
    assert Fault(5.0, 5.0).window(9.0, settle=2.0) == AFTER  # a kill is undone at once


def test_in_flight_is_what_the_victim_held_at_the_kill() -> None:
    owner = {"a": "http://127.0.0.1:1", "b": "http://127.0.0.1:2"}.get
    held = message(9.5, LOST, latency=1.0, conversation="a")  # sent before, answered after
    messages = [
        held,
        message(9.0, OK, latency=0.5, conversation="a"),  # answered before the kill
        message(9.5, OK, latency=1.0, conversation="b"),  # in flight, on the other replica
        message(10.5, OK, latency=0.2, conversation="a"),  # sent after the kill
    ]
    assert in_flight(messages, 10.0, owner, "http://127.0.0.1:1") == [held]


def test_recovered_when_the_last_messages_after_the_fault_are_answered() -> None:
    messages = steady(0, 10) + steady(10, 13, APOLOGY) + steady(13, 30)
    recovered, seconds = recovery(messages, FAULT, last=10)
    assert recovered and seconds == 1.0  # normal from 13 s, 1 s after the fault was undone at 12 s


def test_recovery_is_immediate_when_nothing_after_the_fault_went_wrong() -> None:
    messages = [message(1.0, LOST)] + steady(2, 30)  # a loss before the fault is not the fault's
    assert recovery(messages, FAULT, last=10) == (True, 0.0)


def test_not_recovered_when_a_late_message_fails_or_too_few_came_after() -> None:
    assert recovery(steady(0, 29) + [message(29.5, APOLOGY)], FAULT, last=10) == (False, None)
    assert recovery(steady(0, 19), FAULT, last=10) == (False, None)  # 4 messages after 17 s


def test_unstored_counts_each_replied_message_against_the_stored_texts() -> None:
    first, again, apology = message(1, OK, text="hi"), message(2, OK, text="hi"), message(3, APOLOGY, text="and DACA?")
    lost = message(4, LOST, text="ICE at my door")
    # "hi" stored once but answered twice; the apology's question not stored; a lost
    # message need not be stored; stored text may differ by surrounding blanks.
    assert unstored([first, again, apology, lost], {"stored-a": {" hi ": 0, "hi": 1}}) == [again, apology]
    assert unstored([first, apology], {"stored-a": Counter({"hi": 1, "and DACA?": 1})}) == []
    assert unstored([first], {}) == [first]


def test_summary_of_a_replica_kill() -> None:
    kill = Fault(10.0, 10.0)
    held = [message(9.8, LOST, latency=0.5, status=502)]
    late = message(10.2, APOLOGY, latency=5.0)
    messages = steady(0, 10) + held + [late, message(11.0, LOST, latency=30.0, status=0)] + steady(12, 40)
    stored = {"stored-a": {"hi": len(messages)}}
    s = summarize(messages, kill, stored, last=10, held=held)
    assert (s["sent"], s["answered"], s["apology"], s["lost"], s["wrong"]) == (len(messages), len(messages) - 3, 1, 2, 0)
    assert s["lost_by_status"] == {"0": 1, "502": 1}
    assert (s["in_flight"], s["lost_in_flight"]) == (1, 1)
    assert s["p95_ms_before"] == 200.0 and s["p95_ms_during"] == 5000.0 and s["p95_ms_after"] == 200.0
    assert s["recovered"] and s["recovery_s"] == 2.0  # normal from 12 s on
    assert s["unstored"] == 0 and failures(s) == []


def test_failures_name_what_went_wrong() -> None:
    messages = (
        steady(0, 10) + [message(11.0, APOLOGY, text="where?"), message(11.5, OK, text="daca?"), message(12.0, CROSSED)]
        + steady(13, 25) + [message(25.0, LOST)]
    )
    s = summarize(messages, FAULT, {"stored-a": {"hi": 100}}, last=5)
    assert s["in_flight"] is None and s["unstored_by_outcome"] == {APOLOGY: 1, OK: 1}
    reasons = failures(s)
    assert len(reasons) == 3
    # The apology's message is reported but is no failure: the apology asks to send it again.
    assert reasons[0] == "1 answered message(s) not in the tracker store" and "crossed" in reasons[1] and reasons[2] == "did not recover"


def test_table_has_a_row_per_fault_with_every_column() -> None:
    kill = summarize(steady(0, 30), Fault(10.0, 10.0), {"stored-a": {"hi": 60}}, last=10, held=[])
    stop = summarize(steady(0, 10) + steady(10, 20, APOLOGY) + steady(20, 30), FAULT, {}, last=10)
    table = render([("replica killed", kill), ("Redis stopped", stop)]).splitlines()
    assert len(table) == 4
    assert len({line.count("|") for line in table}) == 1
    assert table[2].startswith("| replica killed | 10 / 10 | 60 | 60 | 0 | 0 | 0 (0) | 0 |")
    # Apologies from 10 to 20 s, normal again 8 s after the fault was undone; nothing stored.
    assert table[3].endswith("| - | 0 | 200 / 200 / 200 | yes | 8 | 40 / 20 |")


def bot_server(port: int) -> subprocess.Popen:
    """A never-started Popen with a bot server's command line (bot/processes.py)."""
    process = subprocess.Popen.__new__(subprocess.Popen)
    process.args = ["/venv/bin/python", "-m", "server", "--model", "m.tar.gz", "--host", "127.0.0.1", "--port", str(port)]
    return process


def test_a_server_port_and_its_balancer_url_come_from_its_command_line() -> None:
    assert faults.port_of(bot_server(41234)) == 41234
    assert faults.backend(bot_server(41234)) == "http://127.0.0.1:41234"


def test_a_replica_kill_waits_until_the_victim_holds_a_message_but_not_forever() -> None:
    cluster = faults.Cluster(Topology(bot_servers=[bot_server(41001), bot_server(41002)]), None, None, 10.0)  # type: ignore[arg-type]
    assert cluster.victim == "http://127.0.0.1:41001"
    mine = next(c for c in (f"+1555000{i:04d}" for i in range(100)) if cluster.owner(c) == cluster.victim)
    other = next(c for c in (f"+1555000{i:04d}" for i in range(100)) if cluster.owner(c) != cluster.victim)
    cluster.epoch = time.monotonic()
    cluster.pending[other] += 1
    asyncio.run(cluster.until_victim_busy(0.1))
    assert cluster.now() >= 0.1  # only the other replica was busy: waited the limit
    cluster.pending[mine] += 1
    began = time.monotonic()
    asyncio.run(cluster.until_victim_busy(5.0))
    assert time.monotonic() - began < 1.0


def test_sms_conversations_are_stored_under_the_keyed_hash_of_the_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KYR_SENDER_HMAC_KEY", "bench-key")
    sms = Conversation("sms", "+15550001234", "es", "miami_dade", ("daca",))
    rest = Conversation("rest", "faults-1", "es", "miami_dade", ("daca",))
    assert faults.stored_as(sms) == sender_key("bench-key", "+15550001234")
    assert faults.stored_as(rest) == "faults-1"


def test_schedule_gives_each_conversation_its_turns_in_order() -> None:
    slots = faults.schedule(Namespace(rate=6.0, seconds=40.0, seed=7, turns=3, think=4.0))
    assert len(slots) == 240
    turns: dict = {}
    for slot in sorted(slots, key=lambda s: s.at):
        turns.setdefault(slot.person, []).append(slot.turn)
    assert all(t == list(range(len(t))) and 1 <= len(t) <= 3 for t in turns.values())


def test_restarting_postgresql_is_skipped_without_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(faults.os, "geteuid", lambda: 1000)
    assert "root" in (faults.skip_reason("postgres") or "")
    assert faults.skip_reason("redis") is None
