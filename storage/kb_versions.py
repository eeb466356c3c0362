"""The published knowledge base: every version kept in the database, the newest one live.

The YAML files in kb/ seed the database on first start. After that organizers change
the knowledge base through the organizer app, each publication becomes a new version,
and the running bot picks the newest version up within seconds (`LiveKnowledgeBase`),
without retraining or restarting: jurisdictions are resolved from the knowledge base at
run time, so even a new city and its aliases need no new model.
"""

import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Callable, List, Optional, Tuple

import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.kb.loader import DEFAULT_ROOT, Documents, KBError, KnowledgeBase, read_documents, validate_documents
from storage.organizer_db import audit_log, engine, kb_versions, now

log = logging.getLogger(__name__)

SEED_AUTHOR = "kb/ files in the repository"


@dataclass(frozen=True)
class VersionInfo:
    """One published version, without its documents."""

    id: int
    created_at: datetime
    published_by: str
    reviewed_by: str
    reviewer_credential: str
    summary: str
    restored_from: Optional[int]


def _info(row: sa.engine.Row) -> VersionInfo:
    return VersionInfo(
        id=row.id,
        created_at=row.created_at,
        published_by=row.published_by,
        reviewed_by=row.reviewed_by,
        reviewer_credential=row.reviewer_credential,
        summary=row.summary,
        restored_from=row.restored_from,
    )


def checked(documents: Documents) -> KnowledgeBase:
    """The knowledge base the documents describe; KBError listing every problem if invalid."""
    kb, report = validate_documents(documents)
    if kb is None:
        raise KBError(report.errors)
    return kb


class KnowledgeBaseStore:
    """Published versions of the knowledge base in the organizers' database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def latest_id(self) -> Optional[int]:
        """The id of the live version (None before the first seed)."""
        with self.engine.connect() as connection:
            return connection.execute(sa.select(sa.func.max(kb_versions.c.id))).scalar()

    def documents(self, version_id: Optional[int] = None) -> Tuple[int, Documents]:
        """A version's documents (the live one by default)."""
        version_id = version_id or self.latest_id()
        with self.engine.connect() as connection:
            raw = connection.execute(sa.select(kb_versions.c.documents).where(kb_versions.c.id == version_id)).scalar()
        if raw is None:
            raise KeyError(f"no knowledge-base version {version_id}")
        return version_id, json.loads(raw)

    def info(self, version_id: int) -> VersionInfo:
        """What is recorded about one version."""
        columns = [c for c in kb_versions.c if c.name != "documents"]
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(*columns).where(kb_versions.c.id == version_id)).first()
        if row is None:
            raise KeyError(f"no knowledge-base version {version_id}")
        return _info(row)

    def history(self, limit: int = 100) -> List[VersionInfo]:
        """The newest versions first."""
        columns = [c for c in kb_versions.c if c.name != "documents"]
        query = sa.select(*columns).order_by(kb_versions.c.id.desc()).limit(limit)
        with self.engine.connect() as connection:
            return [_info(row) for row in connection.execute(query)]

    def publish(
        self,
        documents: Documents,
        published_by: str,
        reviewed_by: str,
        summary: str,
        reviewer_credential: str = "",
        restored_from: Optional[int] = None,
        version_id: Optional[int] = None,
    ) -> int:
        """Check the documents and make them the live version; return its id.

        Nothing invalid is ever published: KBError lists what to fix.
        """
        checked(documents)
        values = dict(
            created_at=now(),
            published_by=published_by,
            reviewed_by=reviewed_by,
            reviewer_credential=reviewer_credential,
            summary=summary,
            restored_from=restored_from,
            documents=json.dumps(documents, ensure_ascii=False, sort_keys=True),
        )
        if version_id is not None:
            values["id"] = version_id
        with self.engine.begin() as connection:
            new_id = connection.execute(kb_versions.insert().values(**values)).inserted_primary_key[0]
            connection.execute(
                audit_log.insert().values(
                    at=values["created_at"],
                    actor=reviewed_by,
                    action="restore" if restored_from else "publish",
                    target=f"knowledge base version {new_id}",
                    detail=summary,
                )
            )
        log.info("knowledge base version %s published", new_id)
        return new_id

    def restore(self, version_id: int, actor: str, credential: str = "") -> int:
        """Publish an earlier version again, as a new version; return the new id."""
        _, documents = self.documents(version_id)
        return self.publish(
            documents, actor, actor, f"restored version {version_id}", credential, restored_from=version_id
        )

    def seed(self, root: Path) -> Optional[int]:
        """Publish the YAML files as version 1 if the database holds no version yet.

        Several processes may start at once; the first insert of id 1 wins and the
        others find it there.
        """
        if self.latest_id() is not None:
            return None
        documents, report = read_documents(root)
        if report.errors:
            raise KBError(report.errors)
        try:
            version = self.publish(documents, SEED_AUTHOR, SEED_AUTHOR, f"seeded from {root}", version_id=1)
        except IntegrityError:
            return None
        if self.engine.dialect.name == "postgresql":
            # An explicit id does not advance PostgreSQL's sequence; the next version would get 1 again.
            with self.engine.begin() as connection:
                connection.execute(sa.text("SELECT setval(pg_get_serial_sequence('kb_versions', 'id'), 1)"))
        return version

    def problems(self) -> List[str]:
        """What the live version fails of this code's checks (a newer release may require a
        message or field that a version published under an older one lacks); [] if none."""
        _, documents = self.documents()
        return validate_documents(documents)[1].errors

    def import_files(self, root: Path, actor: str) -> int:
        """Publish the YAML files as a new version (a developer's change from version control)."""
        documents, report = read_documents(root)
        if report.errors:
            raise KBError(report.errors)
        return self.publish(documents, actor, actor, f"imported from {root}")


