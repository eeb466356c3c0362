"""Draft -> review -> published: how a change reaches the bot.

An editor's change is a draft holding the whole changed documents; submitting it asks
for review; a reviewer (an attorney or accredited representative) approves it, which
publishes a new knowledge-base version with the reviewer's name and credential. A draft
made on an older version is published only if the documents it changes were not changed
since, so nobody silently overwrites someone else's published work.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.kb.loader import Documents
from storage.kb_versions import KnowledgeBaseStore, checked
from storage.organizer_db import audit_log, kb_drafts, now

DRAFT, IN_REVIEW, PUBLISHED, REJECTED = "draft", "in_review", "published", "rejected"


class WorkflowError(ValueError):
    """A step that is not allowed now; the message says why."""


@dataclass(frozen=True)
class Draft:
    """A proposed change to some documents of the knowledge base."""

    id: int
    jurisdiction: str
    summary: str
    documents: Documents
    status: str
    author: str
    created_at: datetime
    base_version: int
    reviewed_by: Optional[str]
    review_note: Optional[str]
    published_version: Optional[int]


def _draft(row: Any) -> Draft:
    return Draft(
        id=row.id,
        jurisdiction=row.jurisdiction,
        summary=row.summary,
        documents=json.loads(row.documents),
        status=row.status,
        author=row.author,
        created_at=row.created_at,
        base_version=row.base_version,
        reviewed_by=row.reviewed_by,
        review_note=row.review_note,
        published_version=row.published_version,
    )


class Workflow:
    """Drafts and their review, over the organizers' database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store = KnowledgeBaseStore(engine)

    def _audit(self, connection: Any, actor: str, action: str, target: str, detail: str = "") -> None:
        connection.execute(audit_log.insert().values(at=now(), actor=actor, action=action, target=target, detail=detail))

    def propose(self, author: str, jurisdiction: str, summary: str, changed: Documents, submit: bool = True) -> int:
        """Record a change as a draft (submitted for review unless submit=False); return its id.

        The change is checked against the live version first, so a draft that could not
        be published is refused now, with the reasons, not later at review.
        """
        base_version, documents = self.store.documents()
        checked({**documents, **changed})
        with self.engine.begin() as connection:
            draft_id = connection.execute(
                kb_drafts.insert().values(
                    jurisdiction=jurisdiction,
                    summary=summary,
                    documents=json.dumps(changed, ensure_ascii=False),
                    status=IN_REVIEW if submit else DRAFT,
                    author=author,
                    created_at=now(),
                    base_version=base_version,
                )
            ).inserted_primary_key[0]
            self._audit(connection, author, "submit draft" if submit else "save draft", f"draft {draft_id} ({jurisdiction})", summary)
        return draft_id

    def get(self, draft_id: int) -> Draft:
        """One draft (KeyError if there is none)."""
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(kb_drafts).where(kb_drafts.c.id == draft_id)).first()
        if row is None:
            raise KeyError(draft_id)
        return _draft(row)

    def listing(self, statuses: Optional[List[str]] = None, limit: int = 100) -> List[Draft]:
        """Drafts, newest first, optionally only those in some statuses."""
        query = sa.select(kb_drafts).order_by(kb_drafts.c.id.desc()).limit(limit)
        if statuses:
            query = query.where(kb_drafts.c.status.in_(statuses))
        with self.engine.connect() as connection:
            return [_draft(row) for row in connection.execute(query)]

    def submit(self, draft_id: int, actor: str) -> None:
        """Ask for review of a saved draft."""
        self._move(draft_id, actor, {DRAFT}, IN_REVIEW, "submit draft")

    def reject(self, draft_id: int, reviewer: str, note: str) -> None:
        """Send a draft back; it is kept, with the reviewer's note."""
        self._move(draft_id, reviewer, {IN_REVIEW}, REJECTED, "reject draft", note, reviewed_by=reviewer, reviewed_at=now(), review_note=note)

    def _move(self, draft_id: int, actor: str, allowed: set, status: str, action: str, detail: str = "", **values: Any) -> None:
        draft = self.get(draft_id)
        if draft.status not in allowed:
            raise WorkflowError(f"draft {draft_id} is {draft.status.replace('_', ' ')}")
        with self.engine.begin() as connection:
            connection.execute(kb_drafts.update().where(kb_drafts.c.id == draft_id).values(status=status, **values))
            self._audit(connection, actor, action, f"draft {draft_id} ({draft.jurisdiction})", detail)

    def publish(self, draft_id: int, reviewer: str, credential: str) -> int:
        """Approve a draft under review and make it live; return the new version id."""
        draft = self.get(draft_id)
        if draft.status != IN_REVIEW:
            raise WorkflowError(f"draft {draft_id} is {draft.status.replace('_', ' ')}, not waiting for review")
        latest, documents = self.store.documents()
        if latest != draft.base_version:
            _, base = self.store.documents(draft.base_version)
            changed_since = [key for key in draft.documents if base.get(key) != documents.get(key)]
            if changed_since:
                raise WorkflowError(
                    f"{', '.join(changed_since)} changed since this draft was made (version {draft.base_version}); "
                    "reject it and make the change again on the current version"
                )
        version = self.store.publish(
            {**documents, **draft.documents},
            published_by=draft.author,
            reviewed_by=reviewer,
            summary=f"draft {draft_id}: {draft.summary}",
            reviewer_credential=credential,
        )
        with self.engine.begin() as connection:
            connection.execute(
                kb_drafts.update()
                .where(kb_drafts.c.id == draft_id)
                .values(status=PUBLISHED, reviewed_by=reviewer, reviewed_at=now(), published_version=version)
            )
        return version

    def changes(self, draft: Draft) -> List[Dict[str, Any]]:
        """What a draft changes, text by text, against the version it was made on."""
        _, base = self.store.documents(draft.base_version)
        out: List[Dict[str, Any]] = []
        for key, new in draft.documents.items():
            out.extend(_text_changes(key, base.get(key), new))
        return out


def _texts(doc: Optional[Dict[str, Any]]) -> Dict[str, str]:
    """Every text of a jurisdiction document, keyed by what it is, for a readable diff."""
    if not doc:
        return {}
    if "messages" in doc:
        return {f"message {k}": v if isinstance(v, str) else v["text"] for k, v in doc["messages"].items()}
    out = {f"name ({lang})": ", ".join(names) for lang, names in doc.get("names", {}).items()}
    out["aliases"] = ", ".join(doc.get("aliases", []))
    for fact in doc.get("facts", []):
        out[f"{fact['id']} (en)"] = fact["text"]["en"]
        for lang, translation in fact.get("translations", {}).items():
            out[f"{fact['id']} ({lang})"] = translation["text"]
            out[f"{fact['id']} ({lang}) review"] = translation["review"]
        for name in ("as_of", "last_verified", "review_by", "status"):
            out[f"{fact['id']} {name}"] = str(fact.get(name, ""))
        out[f"{fact['id']} sources"] = "; ".join(s["title"] for s in fact.get("sources", []))
    for contact in doc.get("contacts", []):
        out[f"contact {contact['id']}"] = f"{contact['name']['en']} {contact.get('url', '')} {contact.get('phone', '')}".strip()
    return out


def _text_changes(key: str, old: Optional[Dict[str, Any]], new: Dict[str, Any]) -> List[Dict[str, Any]]:
    before, after = _texts(old), _texts(new)
    return [
        {"document": key, "what": what, "old": before.get(what, ""), "new": after.get(what, "")}
        for what in list(dict.fromkeys(list(before) + list(after)))
        if before.get(what, "") != after.get(what, "")
    ]
