"""The Twilio channel against the running Rasa server, with Twilio's own request signing."""

import random
import sqlite3
import urllib.request
import json

import pytest
from twilio.request_validator import RequestValidator

from bot.sms.encoding import encode
from bot.sms.simulator import WEBHOOK_PATH, send, twilio_params
from tests.integration.conftest import BOUND_NUMBER, PUBLIC_BASE_URL, RATE_LIMIT, TWILIO_TOKEN

pytestmark = pytest.mark.integration


def new_number() -> str:
    return "+1555" + "".join(random.choice("0123456789") for _ in range(7))


def all_rows(db) -> str:
    with sqlite3.connect(db) as connection:
        return "\n".join(" ".join(map(str, row)) for row in connection.execute("SELECT * FROM events"))


def event_count(db) -> int:
    with sqlite3.connect(db) as connection:
        return connection.execute("SELECT COUNT(*) FROM events").fetchone()[0]


def test_signed_request_gets_twiml_answer(sms):
    reply = sms("will police ask my status in orlando", new_number())
    assert reply.status == 200
    assert len(reply.messages) == 1
    assert "Orlando" in reply.messages[0]
    assert 1 <= reply.segments <= 3


@pytest.mark.parametrize("case", ["wrong", "other_url", "missing"])
def test_unsigned_or_badly_signed_requests_are_refused_and_counted(rasa_url, tracker_db, case):
    params = twilio_params("hello", new_number(), "+15555550100")
    signature = {
        "wrong": "bm90IGEgc2lnbmF0dXJl",
        "other_url": RequestValidator(TWILIO_TOKEN).compute_signature("https://evil.example.com" + WEBHOOK_PATH, params),
        "missing": "",
    }[case]
    before_events = event_count(tracker_db)
    with urllib.request.urlopen(f"{rasa_url}/webhooks/twilio/", timeout=10) as r:
        before = json.loads(r.read())["signature_failures"]
    reply = send(rasa_url, PUBLIC_BASE_URL, TWILIO_TOKEN, params, signature=signature)
    assert reply.status == 403
    assert event_count(tracker_db) == before_events
    with urllib.request.urlopen(f"{rasa_url}/webhooks/twilio/", timeout=10) as r:
        assert json.loads(r.read())["signature_failures"] == before + 1


def test_phone_number_is_stored_only_as_keyed_hash(sms, tracker_db):
    number = "+15557654321"
    sms("hola, la policia me puede preguntar mi estatus en miami?", number)
    sms("gracias", number)
    stored = all_rows(tracker_db)
    for form in (number, number[1:], number[2:], "7654321", "555-765-4321"):
        assert form not in stored
    assert "sms-" in stored


def test_delete_keyword_erases_the_conversation(sms, tracker_db):
    number = new_number()
    sms("does the jail in chicago hold people for ice", number)
    before = event_count(tracker_db)
    reply = sms("BORRAR", number)
    assert "borré" in reply.messages[0] or "borre" in reply.messages[0]
    assert event_count(tracker_db) < before
    from bot.sms.privacy import sender_key

    key = sender_key("test-sender-key", number)
    with sqlite3.connect(tracker_db) as connection:
        assert connection.execute("SELECT COUNT(*) FROM events WHERE sender_id = ?", (key,)).fetchone()[0] == 0


def test_stop_then_silence_then_start(sms):
    number = new_number()
    assert sms("hello", number).messages
    assert sms("STOP", number).messages == []
    assert sms("will police ask my status", number).messages == []
    started = sms("START", number)
    assert started.messages and "answers again" in started.messages[0]
    assert sms("hello", number).messages


def test_help_says_who_runs_it(sms):
    reply = sms("HELP", new_number())
    assert "Test Community Center" in reply.messages[0] and "+1 555 555 0199" in reply.messages[0]


def test_numbered_menu_choice_on_a_bound_number(sms):
    number = new_number()
    menu = sms("hola", number, to=BOUND_NUMBER)
    assert "2." in menu.messages[0]
    assert "/" not in menu.messages[0].split("\n")[-1]
    answer = sms("2", number, to=BOUND_NUMBER)
    text = answer.messages[0]
    assert "Orlando" in text  # the number is bound to Orlando, in Spanish
    assert "report_crime" not in text and "/" not in text.split()[0]


def test_more_pages_through_a_long_answer(sms):
    number = new_number()
    first = sms("will the police ask about my immigration status in orlando?", number)
    assert first.segments <= 3
    assert first.messages[0].endswith("Reply MORE for the rest.")
    pages = [first.messages[0]]
    for _ in range(10):
        page = sms("MORE", number).messages[0]
        pages.append(page)
        if not page.endswith("Reply MORE for the rest."):
            break
    assert "not legal advice" in pages[-1]
    assert all(encode(p).segments <= 3 for p in pages)
    assert "nothing more" in sms("more", number).messages[0]


def test_spanish_reply_with_accents_is_segmented_correctly(sms):
    reply = sms("¿puedo denunciar un crimen en Miami sin que me deporten?", new_number())
    text = reply.messages[0]
    assert reply.segments == encode(text).segments <= 3
    assert reply.encoding == encode(text).encoding


def test_whatsapp_sender(sms):
    reply = sms("what is DACA", "whatsapp:" + new_number())
    assert reply.status == 200 and "DACA" in reply.messages[0]


def test_media_only_message(sms):
    reply = sms("", new_number(), media=1)
    assert "only read text" in reply.messages[0]


def test_rate_limit_burst(sms):
    number = new_number()
    replies = [sms(f"hello {i}", number) for i in range(RATE_LIMIT + 2)]
    assert all(r.messages for r in replies[:RATE_LIMIT])
    assert "many messages" in replies[RATE_LIMIT].messages[0]
    assert replies[RATE_LIMIT + 1].messages == []


def test_every_webhook_twice_gives_no_duplicate_reply_or_event(sms, tracker_db):
    number = new_number()
    for body in ("hello", "does the jail hold people for ice", "orlando", "gracias"):
        sid = "SM" + "".join(random.choice("0123456789abcdef") for _ in range(32))
        first = sms(body, number, sid=sid)
        events = event_count(tracker_db)
        second = sms(body, number, sid=sid)
        assert first.messages and second.status == 200 and second.messages == []
        assert event_count(tracker_db) == events


def test_long_body_is_truncated_not_refused(sms):
    reply = sms("will police ask my status in orlando " + "x" * 5000, new_number())
    assert reply.status == 200 and reply.messages


def test_arabic_reply_survives_twiml(sms):
    from tests.integration.conftest import ARABIC_NUMBER

    reply = sms("1", new_number(), to=ARABIC_NUMBER)  # menu item 1 on a number bound to Chicago, Arabic
    text = reply.messages[0]
    assert any("\u0600" <= ch <= "\u06ff" for ch in text)
    assert reply.encoding == "UCS-2" and reply.segments <= 3
    assert "\ufffd" not in text


def test_chinese_question_gets_chinese_reply(sms):
    reply = sms("芝加哥的监狱会为ICE扣留人吗", new_number())
    text = reply.messages[0]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in text)
    assert reply.encoding == "UCS-2" and reply.segments <= 3


def test_slash_messages_cannot_trigger_intents(sms):
    assert "did not get a message" in sms("///", new_number()).messages[0]
