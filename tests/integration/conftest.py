"""Start the real action server and `rasa run` once for the integration tests."""

import json
import os
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from bot import processes
from bot.settings import ROOT, load_settings

MODEL = ROOT / "models" / "kyr.tar.gz"
TWILIO_TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC_BASE_URL = "https://bot.example.org"
BOUND_NUMBER = "+14075550100"
ARABIC_NUMBER = "+13125550100"
RATE_LIMIT = 10
WIDGET_RATE_LIMIT = 15  # per conversation; the channel allows ten times this per address
# A second local site that embeds the widget (tests/integration/test_widget_browser.py);
# its port is fixed before the server starts so it can be listed as an allowed origin,
# and kept in the environment because test modules import this file a second time.
HOST_SITE_PORT = int(os.environ.setdefault("KYR_TEST_HOST_SITE_PORT", str(processes.free_port())))
HOST_SITE = f"http://127.0.0.1:{HOST_SITE_PORT}"
SERVER_LOG = ROOT / "results" / "integration-servers.log"


@pytest.fixture(scope="session")
def model() -> Path:
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make train` (make test does)")
    return MODEL


@pytest.fixture(scope="session")
def rasa_url(model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    action_port, rasa_port = processes.free_port(), processes.free_port()
    db = tmp_path_factory.mktemp("tracker") / "tracker.db"
    SERVER_LOG.parent.mkdir(exist_ok=True)
    state = tmp_path_factory.mktemp("sms")
    numbers = state / "numbers.yml"
    numbers.write_text(
        f'numbers:\n  "{BOUND_NUMBER}": {{jurisdiction: orlando, language: es}}\n'
        f'  "{ARABIC_NUMBER}": {{jurisdiction: chicago, language: ar}}\n',
        encoding="utf-8",
    )
    os.environ.update(
        {
            "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{action_port}/webhook",
            "TRACKER_SQLITE_PATH": str(db),
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "KYR_SENDER_HMAC_KEY": "test-sender-key",
            "TWILIO_PUBLIC_BASE_URL": PUBLIC_BASE_URL,
            "TWILIO_VALIDATE_SIGNATURE": "true",
            "KYR_SMS_NUMBERS": str(numbers),
            "KYR_SMS_STATE_DB": str(state / "sms_state.db"),
            "KYR_SMS_RATE_LIMIT": f"{RATE_LIMIT}/600",
            "KYR_OPERATOR_NAME": "Test Community Center",
            "KYR_OPERATOR_CONTACT": "+1 555 555 0199",
            "KYR_WIDGET_ORIGINS": f"{HOST_SITE}, https://partner.example.org",
            "KYR_WIDGET_RATE_LIMIT": f"{WIDGET_RATE_LIMIT}/60",
        }
    )
    load_settings()
    actions = rasa = None
    with open(SERVER_LOG, "wb") as log:
        try:
            actions = processes.start_action_server(action_port, output=log)
            rasa = processes.start_rasa_server(model, rasa_port, output=log)
            yield f"http://127.0.0.1:{rasa_port}"
        finally:
            processes.stop(rasa, actions)


@pytest.fixture(scope="session")
def tracker_db(rasa_url: str) -> Path:
    """The SQLite file the running Rasa server keeps conversations in."""
    return Path(os.environ["TRACKER_SQLITE_PATH"])


@pytest.fixture
def server_log(rasa_url: str) -> Path:
    """Everything the Rasa server and the action server printed so far."""
    return SERVER_LOG


def post_json(url: str, body: Any) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"null")


@pytest.fixture
def send(rasa_url: str):
    """Send a message to the REST channel; return (text, custom payload)."""

    def _send(sender: str, message: str, metadata: Dict[str, Any] = None) -> Dict[str, Any]:
        body: Dict[str, Any] = {"sender": sender, "message": message}
        if metadata:
            body["metadata"] = metadata
        replies: List[Dict[str, Any]] = post_json(f"{rasa_url}/webhooks/rest/webhook", body)
        text = "\n".join(r["text"] for r in replies if "text" in r)
        custom = next((r["custom"] for r in replies if "custom" in r), {})
        return {"text": text, "custom": custom}

    return _send


@pytest.fixture
def sms(rasa_url: str):
    """Text the running bot as Twilio does (signed for the public URL); returns SmsReply."""
    from bot.sms.simulator import send, twilio_params

    def _sms(body: str, sender: str, to: str = "+15555550100", sid: str = None, signature: str = None, media: int = 0):
        params = twilio_params(body, sender, to, sid=sid, media=media)
        return send(rasa_url, PUBLIC_BASE_URL, TWILIO_TOKEN, params, signature=signature)

    return _sms
