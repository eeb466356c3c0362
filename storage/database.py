"""Create the PostgreSQL database the tracker store names, if it does not exist yet.

Rasa can do this itself (`login_db`), but several replicas starting at once race to
create it and the loser crashes; `kyr serve` calls this once, before any replica starts.
"""

from pathlib import Path

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore

from storage.retention import tracker_store_url


def ensure_database(endpoints_file: Path) -> bool:
    """Create the tracker store's PostgreSQL database and tables if missing; True if the
    database was created.

    The tables too: replicas starting at once on a new database race to create them, and
    the loser logs a UniqueViolation.
    """
    url = tracker_store_url(endpoints_file)
    if url is None or url.get_backend_name() != "postgresql" or not url.database:
        return False
    engine = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}).scalar()
            if not exists:
                connection.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
    finally:
        engine.dispose()
    tables = sa.create_engine(url)
    try:
        SQLTrackerStore.Base.metadata.create_all(tables)
    finally:
        tables.dispose()
    return not exists
