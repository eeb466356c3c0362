"""The organizers' database: published knowledge-base versions, drafts, accounts, audit
log, unanswered questions and daily counts.

SQLite in var/ by default (one machine, nothing to install); PostgreSQL, or any database
SQLAlchemy speaks, when DATABASE_URL is set. Every table is declared here, so one look
shows everything the project keeps about organizers and about what people asked.
"""

import os
from datetime import datetime, timezone
from functools import lru_cache
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError, ProgrammingError

from bot.settings import ROOT

METADATA = sa.MetaData()

kb_versions = sa.Table(
    "kb_versions",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # Who asked for the change and who approved it (a reviewer's name and credential).
    sa.Column("published_by", sa.String(200), nullable=False),
    sa.Column("reviewed_by", sa.String(200), nullable=False),
    sa.Column("reviewer_credential", sa.String(200), nullable=False, default=""),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("restored_from", sa.Integer, nullable=True),
    # The whole knowledge base as JSON: {"jurisdictions/orlando.yml": {...}, ...}.
    sa.Column("documents", sa.Text, nullable=False),
)

kb_drafts = sa.Table(
    "kb_drafts",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("jurisdiction", sa.String(100), nullable=False, index=True),
    sa.Column("summary", sa.Text, nullable=False),
    # The changed documents only, as JSON: {"jurisdictions/orlando.yml": {...}}.
    sa.Column("documents", sa.Text, nullable=False),
    sa.Column("status", sa.String(20), nullable=False, index=True),  # draft | in_review | published | rejected
    sa.Column("author", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("base_version", sa.Integer, nullable=False),
    sa.Column("reviewed_by", sa.String(200), nullable=True),
    sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("review_note", sa.Text, nullable=True),
    sa.Column("published_version", sa.Integer, nullable=True),
)

audit_log = sa.Table(
    "audit_log",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(100), nullable=False),
    sa.Column("target", sa.String(300), nullable=False),
    sa.Column("detail", sa.Text, nullable=False, default=""),
)

organizer_users = sa.Table(
    "organizer_users",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(100), nullable=False, unique=True),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("password_hash", sa.String(300), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),  # editor | reviewer | admin
    # Reviewers: "attorney" or "accredited representative", recorded on each publication.
    sa.Column("credential", sa.String(200), nullable=False, default=""),
    sa.Column("totp_secret", sa.String(64), nullable=True),
    sa.Column("jurisdictions", sa.Text, nullable=False, default="[]"),  # JSON list of ids an editor may change
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
)

organizer_sessions = sa.Table(
    "organizer_sessions",
    METADATA,
    sa.Column("token_hash", sa.String(64), primary_key=True),  # the cookie holds the token, this its SHA-256
    sa.Column("user_id", sa.Integer, nullable=False, index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("second_factor_done", sa.Boolean, nullable=False, default=False),
)

unanswered = sa.Table(
    "unanswered",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("channel", sa.String(40), nullable=False),
    sa.Column("language", sa.String(10), nullable=False),
    sa.Column("jurisdiction", sa.String(100), nullable=True),
    sa.Column("text", sa.Text, nullable=False),  # scrubbed of personal data before it is stored
    sa.Column("best_guess", sa.String(100), nullable=True),
    sa.Column("confidence", sa.Float, nullable=True),
)

nlu_examples = sa.Table(
    "nlu_examples",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("added_by", sa.String(200), nullable=False),
    sa.Column("language", sa.String(10), nullable=False),
    sa.Column("intent", sa.String(100), nullable=False),
    # Written or checked by an organizer from an unanswered question; no personal data.
    sa.Column("text", sa.Text, nullable=False),
)

daily_counts = sa.Table(
    "daily_counts",
    METADATA,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("channel", sa.String(40), primary_key=True),
    sa.Column("language", sa.String(10), primary_key=True),
    sa.Column("topic", sa.String(100), primary_key=True),
    sa.Column("jurisdiction", sa.String(100), primary_key=True),  # "" when none was known
    sa.Column("fallback", sa.Boolean, primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
)


def database_url() -> str:
    """DATABASE_URL, or the embedded default: SQLite in var/kyr.db."""
    return os.environ.get("DATABASE_URL") or f"sqlite:///{ROOT / 'var' / 'kyr.db'}"


@lru_cache(maxsize=8)
def engine(url: Optional[str] = None) -> Engine:
    """One engine per database for the process, with every table created."""
    url = url or database_url()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database:
            os.makedirs(os.path.dirname(os.path.abspath(parsed.database)), exist_ok=True)
        # Several processes (bot server, action server, organizer app) share the file.
        created = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})
        sa.event.listen(created, "connect", _sqlite_pragmas)
    else:
        # Small pool: every replica holds one, and PostgreSQL's limit is shared (see SQL_POOL_SIZE).
        created = sa.create_engine(url, pool_size=2, max_overflow=3, pool_pre_ping=True)
    try:
        METADATA.create_all(created)
    except (IntegrityError, ProgrammingError):
        # Another process (a second replica starting at the same moment) created a table
        # between the check and the CREATE; it exists now, which is all that matters.
        METADATA.create_all(created)
    return created


def _sqlite_pragmas(connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = connection.cursor()
    # Readers (the bot) never wait for the writer (an organizer publishing).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def now() -> datetime:
    """The current time, timezone-aware UTC (what every timestamp column holds)."""
    return datetime.now(timezone.utc)
