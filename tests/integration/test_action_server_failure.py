"""When the action server is slow or down, every channel still answers in time with an
apology and the legal-help contact, in the person's language; never silence."""

import json
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

from bot import processes
from bot.sms.simulator import send, twilio_params
from channels.answering import DEFAULT_TIMEOUT
from tests.integration.conftest import HOST_SITE, PUBLIC_BASE_URL, SERVER_LOG, TWILIO_TOKEN

pytestmark = pytest.mark.integration

# Twilio gives up on a webhook after 15 s; the apology must come well before.
TWILIO_DEADLINE = 15.0


class StalledActionServer:
    """An action endpoint that accepts calls and answers none of them within a minute."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                time.sleep(60)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """From now on the endpoint refuses connections: the action server is down."""
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def stalled() -> Iterator[StalledActionServer]:
    server = StalledActionServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def degraded_bot(rasa_url: str, model: Path, stalled: StalledActionServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second bot server, configured like the first but with the stalled action endpoint."""
    port = processes.free_port()
    env = {"ACTION_ENDPOINT_URL": stalled.url, "TRACKER_SQLITE_PATH": str(tmp_path_factory.mktemp("degraded") / "tracker.db")}
    with open(SERVER_LOG, "ab") as log:
        server = processes.start_rasa_server(model, port, output=log, env=env)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            processes.stop(server)


def post(url: str, body: Dict[str, Any], headers: Dict[str, str] = None) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode("utf-8"), headers={"Content-Type": "application/json", **(headers or {})}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_slow_action_server_gets_the_widget_an_apology_in_its_language(degraded_bot: str) -> None:
    body = {"sender": "slowwidget0000000001", "message": "que hago si ICE toca mi puerta", "metadata": {"language": "es", "jurisdiction": "chicago"}}
    result, seconds = timed(lambda: post(f"{degraded_bot}/webhooks/widget/webhook", body, {"Origin": HOST_SITE}))
    assert DEFAULT_TIMEOUT - 0.5 <= seconds < DEFAULT_TIMEOUT + 3
    reply = result["messages"][0]
    assert reply["topic"] == "service_unavailable"
    assert reply["language"] == "es"
    assert "Lo siento" in reply["text"]
    assert "ayuda legal" in reply["text"].lower()


def test_slow_action_server_gets_sms_an_apology_before_twilio_gives_up(degraded_bot: str) -> None:
    params = twilio_params("la policia me puede preguntar mi estatus en orlando", "+13055550111", "+15555550100")
    reply, seconds = timed(lambda: send(degraded_bot, PUBLIC_BASE_URL, TWILIO_TOKEN, params))
    assert seconds < TWILIO_DEADLINE - 5
    assert reply.status == 200
    assert "Lo siento" in reply.messages[0]
    assert "ayuda legal" in reply.messages[0].lower()


def test_action_server_down_gets_rest_a_quick_apology(degraded_bot: str, stalled: StalledActionServer) -> None:
    stalled.stop()
    body = {"sender": "down-1", "message": "what are my rights if the police stop me?"}
    replies, seconds = timed(lambda: post(f"{degraded_bot}/webhooks/rest/webhook", body))
    assert seconds < DEFAULT_TIMEOUT
    assert replies[0]["text"].startswith("Sorry, I cannot answer right now.")
    assert replies[1]["custom"]["topic"] == "service_unavailable"
    assert "not legal advice" in replies[0]["text"]
