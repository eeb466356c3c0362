"""What organizers may see of the bot's use: daily counts, and the questions it could not
answer with personal data scrubbed out. Nothing here holds a sender id or a phone number.

Writing happens on one background thread, so a slow database never delays a reply and a
failing one only costs counts. Counts are gathered for up to a second and written in one
transaction: one write per message cost the action server more time than answering it
(README, "Measured speed"). A process killed outright loses at most that second's counts.
"""

import logging
import os
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import List, NamedTuple, Optional

from bot.dialogue import OUT_OF_SCOPE, Outcome, Turn
from storage import analytics, unanswered
from storage.analytics import TurnKind
from storage.organizer_db import engine

log = logging.getLogger(__name__)
BATCH_SECONDS = 1.0
# Its worker is joined at interpreter exit, so a clean shutdown writes what is pending.
_writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="usage")
_pending: List["_Record"] = []
_pending_lock = threading.Lock()


class _Record(NamedTuple):
    kind: TurnKind
    turn: Turn
    confidence: Optional[float]


def keeping_unanswered() -> bool:
    """KYR_KEEP_UNANSWERED=false turns off keeping unanswered questions (counts stay)."""
    return os.environ.get("KYR_KEEP_UNANSWERED", "true").lower() not in ("0", "false", "no")


def record(channel: Optional[str], turn: Turn, outcome: Outcome, confidence: Optional[float]) -> None:
    """Count this turn, and keep its scrubbed text if the bot could not tell what was asked."""
    reply = outcome.reply
    fallback = reply.topic == OUT_OF_SCOPE and bool(turn.text.strip()) and not turn.text.startswith("/")
    kind = TurnKind(channel or "unknown", reply.language, reply.topic, reply.jurisdiction, fallback)
    with _pending_lock:
        _pending.append(_Record(kind, turn, confidence))
        first = len(_pending) == 1
    if first:
        _writer.submit(_write_pending)


def _write_pending() -> None:
    time.sleep(BATCH_SECONDS)
    with _pending_lock:
        batch = list(_pending)
        _pending.clear()
    try:
        database = engine()
        analytics.count_turns(database, Counter(r.kind for r in batch))
        if keeping_unanswered():
            for r in batch:
                if r.kind.fallback:
                    unanswered.record(database, r.kind.channel, r.kind.language, r.kind.jurisdiction, r.turn.text, r.turn.best_guess, r.confidence)
    except Exception:  # noqa: BLE001 - usage records must never break answering
        log.warning("could not record usage", exc_info=True)
