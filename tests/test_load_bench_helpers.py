"""The load benchmark's helpers (bench/): percentiles, summaries, the open-loop schedule,
the requests it sends, and the report's ratios and verdicts. No servers."""

import json
import urllib.parse
from argparse import Namespace
from collections import Counter

import pytest
from twilio.request_validator import RequestValidator

from bench.latency import Outcome, by_kind, percentile, summarize, sustained_rate
from bench.load_report import build, ratio, render
from bench.schedule import Slot, arrival_times, assign_people
from bench.servers import count_apologies
from bench.traffic import KyrTraffic, MoodbotTraffic, MOODBOT_CONVERSATIONS

TOKEN = "bench-token"
PUBLIC = "https://bot.example.org"
ORIGIN = "https://load.example.org"


def test_percentile_nearest_rank() -> None:
    values = list(range(1, 101))  # 1..100
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile(values, 0) == 1
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0  # order of the input does not matter
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 95) is None
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_summary_counts_latency_from_the_scheduled_time_and_errors_apart() -> None:
    outcomes = [
        Outcome("sms", scheduled=0.0, finished=0.1, ok=True, status=200),
        Outcome("sms", scheduled=1.0, finished=1.3, ok=True, status=200),
        Outcome("widget", scheduled=1.5, finished=3.0, ok=True, status=200),
        Outcome("widget", scheduled=2.0, finished=2.5, ok=False, status=500),
        Outcome("widget", scheduled=3.0, finished=4.0, ok=False, status=0, error="ServerDisconnectedError"),
        Outcome("sms", scheduled=3.5, finished=4.0, ok=False, status=200),
    ]
    s = summarize(outcomes, offered_rate=1.5)
    assert (s["requests"], s["answered"], s["errors"]) == (6, 3, 3)
    assert s["errors_by_status"] == {"500": 1, "ServerDisconnectedError": 1, "no reply": 1}
    assert s["p50_ms"] == 300.0 and s["p95_ms"] == 1500.0 and s["max_ms"] == 1500.0
    assert s["throughput"] == 0.75  # 3 answered from t=0 to the last answer at t=4
    kinds = by_kind(outcomes, offered_rate=1.5)
    assert set(kinds) == {"all", "sms", "widget"}
    assert kinds["sms"]["offered_rate"] == 0.75 and kinds["sms"]["answered"] == 2


def test_summary_of_nothing() -> None:
    s = summarize([], offered_rate=2)
    assert s["requests"] == 0 and s["p95_ms"] is None and s["throughput"] == 0.0


def row(rate: float, p95: float, errors: int = 0, apologies=0, requests: int = 100) -> dict:
    return {"offered_rate": rate, "p95_ms": p95, "errors": errors, "apologies": apologies, "requests": requests}


def test_sustained_rate_stops_at_the_first_rate_that_misses() -> None:
    assert sustained_rate([row(5, 400), row(2, 200), row(10, 900)], 1000) == 10
    assert sustained_rate([row(2, 200), row(5, 1200), row(10, 800)], 1000) == 2  # a lucky 10 does not count
    assert sustained_rate([row(2, 200), row(5, 300, errors=5)], 1000) == 2
    assert sustained_rate([row(2, 200), row(5, 300, apologies=2)], 1000) == 2
    assert sustained_rate([row(2, 200, apologies=None)], 1000) == 2  # the reference has no apology count
    assert sustained_rate([row(2, 1000)], 1000) is None


@pytest.mark.parametrize("poisson", [True, False])
def test_arrivals_offer_exactly_the_rate(poisson: bool) -> None:
    times = arrival_times(10, 20, poisson=poisson, seed=3)
    assert len(times) == 200
    assert times == sorted(times) and 0 <= times[0] and times[-1] < 20
    assert arrival_times(0, 20) == [] and arrival_times(5, 0) == []


def test_even_arrivals_are_evenly_spaced() -> None:
    assert arrival_times(4, 1, poisson=False) == [0.0, 0.25, 0.5, 0.75]