def export_documents(documents: Documents, root: Path) -> List[Path]:
    """Write documents back as YAML files under root (for version control); return the paths."""
    written = []
    for key, doc in sorted(documents.items()):
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100), encoding="utf-8")
        written.append(path)
    return written


class LiveKnowledgeBase:
    """The newest published knowledge base, checked for a newer version at most every
    `interval` seconds, so a publication reaches every process within that time."""

    def __init__(self, store: KnowledgeBaseStore, interval: float = 2.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self._version: Optional[int] = None
        self._kb: Optional[KnowledgeBase] = None

    def current(self) -> Tuple[int, KnowledgeBase]:
        """The live version id and knowledge base.

        If the database cannot be read, the version already loaded keeps answering:
        a bot that answers from a seconds-old version beats one that does not answer.
        """
        with self._lock:
            if self._kb is None or self._clock() - self._checked_at >= self.interval:
                self._refresh()
            assert self._kb is not None and self._version is not None
            return self._version, self._kb

    def _refresh(self) -> None:
        try:
            latest = self.store.latest_id()
        except sa.exc.SQLAlchemyError:
            if self._kb is None:
                raise
            log.warning("knowledge-base database unreachable; answering from version %s", self._version)
            return
        self._checked_at = self._clock()
        if latest is not None and latest != self._version:
            version, documents = self.store.documents(latest)
            self._kb = checked(documents)
            self._version = version
            log.info("knowledge base version %s loaded", version)


@lru_cache(maxsize=1)
def live() -> LiveKnowledgeBase:
    """This process's view of the published knowledge base, seeded from kb/ on first start.

    KYR_KB_REFRESH_SECONDS (default 2) bounds how stale it may be.
    """
    store = KnowledgeBaseStore(engine())
    store.seed(DEFAULT_ROOT)
    return LiveKnowledgeBase(store, interval=float(os.environ.get("KYR_KB_REFRESH_SECONDS", "2")))


def live_knowledge_base() -> KnowledgeBase:
    """The newest published knowledge base."""
    return live().current()[1]
