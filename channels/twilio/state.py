"""What the SMS channel must remember between messages, keyed only by hashed ids.

- opt-outs (STOP), so the bot stays silent until START;
- MessageSids seen in the last 24 hours, so a retried webhook is answered once;
- the unsent pages of a long answer, for MORE.

SQLite, one small file: the embedded default. Entries expire on their own as people write;
`kyr retention` (storage/retention.py) expires them for people who never write again.
Opt-outs never expire: they last until START.
"""

import hashlib
import sqlite3
import time
from pathlib import Path
from typing import Dict, List, Optional

SEEN_TTL = 24 * 3600
PAGES_TTL = 24 * 3600

_SCHEMA = """
CREATE TABLE IF NOT EXISTS opt_out (sender TEXT PRIMARY KEY, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS seen_message (sid TEXT PRIMARY KEY, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS pending_page (sender TEXT NOT NULL, position INTEGER NOT NULL, body TEXT NOT NULL,
                                         at REAL NOT NULL, PRIMARY KEY (sender, position));
"""


def _sid_key(sid: str) -> str:
    return hashlib.sha256(sid.encode("utf-8")).hexdigest()


class ChannelState:
    """Opt-outs, seen messages and pending pages in one SQLite file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        # Each write commits on its own: WAL syncs one log per commit where a rollback
        # journal syncs several files, and synchronous=FULL keeps an opt-out safe from
        # a power cut too.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def first_delivery(self, sid: str, now: Optional[float] = None) -> bool:
        """Record a MessageSid; False if it was already seen in the last 24 hours."""
        now = now or time.time()
        self._db.execute("DELETE FROM seen_message WHERE at < ?", (now - SEEN_TTL,))
        cursor = self._db.execute("INSERT OR IGNORE INTO seen_message (sid, at) VALUES (?, ?)", (_sid_key(sid), now))
        return cursor.rowcount == 1

    def opted_out(self, sender: str) -> bool:
        """Whether this sender said STOP and not START since."""
        return self._db.execute("SELECT 1 FROM opt_out WHERE sender = ?", (sender,)).fetchone() is not None

    def set_opted_out(self, sender: str, opted_out: bool) -> None:
        """Record STOP (True) or START (False)."""
        if opted_out:
            self._db.execute("INSERT OR REPLACE INTO opt_out (sender, at) VALUES (?, ?)", (sender, time.time()))
        else:
            self._db.execute("DELETE FROM opt_out WHERE sender = ?", (sender,))

    def save_pages(self, sender: str, pages: List[str]) -> None:
        """Replace the pages waiting for MORE."""
        self.forget_pages(sender)
        now = time.time()
        self._db.executemany(
            "INSERT INTO pending_page (sender, position, body, at) VALUES (?, ?, ?, ?)",
            [(sender, i, body, now) for i, body in enumerate(pages)],
        )

    def next_page(self, sender: str) -> Optional[str]:
        """Take the next waiting page, if any."""
        self._db.execute("DELETE FROM pending_page WHERE at < ?", (time.time() - PAGES_TTL,))
        row = self._db.execute(
            "SELECT position, body FROM pending_page WHERE sender = ? ORDER BY position LIMIT 1", (sender,)
        ).fetchone()
        if row is None:
            return None
        self._db.execute("DELETE FROM pending_page WHERE sender = ? AND position = ?", (sender, row[0]))
        return str(row[1])

    def forget_pages(self, sender: str) -> None:
        """Drop the pages waiting for MORE."""
        self._db.execute("DELETE FROM pending_page WHERE sender = ?", (sender,))

    def purge_expired(self, now: Optional[float] = None, dry_run: bool = False) -> Dict[str, int]:
        """Delete seen MessageSids and pending pages past their windows; return rows per table.

        The channel already expires these lazily, but only when someone writes again;
        this makes the windows hold for people who never come back. Opt-outs are never
        expired: STOP must be honoured until the person sends START.
        """
        now = now or time.time()
        counts = {}
        for table, ttl in (("seen_message", SEEN_TTL), ("pending_page", PAGES_TTL)):
            if dry_run:
                cursor = self._db.execute(f"SELECT COUNT(*) FROM {table} WHERE at < ?", (now - ttl,))
                counts[table] = int(cursor.fetchone()[0])
            else:
                counts[table] = self._db.execute(f"DELETE FROM {table} WHERE at < ?", (now - ttl,)).rowcount
        return counts

    def opt_out_count(self) -> int:
        """How many senders are opted out (kept until START)."""
        return int(self._db.execute("SELECT COUNT(*) FROM opt_out").fetchone()[0])

    def close(self) -> None:
        """Close the database file."""
        self._db.close()
