"""/metrics and /ready against the running bot: what is counted, who may read it, and
that no message text, phone number or conversation id ends up in it."""

import json
import secrets
import urllib.error
import urllib.request
import uuid
from typing import Dict, Iterator, Optional, Tuple

import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from bot.kb.loader import load as load_kb
from bot.sms.privacy import sender_key
from channels.metrics import CHANNELS, FALLBACK_REASONS, OTHER, SERVICE_UNAVAILABLE
from tests.integration.conftest import BOUND_NUMBER, WIDGET_RATE_LIMIT
from tests.integration.test_widget_channel import ask, request

pytestmark = pytest.mark.integration


def get(url: str, headers: Optional[Dict[str, str]] = None) -> Tuple[int, str, str]:
    """(status, content type, body) of a GET."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as response:
            return response.status, response.headers["Content-Type"], response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode("utf-8")


def scrape(rasa_url: str) -> str:
    status, content_type, body = get(f"{rasa_url}/metrics")
    assert status == 200, body
    assert content_type.startswith("text/plain; version=0.0.4")
    return body


def samples(exposition: str) -> Iterator[Sample]:
    for family in text_string_to_metric_families(exposition):
        yield from family.samples


def value(rasa_url: str, name: str, **labels: str) -> float:
    """A sample's current value; 0 for a series not created yet."""
    return next((s.value for s in samples(scrape(rasa_url)) if s.name == name and s.labels == labels), 0.0)


def test_a_rest_message_is_counted_by_channel_language_and_topic(rasa_url: str, send) -> None:
    labels = {"channel": "rest", "language": "es", "topic": "police_status_questions"}
    before = value(rasa_url, "kyr_messages_total", **labels)
    timed = value(rasa_url, "kyr_answer_seconds_count", channel="rest")
    reply = send(uuid.uuid4().hex, "¿la policía me puede preguntar por mi estatus migratorio en Orlando?")
    assert (reply["custom"]["language"], reply["custom"]["topic"]) == ("es", "police_status_questions")
    assert value(rasa_url, "kyr_messages_total", **labels) == before + 1
    assert value(rasa_url, "kyr_answer_seconds_count", channel="rest") == timed + 1


def test_a_bad_twilio_signature_is_counted(rasa_url: str, sms) -> None:
    before = value(rasa_url, "kyr_signature_failures_total")
    assert sms("hello", "+15555550142", signature="bm90IGEgc2lnbmF0dXJl").status == 403
    assert value(rasa_url, "kyr_signature_failures_total") == before + 1


def test_a_widget_client_over_the_rate_limit_is_counted(rasa_url: str) -> None:
    before = value(rasa_url, "kyr_rate_limited_total", channel="widget")
    # Erasing checks the same limit without a trip through the model, so it is quick.
    sender = secrets.token_hex(16)
    statuses = [request(f"{rasa_url}/webhooks/widget/erase", {"sender": sender})[0] for _ in range(WIDGET_RATE_LIMIT + 1)]
    assert statuses[-1] == 429
    assert value(rasa_url, "kyr_rate_limited_total", channel="widget") == before + 1


def test_ready_when_the_model_and_the_tracker_store_answer(rasa_url: str) -> None:
    status, _, body = get(f"{rasa_url}/ready")
    assert status == 200
    assert json.loads(body) == {"status": "ready"}
    assert get(f"{rasa_url}/health")[0] == 200


def test_metrics_are_for_this_machine_not_for_what_a_proxy_forwards(rasa_url: str) -> None:
    assert get(f"{rasa_url}/metrics")[0] == 200
    assert get(f"{rasa_url}/metrics", {"X-Forwarded-For": "203.0.113.9"})[0] == 403
    assert get(f"{rasa_url}/metrics", {"Forwarded": "for=203.0.113.9", "Authorization": "Bearer guess"})[0] == 403


def test_metrics_hold_no_text_numbers_or_ids_and_only_closed_label_values(rasa_url: str, send, sms) -> None:
    marker = f"zqm{uuid.uuid4().hex[:12]}"
    number = "+1555" + str(uuid.uuid4().int)[:7]
    rest_sender, widget_sender = f"rest-{marker}-id", secrets.token_hex(16)
    send(rest_sender, f"police in {marker} asked me, call {number}", {"language": marker, "jurisdiction": marker})
    sms(f"la policia {marker} me pregunto en orlando", number, to=BOUND_NUMBER)
    ask(rasa_url, widget_sender, f"{marker} ICE is at my door", {"jurisdiction": marker})
    exposition = scrape(rasa_url)
    for secret in (marker, number, number[1:], number[-7:], rest_sender, widget_sender, sender_key("test-sender-key", number)):
        assert secret not in exposition
    kb = load_kb()
    allowed = {
        "channel": set(CHANNELS),
        "language": set(kb.languages),
        "topic": set(kb.topics) | {SERVICE_UNAVAILABLE},
        "reason": set(FALLBACK_REASONS),
    }
    for sample in samples(exposition):
        for label, known in allowed.items():
            if label in sample.labels:
                assert sample.labels[label] in known | {OTHER}, sample
        assert set(sample.labels) <= set(allowed) | {"le"}, sample