def test_poisson_arrivals_are_reproducible_and_bursty() -> None:
    times = arrival_times(10, 60, seed=1)
    assert times == arrival_times(10, 60, seed=1) != arrival_times(10, 60, seed=2)
    gaps = [b - a for a, b in zip(times, times[1:])]
    mean = sum(gaps) / len(gaps)
    assert 0.09 < mean < 0.11
    # Exponential-like gaps: many much shorter and some much longer than the mean.
    assert sum(g < mean / 4 for g in gaps) > 0.1 * len(gaps)
    assert sum(g > 2 * mean for g in gaps) > 0.05 * len(gaps)


def test_people_send_their_turns_about_think_seconds_apart() -> None:
    times = arrival_times(5, 30, poisson=False)
    slots = assign_people(times, rate=5, turns=3, think_seconds=2)
    per_person = Counter(s.person for s in slots)
    assert set(per_person.values()) == {3} and len(per_person) == 50
    for person in per_person:
        mine = [s for s in slots if s.person == person]
        assert [s.turn for s in mine] == [0, 1, 2]
        assert all(abs((b.at - a.at) - 2) < 1e-9 for a, b in zip(mine, mine[1:]))


def test_sms_requests_are_signed_as_twilio_does_and_widget_ones_carry_the_origin() -> None:
    traffic = KyrTraffic(TOKEN, PUBLIC, ORIGIN, seed=1)
    requests = [traffic.request(Slot(at=0.1 * i, person=i, turn=0)) for i in range(20)]
    assert Counter(r.kind for r in requests) == {"sms": 10, "widget": 10}
    validator = RequestValidator(TOKEN)
    questions = set()
    for request in requests:
        if request.kind == "sms":
            params = dict(urllib.parse.parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
            url = PUBLIC + request.path
            assert validator.validate(url, params, request.headers["X-Twilio-Signature"])
            assert params["Body"] and params["From"].startswith("+1555")
        else:
            body = json.loads(request.body)
            assert request.headers["Origin"] == ORIGIN and request.path == "/webhooks/widget/webhook"
            assert 16 <= len(body["sender"]) <= 64
            questions.add(body["message"])
    assert len(questions) == 10  # ten people, ten questions


def test_reference_people_follow_one_moodbot_conversation() -> None:
    traffic = MoodbotTraffic(seed=1)
    texts = [json.loads(traffic.request(Slot(at=0, person=7, turn=t)).body)["message"] for t in range(4)]
    assert tuple(texts[:3]) in MOODBOT_CONVERSATIONS and texts[3] == texts[2]


def test_report_ratios_and_targets() -> None:
    assert ratio(300.0, 100.0) == 3.0 and ratio(None, 1.0) is None and ratio(1.0, 0.0) is None
    ours = {"startup_seconds": {"bot server": 30.0}, "memory_mb": {"bot server": 1400.0}, "sustained_rate": 10.0,
            "rates": [dict(row(10.0, 240.0), p50_ms=100.0, p99_ms=400.0, throughput=10.0)]}
    theirs = {"startup_seconds": {"rasa run": 20.0}, "memory_mb": {"rasa run": 1000.0}, "sustained_rate": 10.0,
              "rates": [dict(row(10.0, 200.0), p50_ms=50.0, p99_ms=300.0, throughput=10.0, apologies=None)]}
    report = build({"kyr": ours, "reference": theirs}, Namespace(rates=[10.0]))
    assert report["comparison"] == [{"offered_rate": 10.0, "p95_ratio": 1.2, "p50_ratio": 2.0}]
    assert report["targets"]["p95_met"] is True and report["targets"]["ratio_met"] is True
    text = render(report)
    assert "| kyr-bot | 10 |" in text and "1.2 |" in text and "NOT met" not in text


def test_apologies_are_counted_from_the_metrics() -> None:
    exposition = (
        "# TYPE kyr_fallbacks_total counter\n"
        'kyr_fallbacks_total{channel="widget",reason="nlu_fallback"} 7.0\n'
        'kyr_fallbacks_total{channel="widget",reason="timeout"} 2.0\n'
        'kyr_fallbacks_total{channel="twilio",reason="no_reply"} 1.0\n'
        'kyr_fallbacks_created{channel="twilio",reason="error"} 1.7e+09\n'
    )
    assert count_apologies(exposition) == 3.0
