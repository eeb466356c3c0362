"""What organizers may see of the bot's use: daily counts, and the questions it could not
answer with personal data scrubbed out. Nothing here holds a sender id or a phone number.

Writing happens on one background thread, so a slow database never delays a reply and a
failing one only costs a count.
"""

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

from bot.dialogue import OUT_OF_SCOPE, Outcome, Turn
from storage import analytics, unanswered
from storage.organizer_db import engine

log = logging.getLogger(__name__)
_writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="usage")


def keeping_unanswered() -> bool:
    """KYR_KEEP_UNANSWERED=false turns off keeping unanswered questions (counts stay)."""
    return os.environ.get("KYR_KEEP_UNANSWERED", "true").lower() not in ("0", "false", "no")


def record(channel: Optional[str], turn: Turn, outcome: Outcome, confidence: Optional[float]) -> None:
    """Count this turn, and keep its scrubbed text if the bot could not tell what was asked."""
    reply = outcome.reply
    fallback = reply.topic == OUT_OF_SCOPE and bool(turn.text.strip()) and not turn.text.startswith("/")
    _writer.submit(_write, channel or "unknown", turn, reply.topic, reply.language, reply.jurisdiction, fallback, confidence)


def _write(
    channel: str, turn: Turn, topic: str, language: str, jurisdiction: Optional[str], fallback: bool, confidence: Optional[float]
) -> None:
    try:
        database = engine()
        analytics.count_turn(database, channel, language, topic, jurisdiction or "", fallback)
        if fallback and keeping_unanswered():
            unanswered.record(database, channel, language, jurisdiction, turn.text, turn.best_guess, confidence)
    except Exception:  # noqa: BLE001 - usage records must never break answering
        log.warning("could not record usage", exc_info=True)
