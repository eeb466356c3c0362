"""Erasure really deletes, and what people write never reaches the server logs."""

import sqlite3
import time
import uuid

import pytest

pytestmark = pytest.mark.integration


def stored_events(db, sender: str) -> int:
    with sqlite3.connect(db) as connection:
        return connection.execute("SELECT COUNT(*) FROM events WHERE sender_id = ?", (sender,)).fetchone()[0]


def test_delete_my_data_erases_the_conversation(send, tracker_db):
    sender = uuid.uuid4().hex
    send(sender, "will police ask my status in orlando")
    assert stored_events(tracker_db, sender) > 0
    reply = send(sender, "delete my data")
    assert reply["custom"]["topic"] == "delete_my_data"
    assert "erased" in reply["text"]
    assert stored_events(tracker_db, sender) == 0
    # The city is forgotten too: the next local question asks for it again.
    again = send(sender, "does the jail hold people for ice")
    assert again["custom"]["needs"] == "jurisdiction"


def test_spanish_erasure_word(send, tracker_db):
    sender = uuid.uuid4().hex
    send(sender, "hola")
    reply = send(sender, "borra mis datos por favor")
    assert reply["custom"]["topic"] == "delete_my_data"
    assert stored_events(tracker_db, sender) == 0


def test_message_text_never_reaches_the_logs(send, server_log):
    marker = f"zqx{uuid.uuid4().hex[:12]}"
    send(uuid.uuid4().hex, f"my neighbour {marker} says police ask status in chicago")
    send(uuid.uuid4().hex, f"<script>{marker}</script>")
    time.sleep(0.5)
    assert marker not in server_log.read_text(encoding="utf-8", errors="replace")


def test_malformed_requests_get_400_not_a_crash(rasa_url, send):
    import urllib.error
    import urllib.request

    for body in (b"not json", b"[]", b'{"message": "hi"}', b'{"sender": 5, "message": "hi"}'):
        request = urllib.request.Request(f"{rasa_url}/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(request, timeout=30)
        assert error.value.code == 400
    assert send(uuid.uuid4().hex, "hello")["text"]


def test_sms_text_and_phone_number_never_reach_the_logs(sms, server_log):
    marker = f"zqy{uuid.uuid4().hex[:12]}"
    number = "+15559876543"
    sms(f"la policia {marker} me pregunto en orlando", number)
    sms("STOP", number)
    time.sleep(0.5)
    log = server_log.read_text(encoding="utf-8", errors="replace")
    assert marker not in log
    assert "9876543" not in log


def test_what_the_bot_could_not_answer_reaches_organizers_scrubbed_and_counted(send):
    import os

    import sqlalchemy as sa

    from storage.organizer_db import daily_counts, engine, unanswered

    marker = f"qz{uuid.uuid4().hex[:6]}"
    reply = send(uuid.uuid4().hex, f"my name is Maria Lopez, 407-555-0134, what is the best pizza topping {marker}")
    assert reply["custom"]["topic"] == "out_of_scope"
    database = engine(os.environ["DATABASE_URL"])
    deadline = time.monotonic() + 10
    rows = []
    while not rows and time.monotonic() < deadline:
        with database.connect() as connection:
            rows = [r.text for r in connection.execute(sa.select(unanswered.c.text)) if marker in r.text]
        time.sleep(0.2)
    assert len(rows) == 1, "the unanswered question was not kept"
    assert "[phone]" in rows[0] and "[name]" in rows[0]
    assert "407" not in rows[0] and "Maria" not in rows[0] and "Lopez" not in rows[0]
    with database.connect() as connection:
        counted = connection.execute(
            sa.select(sa.func.sum(daily_counts.c.count)).where(daily_counts.c.fallback.is_(True), daily_counts.c.channel == "rest")
        ).scalar()
    assert counted and counted >= 1
