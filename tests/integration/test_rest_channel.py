"""The real bot over Rasa's REST channel: model, action server and SQLite tracker store."""

import uuid

import pytest

pytestmark = pytest.mark.integration


def new_sender() -> str:
    return uuid.uuid4().hex


def test_orlando_status_question_in_english(send):
    reply = send(new_sender(), "will the police ask about my immigration status in orlando?")
    assert reply["custom"]["topic"] == "police_status_questions"
    assert reply["custom"]["jurisdiction"] == "orlando"
    assert reply["custom"]["language"] == "en"
    assert "orlando-01" in reply["custom"]["fact_ids"]
    assert "As of" in reply["text"] and "not legal advice" in reply["text"]


def test_miami_crime_report_in_spanish(send):
    reply = send(new_sender(), "¿puedo denunciar un crimen en Miami sin que me deporten?")
    assert reply["custom"]["topic"] == "report_crime"
    assert reply["custom"]["jurisdiction"] == "miami_dade"
    assert reply["custom"]["language"] == "es"
    assert "claramente relevante" in reply["text"]


def test_u_visa_without_city_offers_local_practice(send):
    reply = send(new_sender(), "what is a U visa")
    assert reply["custom"]["topic"] == "u_visa"
    assert reply["custom"]["jurisdiction"] is None
    assert "Tell me your city" in reply["text"]


def test_unknown_city_is_said_honestly(send):
    reply = send(new_sender(), "will police ask my status in Houston")
    assert reply["custom"]["topic"] == "police_status_questions"
    assert "I have no local information for Houston" in reply["text"]
    assert all(f.startswith("national-") for f in reply["custom"]["fact_ids"])


def test_ice_at_the_door_is_answered_first(send):
    reply = send(new_sender(), "ICE is at my door")
    assert reply["custom"]["topic"] == "ice_at_home"
    assert reply["text"].startswith("If ICE is at your door now:")


def test_city_question_then_city_answers_pending_question(send):
    sender = new_sender()
    first = send(sender, "does the jail hold people for ICE?")
    assert "Which city or county" in first["text"]
    second = send(sender, "chicago")
    assert second["custom"]["topic"] == "ice_detainers"
    assert second["custom"]["jurisdiction"] == "chicago"


def test_language_switch_mid_conversation_sticks(send):
    sender = new_sender()
    assert send(sender, "hello")["custom"]["language"] == "en"
    assert send(sender, "español")["custom"]["language"] == "es"
    assert send(sender, "what is DACA")["custom"]["language"] == "es"


def test_context_from_metadata(send):
    reply = send(new_sender(), "does the jail hold people for ice", {"jurisdiction": "miami_dade", "language": "es"})
    assert reply["custom"]["jurisdiction"] == "miami_dade"


@pytest.mark.parametrize(
    "message",
    ["", "   ", "x" * 10_000, "😀😀😀", "<script>alert('x')</script><img src=x onerror=alert(1)>", "1; DROP TABLE events;--", "\u0000\u0001\ufffd\ufffe binary"],
)
def test_bad_input_gets_friendly_reply_and_tracker_keeps_working(send, message):
    sender = new_sender()
    reply = send(sender, message)
    assert reply["text"].strip()
    assert "<script>" not in reply["text"]
    after = send(sender, "what is DACA")
    assert after["custom"]["topic"] == "daca"
