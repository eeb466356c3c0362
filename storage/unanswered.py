"""What the bot could not answer, kept without personal data, for organizers to review.

Every text is scrubbed (bot.scrub) before it is stored: no code path writes a message
as it was sent. Rows are deleted after a short retention (KYR_UNANSWERED_RETENTION_DAYS,
30 by default), and organizers can delete them sooner, once they have acted on them.

Organizers see the questions grouped: the same question asked many ways ("can police ask
my status in orlando", "Can the police ask about my status in Orlando?") is one group
with a count, so the most asked gaps in the knowledge base come first.
"""

import math
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Set, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.scrub import scrub
from bot.text import fold
from storage.organizer_db import now, unanswered

MAX_TEXT_CHARS = 500
DEFAULT_RETENTION_DAYS = 30.0
RETENTION_ENV = "KYR_UNANSWERED_RETENTION_DAYS"

# Character-trigram Jaccard similarity at or above which two questions are one group.
# Measured on this bot's questions: rewordings of one question score 0.5-0.7 ("can police
# ask my status in orlando" / "Can the police ask about my status in Orlando?" 0.70, "how
# do I renew DACA" / "how can i renew my DACA?" 0.52), while different questions sharing
# a frame stay below ("can my landlord call ice" / "can my boss call ice" 0.45, "what is
# a u visa" / "what is daca" 0.33). The same question about another city scores about
# 0.66 and is grouped: organizers see every jurisdiction a group was asked about.
SIMILARITY_THRESHOLD = 0.5

_WORDS = re.compile(r"[^\W_]+")
# Cut at the limit must not leave half a placeholder ("[addr").
_PARTIAL_PLACEHOLDER = re.compile(r"\[[a-z-]*$")


@dataclass(frozen=True)
class Group:
    """Similar unanswered questions: one text to show for all of them, and what they share."""

    text: str  # the most recent member's (scrubbed) text
    count: int
    languages: Tuple[str, ...]
    jurisdictions: Tuple[str, ...]  # those known; questions asked without one add nothing
    last_seen: datetime
    ids: Tuple[int, ...]


def retention_days() -> float:
    """How many days unanswered questions are kept: KYR_UNANSWERED_RETENTION_DAYS, or 30."""
    raw = os.environ.get(RETENTION_ENV, "").strip()
    if not raw:
        return DEFAULT_RETENTION_DAYS
    try:
        days = float(raw)
    except ValueError:
        raise ValueError(f"{RETENTION_ENV} must be a number of days, not {raw!r}") from None
    # A typo must not turn the retention job into one that keeps everything, or nothing.
    if not (days > 0 and math.isfinite(days)):
        raise ValueError(f"{RETENTION_ENV} must be a finite number of days above 0, not {raw!r}")
    return days


def record(
    engine: Engine,
    channel: str,
    language: str,
    jurisdiction: Optional[str],
    text: str,
    best_guess: Optional[str],
    confidence: Optional[float],
    at: Optional[datetime] = None,
) -> int:
    """Keep a question the bot could not answer, scrubbed of personal data; its row id."""
    # Scrubbed before it is cut, so a cut cannot split a phone number and keep half of it.
    kept = scrub(text)
    if len(kept) > MAX_TEXT_CHARS:
        kept = _PARTIAL_PLACEHOLDER.sub("", kept[:MAX_TEXT_CHARS])
    row = {
        "at": _utc(at or now()),
        "channel": channel,
        "language": language,
        "jurisdiction": jurisdiction or None,
        "text": kept,
        "best_guess": best_guess,
        "confidence": confidence,
    }
    with engine.begin() as connection:
        return int(connection.execute(unanswered.insert().values(**row)).inserted_primary_key[0])


def grouped(engine: Engine, since: Optional[datetime] = None, limit: int = 200) -> List[Group]:
    """Unanswered questions grouped by similarity, most asked first (then most recent)."""
    query = sa.select(unanswered).order_by(unanswered.c.at.desc(), unanswered.c.id.desc())
    if since is not None:
        query = query.where(unanswered.c.at >= _utc(since))
    with engine.connect() as connection:
        rows = connection.execute(query).mappings().all()

    # Greedy: each question, newest first, joins the most similar group whose first
    # (newest) question is similar enough, else starts a group. Comparing with that one
    # question, not with every member, keeps a group from drifting away from its text.
    # The inverted index only finds the groups sharing a trigram; the score is exact.
    members: List[List[Mapping[str, Any]]] = []
    shapes: List[FrozenSet[str]] = []
    index: Dict[str, List[int]] = {}
    for row in rows:
        shape = _trigrams(row["text"])
        shared: Dict[int, int] = {}
        for gram in shape:
            for group in index.get(gram, ()):
                shared[group] = shared.get(group, 0) + 1
        best, best_score = -1, 0.0
        for group, common in shared.items():
            score = common / (len(shape) + len(shapes[group]) - common)
            if score > best_score:
                best, best_score = group, score
        if best >= 0 and best_score >= SIMILARITY_THRESHOLD:
            members[best].append(row)
            continue
        members.append([row])
        shapes.append(shape)
        for gram in shape:
            index.setdefault(gram, []).append(len(shapes) - 1)

    groups = [_group(rows_in_group) for rows_in_group in members]
    groups.sort(key=lambda group: (-group.count, -group.last_seen.timestamp()))
    return groups[:limit]


def delete_older_than(engine: Engine, days: Optional[float] = None) -> int:
    """The retention job: delete questions older than `days` (default retention_days()); how many."""
    cutoff = now() - timedelta(days=retention_days() if days is None else days)
    with engine.begin() as connection:
        return connection.execute(unanswered.delete().where(unanswered.c.at < _utc(cutoff))).rowcount


def delete(engine: Engine, ids: Iterable[int]) -> int:
    """Delete these questions (an organizer has dealt with them); how many were deleted."""
    wanted = sorted({int(row_id) for row_id in ids})
    if not wanted:
        return 0
    with engine.begin() as connection:
        return connection.execute(unanswered.delete().where(unanswered.c.id.in_(wanted))).rowcount


def _normalized(text: str) -> str:
    """Case, accents and punctuation removed: "¿La policía...?" reads as "la policia"."""
    return " ".join(_WORDS.findall(fold(text)))


def _trigrams(text: str) -> FrozenSet[str]:
    padded = f" {_normalized(text)} "
    grams = frozenset(padded[i : i + 3] for i in range(len(padded) - 2))
    # Nothing but punctuation or emoji: only the very same text is the same question.
    return grams or frozenset({text.strip()})


def _group(rows: List[Mapping[str, Any]]) -> Group:
    languages: Set[str] = {row["language"] for row in rows}
    jurisdictions: Set[str] = {row["jurisdiction"] for row in rows if row["jurisdiction"]}
    return Group(
        text=rows[0]["text"],
        count=len(rows),
        languages=tuple(sorted(languages)),
        jurisdictions=tuple(sorted(jurisdictions)),
        last_seen=max(_utc(row["at"]) for row in rows),
        ids=tuple(row["id"] for row in rows),
    )


def _utc(moment: datetime) -> datetime:
    """Timezone-aware UTC. SQLite hands back naive datetimes, which this module wrote as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)
