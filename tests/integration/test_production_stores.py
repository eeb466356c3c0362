"""The production configuration, chosen by environment only: two bot server replicas
sharing conversations in PostgreSQL and the per-conversation lock in Redis, with the
real action server. Needs the machine's PostgreSQL (127.0.0.1:5432) and the redis-server program."""

import json
import os
import secrets
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from bot import processes
from bot.settings import ROOT
from tests.integration.conftest import SERVER_LOG

psycopg2 = pytest.importorskip("psycopg2")

pytestmark = pytest.mark.integration

ADMIN_DSN = os.environ.get("KYR_TEST_POSTGRES_ADMIN_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=test")


def admin(sql: str) -> None:
    connection = psycopg2.connect(ADMIN_DSN)
    connection.autocommit = True
    try:
        connection.cursor().execute(sql)
    finally:
        connection.close()


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """A fresh PostgreSQL database for this module, dropped afterwards."""
    name = f"kyr_prod_test_{secrets.token_hex(4)}"
    try:
        admin(f"CREATE DATABASE {name}")
    except psycopg2.OperationalError as error:
        pytest.fail(f"PostgreSQL is needed at {ADMIN_DSN!r}: {error}")
    yield name
    admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class RedisServer:
    """A Redis of this module's own on a free port, so it can be stopped and started again."""

    def __init__(self) -> None:
        self.port = processes.free_port()
        self.process: Optional[subprocess.Popen] = None

    def start(self) -> None:
        """Start (or restart) it, empty, and wait until it answers."""
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True).stdout.strip() != b"PONG":
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.1)

    def stop(self) -> None:
        """Stop it: from now on the lock store refuses connections."""
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def replicas(rasa_url: str, model: Path, database: str, redis: RedisServer) -> Iterator[List[str]]:
    """Two bot servers with KYR_ENDPOINTS=deploy/endpoints.production.yml."""
    env = {
        "KYR_ENDPOINTS": "deploy/endpoints.production.yml",
        "POSTGRES_DB": database,
        "REDIS_PORT": str(redis.port),
        "REDIS_KEY_PREFIX": f"kyrtest{secrets.token_hex(4)}",
    }
    ports = [processes.free_port(), processes.free_port()]
    started: List[subprocess.Popen] = []
    errors: List[BaseException] = []

    def start(port: int) -> None:
        try:
            with open(SERVER_LOG, "ab") as log:
                started.append(processes.start_rasa_server(model, port, output=log, env=env))
        except BaseException as error:  # reported below, after both have tried
            errors.append(error)

    threads = [threading.Thread(target=start, args=(port,)) for port in ports]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        if errors:
            raise errors[0]
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        processes.stop(*started)


def rest(base: str, sender: str, message: str) -> Tuple[str, Dict[str, Any]]:
    request = urllib.request.Request(
        f"{base}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": message}).encode("utf-8"),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        replies = json.loads(response.read())
    text = "\n\n".join(r["text"] for r in replies if r.get("text"))
    return text, next((r["custom"] for r in replies if r.get("custom")), {})


def events(database: str, sender: str) -> List[Tuple[str, str]]:
    """(type_name, intent or action) of a conversation's stored events, in order."""
    connection = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname=database)
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT type_name, intent_name, action_name FROM events WHERE sender_id = %s ORDER BY id", (sender,))
        return [(t, i or a or "") for t, i, a in cursor.fetchall()]
    finally:
        connection.close()


def test_conversations_live_in_postgresql_and_either_replica_continues_them(replicas: List[str], database: str) -> None:
    sender = f"prod-{secrets.token_hex(6)}"
    _, first = rest(replicas[0], sender, "hello, I live in Chicago")
    assert first["jurisdiction"] == "chicago"
    # The other replica reads the same conversation from PostgreSQL: the city is remembered.
    text, second = rest(replicas[1], sender, "does the jail hold people for ICE?")
    assert second["jurisdiction"] == "chicago"
    assert "Chicago" in text
    kinds = [kind for kind, _ in events(database, sender)]
    assert kinds.count("user") == 2 and "slot" in kinds


def test_delete_my_data_erases_the_rows_in_postgresql(replicas: List[str], database: str) -> None:
    sender = f"prod-{secrets.token_hex(6)}"
    rest(replicas[0], sender, "what if ICE comes to my door in Madison?")
    assert events(database, sender)
    _, payload = rest(replicas[1], sender, "delete my data")
    assert payload.get("erase") is True
    assert events(database, sender) == []


def test_replicas_reconnect_after_postgresql_restarts(replicas: List[str], database: str) -> None:
    sender = f"prod-{secrets.token_hex(6)}"
    rest(replicas[0], sender, "hello, I am in Orlando")
    version = sorted(os.listdir("/etc/postgresql"))[0]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True, timeout=60)
    deadline = time.monotonic() + 30
    answered = None
    while time.monotonic() < deadline and answered is None:
        _, payload = rest(replicas[1], sender, "what about DACA?")
        # The first attempt may meet a connection the restart killed: it gets the apology.
        if payload.get("topic") == "daca":
            answered = payload
        else:
            time.sleep(1)
    assert answered is not None, "the replica did not recover from the PostgreSQL restart"
    assert answered["jurisdiction"] == "orlando"


def test_redis_down_gets_the_apology_and_the_bot_recovers_when_it_is_back(replicas: List[str], redis: RedisServer) -> None:
    sender = f"prod-{secrets.token_hex(6)}"
    rest(replicas[0], sender, "hola, vivo en Chicago")
    redis.stop()
    try:
        started = time.monotonic()
        text, payload = rest(replicas[0], sender, "la policia me puede preguntar mi estatus?")
        # No lock, no processing: the person is told so at once, in their language.
        assert payload["topic"] == "service_unavailable"
        assert "Lo siento" in text
        assert time.monotonic() - started < 5
    finally:
        redis.start()
    _, payload = rest(replicas[1], sender, "la policia me puede preguntar mi estatus?")
    assert payload["topic"] == "police_status_questions"
    assert payload["jurisdiction"] == "chicago"
