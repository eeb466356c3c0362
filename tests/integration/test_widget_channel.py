"""The widget's server side over HTTP: CORS, validation, rate limit, erasure, the assets
and the headers, against the running bot."""

import gzip
import json
import secrets
import sqlite3
import urllib.error
import urllib.request
from email.message import Message
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import pytest

from tests.integration.conftest import HOST_SITE, WIDGET_RATE_LIMIT

pytestmark = pytest.mark.integration

MAX_WIDGET_GZIP_BYTES = 20 * 1024


def request(
    url: str, body: Any = None, origin: Optional[str] = HOST_SITE, method: Optional[str] = None, headers: Dict[str, str] = None
) -> Tuple[int, Message, bytes]:
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode("utf-8"))
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if origin:
        all_headers["Origin"] = origin
    req = urllib.request.Request(url, data=data, headers=all_headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def new_sender() -> str:
    return secrets.token_hex(16)


def ask(rasa_url: str, sender: str, message: str, metadata: Dict[str, Any] = None) -> Dict[str, Any]:
    status, headers, body = request(
        f"{rasa_url}/webhooks/widget/webhook", {"sender": sender, "message": message, "metadata": metadata or {}}
    )
    assert status == 200, body
    assert headers["Access-Control-Allow-Origin"] == HOST_SITE
    return json.loads(body)


def stored_events(tracker_db: Path, conversation: str) -> int:
    with sqlite3.connect(tracker_db) as db:
        return db.execute("SELECT COUNT(*) FROM events WHERE sender_id = ?", (conversation,)).fetchone()[0]


def test_embedding_page_metadata_makes_the_first_answer_local(rasa_url: str) -> None:
    result = ask(rasa_url, new_sender(), "can the police ask about my immigration status?", {"jurisdiction": "orlando", "language": "en"})
    reply = result["messages"][0]
    assert reply["jurisdiction"] == "orlando"
    assert reply["topic"] == "police_status_questions"
    assert "Orlando" in reply["text"]
    assert reply["sources"] and all(s["title"] for s in reply["sources"])


def test_menu_choices_come_with_the_reply_and_a_quick_reply_picks_a_topic(rasa_url: str) -> None:
    sender = new_sender()
    greeting = ask(rasa_url, sender, "hola", {"jurisdiction": "miami_dade"})["messages"][0]
    assert greeting["language"] == "es"
    assert [c["topic"] for c in greeting["menu"]][:2] == ["police_status_questions", "report_crime"]
    answer = ask(rasa_url, sender, "/report_crime", {"jurisdiction": "miami_dade"})["messages"][0]
    assert answer["topic"] == "report_crime"
    assert answer["language"] == "es"
    assert answer["jurisdiction"] == "miami_dade"


def test_an_unsure_reply_names_the_topic_it_asks_about(rasa_url: str) -> None:
    # Two topics in one message: the model is unsure, and asks about the likelier one.
    reply = ask(rasa_url, new_sender(), "daca or u visa which one", {})["messages"][0]
    assert reply["topic"] == "out_of_scope" and "Did you mean:" in reply["text"]
    assert reply["suggested_topic"] in {c["topic"] for c in reply["menu"]}


def test_language_picked_from_the_menu_sticks(rasa_url: str) -> None:
    sender = new_sender()
    picked = ask(rasa_url, sender, "/set_language", {"chosen_language": "ar"})["messages"][0]
    assert picked["language"] == "ar"
    assert any("\u0600" <= ch <= "\u06ff" for ch in picked["text"])
    later = ask(rasa_url, sender, "what are my rights if police stop me", {"language": "en"})["messages"][0]
    assert later["language"] == "ar"


def test_origins_not_listed_and_requests_without_origin_are_refused(rasa_url: str) -> None:
    body = {"sender": new_sender(), "message": "hello"}
    for origin in ("https://evil.example", None, "null"):
        status, headers, _ = request(f"{rasa_url}/webhooks/widget/webhook", body, origin=origin)
        assert status == 403, origin
        assert "Access-Control-Allow-Origin" not in headers
    status, headers, _ = request(f"{rasa_url}/webhooks/widget/webhook", body, origin="https://partner.example.org")
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == "https://partner.example.org"


def test_preflight_answers_listed_origins_only(rasa_url: str) -> None:
    status, headers, _ = request(f"{rasa_url}/webhooks/widget/webhook", method="OPTIONS")
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == HOST_SITE
    assert headers["Access-Control-Allow-Methods"] == "POST"
    assert "Access-Control-Allow-Credentials" not in headers
    status, headers, _ = request(f"{rasa_url}/webhooks/widget/erase", method="OPTIONS", origin="https://evil.example")
    assert status == 403
    assert "Access-Control-Allow-Origin" not in headers


@pytest.mark.parametrize(
    "body, expected",
    [
        (b"not json", 400),
        (b"[1, 2]", 400),
        ({"sender": "short", "message": "hi"}, 400),
        ({"sender": "../../etc/passwd-000000000", "message": "hi"}, 400),
        ({"sender": "a" * 65, "message": "hi"}, 400),
        ({"sender": "0123456789abcdef", "message": "x" * 20000}, 413),
    ],
)
def test_malformed_requests_get_clear_errors(rasa_url: str, body: Any, expected: int) -> None:
    status, headers, payload = request(f"{rasa_url}/webhooks/widget/webhook", body)
    assert status == expected
    assert json.loads(payload)["error"]
    assert headers["Access-Control-Allow-Origin"] == HOST_SITE  # so the page can show the error


@pytest.mark.parametrize("text", ["", "   ", "<script>alert(1)</script>", "\x00\x01\x02", "🙂" * 500, "x" * 5000])
def test_bad_text_gets_a_friendly_answer(rasa_url: str, text: str) -> None:
    reply = ask(rasa_url, new_sender(), text, {"language": "es"})["messages"][0]
    assert reply["text"].strip()
    assert "<script>" not in reply["text"]


def test_a_conversation_over_the_limit_gets_429(rasa_url: str) -> None:
    sender = new_sender()
    statuses = [
        request(f"{rasa_url}/webhooks/widget/webhook", {"sender": sender, "message": "gracias"})[0]
        for _ in range(WIDGET_RATE_LIMIT + 1)
    ]
    assert statuses[:WIDGET_RATE_LIMIT] == [200] * WIDGET_RATE_LIMIT
    assert statuses[-1] == 429


def test_erase_deletes_the_conversation_from_the_tracker_store(rasa_url: str, tracker_db: Path) -> None:
    sender, keep = new_sender(), new_sender()
    ask(rasa_url, sender, "what if ICE comes to my door", {"jurisdiction": "chicago"})
    ask(rasa_url, keep, "what if ICE comes to my door", {"jurisdiction": "chicago"})
    assert stored_events(tracker_db, f"web-{sender}") > 0
    status, headers, _ = request(f"{rasa_url}/webhooks/widget/erase", {"sender": sender})
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == HOST_SITE
    assert stored_events(tracker_db, f"web-{sender}") == 0
    assert stored_events(tracker_db, f"web-{keep}") > 0


def test_delete_my_data_said_in_the_chat_erases_it_too(rasa_url: str, tracker_db: Path) -> None:
    sender = new_sender()
    ask(rasa_url, sender, "hello, I live in Pasadena")
    result = ask(rasa_url, sender, "please delete my data")
    assert result["erased"] is True
    assert stored_events(tracker_db, f"web-{sender}") == 0


def test_widget_script_is_one_small_file_safe_to_embed(rasa_url: str) -> None:
    status, headers, body = request(f"{rasa_url}/widget.js", origin=None, headers={"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert len(body) <= MAX_WIDGET_GZIP_BYTES, f"widget.js is {len(body)} bytes gzipped"
    script = gzip.decompress(body).decode("utf-8")
    assert "__KYR_" not in script
    assert "localStorage" not in script and "document.cookie" not in script
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script
    assert headers["Content-Type"].startswith("application/javascript")
    assert headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert "Set-Cookie" not in headers


def test_pages_send_a_strict_content_security_policy(rasa_url: str) -> None:
    status, headers, body = request(f"{rasa_url}/", origin=None)
    assert status == 200
    assert b'src="/widget.js"' in body
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "Set-Cookie" not in headers


@pytest.mark.parametrize("path", ["/status", "/version", "/model/parse", "/conversations/x/tracker"])
def test_rasa_http_api_is_not_served(rasa_url: str, path: str) -> None:
    status, _, _ = request(f"{rasa_url}{path}", origin=None)
    assert status in (404, 405)
