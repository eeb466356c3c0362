"""kyr serve prepares the PostgreSQL tracker store before any replica starts."""

import os

import pytest
import sqlalchemy as sa

from bot.settings import ROOT, load_settings
from storage.database import ensure_database

pytestmark = pytest.mark.integration

NAME = "kyr_test_ensure_database"


def test_database_and_events_table_are_created_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRES_DB", NAME)
    saved = dict(os.environ)
    load_settings()
    admin = sa.create_engine("postgresql://postgres@127.0.0.1:5432/test", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{NAME}"'))
    try:
        endpoints = ROOT / "deploy" / "endpoints.production.yml"
        assert ensure_database(endpoints) is True
        assert ensure_database(endpoints) is False
        created = sa.create_engine(f"postgresql://postgres@127.0.0.1:5432/{NAME}")
        assert "events" in sa.inspect(created).get_table_names()
        created.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{NAME}"'))
        admin.dispose()
        os.environ.clear()
        os.environ.update(saved)
