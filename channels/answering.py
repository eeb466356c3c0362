"""Run one message through Rasa with a deadline, and what to say when that fails.

Rasa waits up to 300 s for the action server, and when the action fails it logs the
error and sends nothing. A person texting about ICE at the door must not get silence
or a Twilio timeout: after `KYR_ANSWER_TIMEOUT` seconds (default 5), or when the turn
produced no text, the channel sends a short apology with the legal-help contact in
the person's language instead.
"""

import asyncio
import logging
import os
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot.compose import Composer, Reply
from bot.dialogue import default_dialogue
from storage.kb_versions import live_knowledge_base
from bot.kb.model import ENGLISH, KnowledgeBase
from channels.metrics import ERROR, NO_REPLY, TIMEOUT, metrics

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 5.0


def answer_timeout() -> float:
    """Seconds a channel waits for the bot's answer (KYR_ANSWER_TIMEOUT)."""
    try:
        return max(0.5, float(os.environ.get("KYR_ANSWER_TIMEOUT", DEFAULT_TIMEOUT)))
    except ValueError:
        return DEFAULT_TIMEOUT


async def run_turn(
    on_new_message: Callable[[UserMessage], Awaitable[Any]],
    message: UserMessage,
    collector: CollectingOutputChannel,
    channel: str,
) -> List[Dict[str, Any]]:
    """The bot's messages for one user message; empty if it failed or ran out of time."""
    started = time.monotonic()
    failure: Optional[str] = None
    try:
        await asyncio.wait_for(on_new_message(message), answer_timeout())
    except asyncio.TimeoutError:
        logger.error("%s channel: no answer within %.1f s; sending the apology", channel, answer_timeout())
        failure = TIMEOUT
    except Exception:
        # The exception type only: the message text must not reach the logs.
        logger.error("%s channel: message handling failed; sending the apology", channel, exc_info=False)
        failure = ERROR
    else:
        if not any(m.get("text") for m in collector.messages):
            logger.error("%s channel: the turn produced no reply (action server down?); sending the apology", channel)
            failure = NO_REPLY
    metrics().took(channel, time.monotonic() - started)
    if failure:
        # The apology the channel sends instead is counted by Fallback.apology.
        metrics().failed(channel, failure)
        return []
    metrics().answered(channel, reply_payload(collector.messages))
    return collector.messages


def reply_payload(collected: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The first reply's metadata (topic, language, ...) among collected messages, or {}."""
    return next((m["custom"] for m in collected if isinstance(m.get("custom"), dict)), {})


class Fallback:
    """Replies a channel makes itself, in the language of the message it could not pass on;
    apologies are counted in the metrics as answers with the topic "service_unavailable"."""

    def __init__(self, channel: str, kb: Optional[KnowledgeBase] = None) -> None:
        self._kb = kb
        self.channel = channel

    @property
    def kb(self) -> KnowledgeBase:
        """The knowledge base it was given, else the newest published one."""
        return self._kb or live_knowledge_base()

    def language_of(self, text: str, default: Optional[str]) -> str:
        """The message's language if it is clear, else the channel's default, else English."""
        # The dialogue's detector, built once per process and shared by every channel.
        found = default_dialogue().detector.detect(text)
        if found and found.confident and found.language in self.kb.languages:
            return found.language
        return default if default in self.kb.languages else ENGLISH

    def apology(self, text: str, default_language: Optional[str], jurisdiction: Any = None) -> Reply:
        """Sorry, try again, and the legal-help contact (the place's own if it is known)."""
        reply = Composer(self.kb).unavailable(self.language_of(text, default_language), jurisdiction)
        metrics().answered(self.channel, reply.metadata())
        return reply


def as_collected(reply: Reply, recipient: str) -> List[Dict[str, Any]]:
    """A reply in the shape Rasa's collecting channel gives: the text, then its payload."""
    return [{"recipient_id": recipient, "text": reply.text}, {"recipient_id": recipient, "custom": reply.metadata()}]
