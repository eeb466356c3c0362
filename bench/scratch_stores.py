"""The production stores for one benchmark run: a PostgreSQL database and a Redis key
prefix of its own, on this machine's servers, removed afterwards.

Settings go into os.environ, where the servers started afterwards (bot/processes.py)
and Rasa's ${VAR} expansion of the endpoints file find them.
"""

import os
from contextlib import contextmanager
from typing import Dict, Iterator, Optional

import redis
import sqlalchemy as sa
from sqlalchemy.engine import URL

from bot.settings import ROOT, load_settings
from storage.database import ensure_database
from storage.retention import tracker_store_url

PRODUCTION_ENDPOINTS = "deploy/endpoints.production.yml"


def _redis() -> redis.Redis:
    return redis.Redis(
        host=os.environ["REDIS_HOST"], port=int(os.environ["REDIS_PORT"]), db=int(os.environ["REDIS_DB"]),
        password=os.environ["REDIS_PASSWORD"] or None, socket_timeout=3,
    )


def _admin(url: URL) -> sa.engine.Engine:
    # CREATE and DROP DATABASE cannot run inside a transaction, nor connected to that database.
    return sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")


def unreachable() -> Optional[str]:
    """Why the production stores (PostgreSQL and Redis, from POSTGRES_* and REDIS_*) cannot
    be used, or None if both answer."""
    load_settings()
    url = URL.create(
        "postgresql", username=os.environ["POSTGRES_USER"], password=os.environ["POSTGRES_PASSWORD"] or None,
        host=os.environ["POSTGRES_HOST"], port=int(os.environ["POSTGRES_PORT"]),
    )
    engine = _admin(url)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        _redis().ping()
    except (sa.exc.SQLAlchemyError, redis.RedisError) as error:
        return f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    finally:
        engine.dispose()
    return None


@contextmanager
def production_stores(name: str) -> Iterator[Dict[str, str]]:
    """Conversations in a new PostgreSQL database `name` (the knowledge base and usage
    counts too, as `make run-cluster` keeps them), locks in Redis under the key prefix
    `name`; the database is dropped and the keys deleted on exit. Yields the settings."""
    settings = {"KYR_ENDPOINTS": PRODUCTION_ENDPOINTS, "POSTGRES_DB": name, "REDIS_KEY_PREFIX": name}
    os.environ.update(settings)
    load_settings()
    url = tracker_store_url(ROOT / PRODUCTION_ENDPOINTS)
    assert url is not None, f"{PRODUCTION_ENDPOINTS} names no SQL tracker store"
    settings["DATABASE_URL"] = url.render_as_string(hide_password=False)
    os.environ["DATABASE_URL"] = settings["DATABASE_URL"]
    ensure_database(ROOT / PRODUCTION_ENDPOINTS)
    try:
        yield settings
    finally:
        engine = _admin(url)
        try:
            with engine.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            engine.dispose()
        client = _redis()
        for key in client.scan_iter(match=f"{name}*"):
            client.delete(key)
