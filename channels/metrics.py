"""Prometheus metrics of the channels, labelled only with values from closed sets.

People who write to this bot may be undocumented, so no metric carries message text,
a phone number or a conversation id: every label value is a channel name, a language
code or topic id of the knowledge base, or a fixed failure reason. Anything else is
counted as "other", so no client can create new series by what it sends.

The metrics live on their own registry, not prometheus_client's global one, so tests
can build a fresh `Metrics` without colliding with the server's.
"""

from functools import lru_cache
from typing import Any, Collection, Dict, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bot.dialogue import OUT_OF_SCOPE
from storage.kb_versions import live_knowledge_base

CONTENT_TYPE = CONTENT_TYPE_LATEST
OTHER = "other"
CHANNELS = ("rest", "twilio", "widget")
# The apology's topic (bot.compose.Composer.unavailable); not a knowledge-base topic.
SERVICE_UNAVAILABLE = "service_unavailable"
NLU_FALLBACK = "nlu_fallback"
TIMEOUT = "timeout"
ERROR = "error"
NO_REPLY = "no_reply"
FALLBACK_REASONS = (NLU_FALLBACK, TIMEOUT, ERROR, NO_REPLY)
# From a quick NLU answer (~0.05 s) to the apology deadline (KYR_ANSWER_TIMEOUT, 5 s
# by default) and beyond, for operators who raise it.
ANSWER_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0)


def closed(value: Any, allowed: Collection[str]) -> str:
    """`value` if it is one of `allowed`, else "other"."""
    return value if isinstance(value, str) and value in allowed else OTHER


class Metrics:
    """The bot's counters and histogram, on a registry of their own."""

    def __init__(self, languages: Iterable[str], topics: Iterable[str]) -> None:
        self.languages = frozenset(languages)
        self.topics = frozenset(topics) | {SERVICE_UNAVAILABLE}
        self.registry = CollectorRegistry()
        self.messages = Counter(
            "kyr_messages_total",
            "User messages answered, by channel and the reply's language and topic.",
            ["channel", "language", "topic"],
            registry=self.registry,
        )
        self.answer_seconds = Histogram(
            "kyr_answer_seconds",
            "Seconds from receiving a user message to having its answer (or giving up).",
            ["channel"],
            buckets=ANSWER_BUCKETS,
            registry=self.registry,
        )
        self.fallbacks = Counter(
            "kyr_fallbacks_total",
            "Messages not answered on topic: the NLU was unsure, or the bot failed and apologised.",
            ["channel", "reason"],
            registry=self.registry,
        )
        self.signature_failures = Counter(
            "kyr_signature_failures_total",
            "Twilio webhook requests refused for a missing or wrong signature.",
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "kyr_rate_limited_total",
            "Messages refused because their sender or address was over the rate limit.",
            ["channel"],
            registry=self.registry,
        )
        # Series that exist from the start read as 0 instead of missing on dashboards.
        for channel in CHANNELS:
            self.answer_seconds.labels(channel)
            self.rate_limited.labels(channel)
            for reason in FALLBACK_REASONS:
                self.fallbacks.labels(channel, reason)

    def answered(self, channel: str, payload: Dict[str, Any]) -> None:
        """Count one answered message by its reply's payload (the `custom` Rasa collected)."""
        channel = closed(channel, CHANNELS)
        topic = closed(payload.get("topic"), self.topics)
        self.messages.labels(channel, closed(payload.get("language"), self.languages), topic).inc()
        if topic == OUT_OF_SCOPE:
            self.fallbacks.labels(channel, NLU_FALLBACK).inc()

    def took(self, channel: str, seconds: float) -> None:
        """Record how long one message took to answer."""
        self.answer_seconds.labels(closed(channel, CHANNELS)).observe(seconds)

    def failed(self, channel: str, reason: str) -> None:
        """Count a turn that produced no answer (the channel then apologises)."""
        self.fallbacks.labels(closed(channel, CHANNELS), closed(reason, FALLBACK_REASONS)).inc()

    def limited(self, channel: str) -> None:
        """Count a message refused for the rate limit."""
        self.rate_limited.labels(closed(channel, CHANNELS)).inc()

    def bad_signature(self) -> None:
        """Count a Twilio request refused for its signature."""
        self.signature_failures.inc()

    def exposition(self) -> bytes:
        """Every metric in Prometheus's text format."""
        return generate_latest(self.registry)


@lru_cache(maxsize=1)
def metrics() -> Metrics:
    """This process's metrics, labelled with the knowledge base's languages and topics."""
    kb = live_knowledge_base()
    return Metrics(kb.languages, kb.topics)
