"""Settings read once from the environment, with .env (python-dotenv) filling gaps."""

import os
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
    # Rasa reports usage telemetry unless told not to; this bot sends nothing anywhere.
    "RASA_TELEMETRY_ENABLED": "false",
}


@dataclass(frozen=True)
class Settings:
    """Where things run and live."""

    rasa_port: int
    action_port: int
    action_endpoint_url: str
    tracker_sqlite_path: Path
    model: Path


def load_settings() -> Settings:
    """Read settings: the real environment first, then .env, then the defaults.

    The values are also put into os.environ, because Rasa expands ${VAR} in
    endpoints.yml and credentials.yml from there.
    """
    load_dotenv(ROOT / ".env", override=False)
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
    return Settings(
        rasa_port=int(os.environ["RASA_PORT"]),
        action_port=int(os.environ["ACTION_PORT"]),
        action_endpoint_url=os.environ["ACTION_ENDPOINT_URL"],
        tracker_sqlite_path=ROOT / os.environ["TRACKER_SQLITE_PATH"],
        model=ROOT / os.environ["KYR_MODEL"],
    )
