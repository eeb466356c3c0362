"""Servers under load: start-up timing, memory, metrics, and the bot's own topology.

The kyr bot runs as the test suite runs it (bot/processes.py): one action server and one
bot server on free loopback ports, the embedded defaults (SQLite tracker store in a temp
dir), with generated secrets and rate limits raised far above the offered load, so the
benchmark measures the bot and not the limiter.
"""

import os
import re
import secrets
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable, Dict, Iterator, List, Optional

from bot import processes

# Set in every child's environment: no telemetry, no TensorFlow chatter.
QUIET_ENV = {"RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
PUBLIC_BASE_URL = "https://bot.example.org"
LOAD_ORIGIN = "https://load.example.org"
NO_LIMIT = "1000000"
# Apologies the channels sent instead of an answer (channels/answering.py).
APOLOGY_REASONS = ("timeout", "error", "no_reply")


@dataclass
class Server:
    """One started process: its name, its handle and how long it took to answer."""

    name: str
    process: subprocess.Popen
    startup_seconds: float


@dataclass
class Running:
    """The processes of one target and the URL the load goes to."""

    url: str
    servers: List[Server] = field(default_factory=list)
    env: Dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        """Stop every process, the last started first."""
        processes.stop(*(s.process for s in reversed(self.servers)))


def child_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """Our environment with the quiet settings and `extra` on top, for a child process."""
    return {**os.environ, **QUIET_ENV, **(extra or {})}


def timed(name: str, start: Callable[[], subprocess.Popen]) -> Server:
    """Run a start function that returns once /health answers; time it."""
    began = time.monotonic()
    process = start()
    return Server(name, process, round(time.monotonic() - began, 2))


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (VmRSS in /proc), in MB."""
    total_kb = 0
    for each in [pid, *_children(pid)]:
        try:
            status = Path(f"/proc/{each}/status").read_text(encoding="utf-8")
        except OSError:
            continue
        found = re.search(r"^VmRSS:\s+(\d+)\s+kB", status, re.MULTILINE)
        total_kb += int(found.group(1)) if found else 0
    return round(total_kb / 1024, 1)


def _children(pid: int) -> List[int]:
    found: List[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found + [g for c in found for g in _children(c)]


def memory(running: Running) -> Dict[str, float]:
    """RSS in MB of each process of a target, by name."""
    return {s.name: rss_mb(s.process.pid) for s in running.servers}


def apologies(url: str) -> Optional[float]:
    """How many apologies the bot server has sent so far (from /metrics), or None."""
    try:
        with urllib.request.urlopen(f"{url}/metrics", timeout=5) as answer:
            return count_apologies(answer.read().decode("utf-8"))
    except OSError:
        return None


def count_apologies(exposition: str) -> float:
    """The sum of kyr_fallbacks_total over the apology reasons, from Prometheus text."""
    pattern = r'^kyr_fallbacks_total\{[^}]*reason="(%s)"[^}]*\}\s+([0-9.e+]+)' % "|".join(APOLOGY_REASONS)
    return sum(float(m.group(2)) for m in re.finditer(pattern, exposition, re.MULTILINE))


def kyr_env(workdir: Path) -> Dict[str, str]:
    """Settings for a benchmark bot: its own stores in `workdir`, fresh secrets, no limits."""
    return {
        **QUIET_ENV,
        "KYR_ENDPOINTS": "endpoints.yml",
        "TRACKER_SQLITE_PATH": str(workdir / "tracker.db"),
        # The knowledge base and usage counts too: never the developer's var/kyr.db.
        "DATABASE_URL": f"sqlite:///{workdir / 'kyr.db'}",
        "TWILIO_AUTH_TOKEN": secrets.token_hex(16),
        "KYR_SENDER_HMAC_KEY": secrets.token_hex(16),
        "TWILIO_PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "TWILIO_VALIDATE_SIGNATURE": "true",
        "KYR_SMS_NUMBERS": str(workdir / "no-numbers.yml"),
        "KYR_SMS_STATE_DB": str(workdir / "sms_state.db"),
        "KYR_SMS_RATE_LIMIT": f"{NO_LIMIT}/600",
        "KYR_WIDGET_ORIGINS": LOAD_ORIGIN,
        "KYR_WIDGET_RATE_LIMIT": f"{NO_LIMIT}/60",
    }


@contextmanager
def kyr_bot(model: Path, workdir: Path, output: IO[bytes]) -> Iterator[Running]:
    """One action server and one bot server (the embedded defaults) on free ports."""
    action_port, rasa_port = processes.free_port(), processes.free_port()
    env = {**kyr_env(workdir), "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{action_port}/webhook"}
    running = Running(url=f"http://127.0.0.1:{rasa_port}", env=env)
    try:
        running.servers.append(timed("action server", lambda: processes.start_action_server(action_port, output, env=env)))
        running.servers.append(timed("bot server", lambda: processes.start_rasa_server(model, rasa_port, output, env=env)))
        yield running
    finally:
        running.stop()
