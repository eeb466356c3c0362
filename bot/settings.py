"""Settings read once from the environment, with .env (python-dotenv) filling gaps."""

import math
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from dotenv import load_dotenv

ROOT = Path(__file__).resolve().parents[1]

# The embedded defaults: everything on localhost, SQLite in var/.
DEFAULTS = {
    "RASA_PORT": "5005",
    "ACTION_PORT": "5055",
    "ACTION_ENDPOINT_URL": "http://127.0.0.1:5055/webhook",
    "TRACKER_SQLITE_PATH": "var/tracker.db",
    "KYR_MODEL": "models/kyr.tar.gz",
    # Which stores the bot uses: endpoints.yml is the embedded default (SQLite, in-memory
    # lock); deploy/endpoints.production.yml is PostgreSQL + Redis for several replicas.
    "KYR_ENDPOINTS": "endpoints.yml",
    "POSTGRES_HOST": "127.0.0.1",
    "POSTGRES_PORT": "5432",
    "POSTGRES_DB": "kyr",
    "POSTGRES_USER": "postgres",
    "POSTGRES_PASSWORD": "",
    # Connections per replica (Rasa's defaults, 50 + 100, would let two replicas exhaust
    # PostgreSQL's default limit of 100): replicas x (pool + overflow) must stay below it.
    "SQL_POOL_SIZE": "5",
    "SQL_MAX_OVERFLOW": "5",
    "REDIS_HOST": "127.0.0.1",
    "REDIS_PORT": "6379",
    "REDIS_DB": "1",
    "REDIS_PASSWORD": "",
    "REDIS_KEY_PREFIX": "kyr",
    # Rasa reports usage telemetry unless told not to; this bot sends nothing anywhere.
    "RASA_TELEMETRY_ENABLED": "false",
    "KYR_BIND_HOST": "127.0.0.1",
    # The organizer app (organizer/): loopback only; put it behind HTTPS to reach it from elsewhere.
    "ORGANIZER_PORT": "5006",
    # SMS / WhatsApp (channels/twilio): the URL Twilio calls, as Twilio sees it.
    "TWILIO_PUBLIC_BASE_URL": "http://127.0.0.1:5005",
    "TWILIO_VALIDATE_SIGNATURE": "true",
    "KYR_SMS_NUMBERS": "sms_numbers.yml",
    "KYR_SMS_STATE_DB": "var/sms_state.db",
    "KYR_SMS_RATE_LIMIT": "20/600",
    "KYR_OPERATOR_NAME": "a community organization",
    "KYR_OPERATOR_CONTACT": "",
    # Bot servers check their model file this often and load a retrained one without a
    # restart (server/model_watch.py); 0 turns it off.
    "KYR_MODEL_WATCH_SECONDS": "10",
    # Seconds a channel waits for an answer before it sends the apology (channels/answering.py).
    "KYR_ANSWER_TIMEOUT": "5",
    # Web widget (channels/widget.py): sites allowed to embed it, and its per-client limit.
    "KYR_WIDGET_ORIGINS": "",
    "KYR_WIDGET_RATE_LIMIT": "30/60",
    # `kyr retention` deletes conversations whose last message is older than this.
    "KYR_RETENTION_DAYS": "30",
    # GET /metrics answers this machine only, or a request with "Authorization: Bearer <this>".
    "KYR_METRICS_TOKEN": "",
}

# Secrets that, when not set, are generated once per machine so the bot runs locally
# with no accounts; a real deployment sets its own (TWILIO_AUTH_TOKEN from the Twilio console).
LOCAL_SECRETS = ROOT / "var" / "local-secrets.env"
GENERATED_SECRETS = ("TWILIO_AUTH_TOKEN", "KYR_SENDER_HMAC_KEY")


@dataclass(frozen=True)
class Settings:
    """Where things run and live."""

    rasa_port: int
    action_port: int
    action_endpoint_url: str
    tracker_sqlite_path: Path
    model: Path
    retention_days: int
    endpoints: Path
    organizer_port: int


def load_settings() -> Settings:
    """Read settings: the real environment first, then .env, then the defaults.

    The values are also put into os.environ, because Rasa expands ${VAR} in
    endpoints.yml and credentials.yml from there.
    """
    load_dotenv(ROOT / ".env", override=False)
    _ensure_local_secrets()
    load_dotenv(LOCAL_SECRETS, override=False)
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
    # How long a conversation's lock ticket stays valid (Rasa's default: 60 s). A replica
    # killed while holding one blocks that person until it expires; a turn never outlives
    # KYR_ANSWER_TIMEOUT (the channel cancels it), so twice that, at least 10 s.
    os.environ.setdefault("TICKET_LOCK_LIFETIME", str(max(10, math.ceil(2 * float(os.environ["KYR_ANSWER_TIMEOUT"])))))
    return Settings(
        rasa_port=int(os.environ["RASA_PORT"]),
        action_port=int(os.environ["ACTION_PORT"]),
        action_endpoint_url=os.environ["ACTION_ENDPOINT_URL"],
        tracker_sqlite_path=ROOT / os.environ["TRACKER_SQLITE_PATH"],
        model=ROOT / os.environ["KYR_MODEL"],
        retention_days=int(os.environ["KYR_RETENTION_DAYS"]),
        endpoints=ROOT / os.environ["KYR_ENDPOINTS"],
        organizer_port=int(os.environ["ORGANIZER_PORT"]),
    )


def _ensure_local_secrets() -> None:
    """Create var/local-secrets.env with random values for secrets nobody set."""
    missing = [key for key in GENERATED_SECRETS if not os.environ.get(key)]
    if not missing or LOCAL_SECRETS.exists():
        return
    LOCAL_SECRETS.parent.mkdir(parents=True, exist_ok=True)
    LOCAL_SECRETS.write_text("".join(f"{key}={secrets.token_hex(32)}\n" for key in GENERATED_SECRETS), encoding="utf-8")
    LOCAL_SECRETS.chmod(0o600)


def using_generated(key: str) -> bool:
    """Whether a secret's value is the locally generated one (fine locally, not for Twilio)."""
    if not LOCAL_SECRETS.exists():
        return False
    generated = dict(line.split("=", 1) for line in LOCAL_SECRETS.read_text(encoding="utf-8").split())
    return os.environ.get(key) == generated.get(key)
