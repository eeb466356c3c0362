"""Usage counts for organizers: how many turns per day, by channel, language, topic and place.

Only counters are kept: one row per day and combination of channel, language, topic,
jurisdiction and whether the bot fell back, with a count. No text, no sender, no time
of day, so nothing here can point to a person. count_turn() accepts identifiers only
(a topic id, a language code...) and refuses anything that looks like free text, so a
message can never end up in this table by mistake.
"""

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Dict, List, Mapping, NamedTuple, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from storage.organizer_db import daily_counts, now

DIMENSIONS = ("topic", "jurisdiction", "language", "channel")

_IDENTIFIER = re.compile(r"[A-Za-z0-9_.:-]+")
_KEY = ("day", "channel", "language", "topic", "jurisdiction", "fallback")
_COUNT = daily_counts.c["count"]


class TurnKind(NamedTuple):
    """What is counted of a turn: identifiers only."""

    channel: str
    language: str
    topic: str
    jurisdiction: Optional[str]
    fallback: bool


@dataclass(frozen=True)
class Totals:
    """Turns over a period, in all and by each dimension (most frequent value first)."""

    turns: int
    fallbacks: int
    by: Dict[str, List[Tuple[str, int]]]  # dimension -> [(value, turns), ...]

    @property
    def fallback_share(self) -> float:
        """The share of turns the bot could not answer (0.0 when there were none)."""
        return self.fallbacks / self.turns if self.turns else 0.0


def count_turn(
    engine: Engine,
    channel: str,
    language: str,
    topic: str,
    jurisdiction: Optional[str],
    fallback: bool,
    day: Optional[date] = None,
) -> None:
    """Add one turn to its day's counter (UTC day by default)."""
    count_turns(engine, {TurnKind(channel, language, topic, jurisdiction, fallback): 1}, day)


def count_turns(engine: Engine, counts: Mapping[TurnKind, int], day: Optional[date] = None) -> None:
    """Add turns of several kinds to their day's counters in one transaction."""
    day = day or now().date()
    dialect = engine.dialect.name
    if dialect == "postgresql":
        insert = postgresql.insert
    elif dialect == "sqlite":
        insert = sqlite.insert
    else:
        raise NotImplementedError(f"usage counts need PostgreSQL or SQLite, not {dialect}")
    with engine.begin() as connection:
        for kind, turns in counts.items():
            row = {
                "day": day,
                "channel": _identifier("channel", kind.channel),
                "language": _identifier("language", kind.language),
                "topic": _identifier("topic", kind.topic),
                "jurisdiction": _identifier("jurisdiction", kind.jurisdiction) if kind.jurisdiction else "",
                "fallback": bool(kind.fallback),
                "count": turns,
            }
            # One atomic statement per counter: processes writing the same counter at once
            # never lose a turn, where a read-then-write would.
            statement = insert(daily_counts).values(**row)
            connection.execute(statement.on_conflict_do_update(index_elements=list(_KEY), set_={"count": _COUNT + turns}))


def daily_series(engine: Engine, dimension: str, since_days: int = 30) -> Dict[str, List[Tuple[date, int]]]:
    """Turns per day for each value of a dimension over the last `since_days` days, today included.

    Every series has every day of the period, 0 where there were no turns, so series
    line up on one chart. Turns without a known jurisdiction are under "".
    """
    if dimension not in DIMENSIONS:
        raise ValueError(f"dimension must be one of {', '.join(DIMENSIONS)}, not {dimension!r}")
    days = _days(since_days)
    column = daily_counts.c[dimension]
    query = (
        sa.select(column, daily_counts.c.day, sa.func.sum(_COUNT))
        .where(daily_counts.c.day >= days[0], daily_counts.c.day <= days[-1])
        .group_by(column, daily_counts.c.day)
    )
    counts: Dict[str, Dict[date, int]] = defaultdict(dict)
    with engine.connect() as connection:
        for value, day, total in connection.execute(query):
            counts[value][day] = int(total)
    return {value: [(day, per_day.get(day, 0)) for day in days] for value, per_day in sorted(counts.items())}


def fallback_share(engine: Engine, since_days: int = 30) -> List[Tuple[date, float]]:
    """The share of turns the bot could not answer, for each day of the period that had turns."""
    days = _days(since_days)
    fallbacks = sa.func.sum(sa.case((daily_counts.c.fallback, _COUNT), else_=0))
    query = (
        sa.select(daily_counts.c.day, fallbacks, sa.func.sum(_COUNT))
        .where(daily_counts.c.day >= days[0], daily_counts.c.day <= days[-1])
        .group_by(daily_counts.c.day)
        .order_by(daily_counts.c.day)
    )
    with engine.connect() as connection:
        # A day without turns has no share, rather than a misleading 0.
        return [(day, int(failed) / int(total)) for day, failed, total in connection.execute(query) if total]


def totals(engine: Engine, since_days: int = 30) -> Totals:
    """Turns over the last `since_days` days, today included: in all, fallbacks, and by dimension."""
    days = _days(since_days)
    keys = [daily_counts.c[dimension] for dimension in DIMENSIONS] + [daily_counts.c.fallback]
    query = (
        sa.select(*keys, sa.func.sum(_COUNT).label("turns"))
        .where(daily_counts.c.day >= days[0], daily_counts.c.day <= days[-1])
        .group_by(*keys)
    )
    by: Dict[str, Dict[str, int]] = {dimension: defaultdict(int) for dimension in DIMENSIONS}
    turns = fallbacks = 0
    with engine.connect() as connection:
        for row in connection.execute(query).mappings():
            count = int(row["turns"])
            turns += count
            fallbacks += count if row["fallback"] else 0
            for dimension in DIMENSIONS:
                by[dimension][row[dimension]] += count
    ranked = {
        dimension: sorted(values.items(), key=lambda item: (-item[1], item[0])) for dimension, values in by.items()
    }
    return Totals(turns=turns, fallbacks=fallbacks, by=ranked)


def _identifier(field: str, value: str) -> str:
    """The value, if it is an identifier; message text must never be counted."""
    limit = daily_counts.c[field].type.length
    if not isinstance(value, str) or len(value) > limit or not _IDENTIFIER.fullmatch(value):
        raise ValueError(f"{field} must be an identifier of 1 to {limit} letters, digits and _.:-")
    return value


def _days(since_days: int) -> List[date]:
    """The last `since_days` UTC days, oldest first, ending today."""
    if since_days < 1:
        raise ValueError(f"since_days must be at least 1, not {since_days}")
    today = now().date()
    return [today - timedelta(days=offset) for offset in range(since_days - 1, -1, -1)]
