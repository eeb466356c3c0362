"""Whether each reply of the correctness run belongs to its own conversation and turn.

Pure functions, no servers (bench/correctness.py drives the bot). The bot does not echo
what it was sent, so a reply is recognised by its metadata: every conversation has its
own language and place and asks its topics in its own order, so a reply carrying another
conversation's language or place was crossed, and one carrying another of its own turns'
topic came out of order. Two conversations can share a language and place (there are
more conversations than pairs); they then ask their topics in different orders, so a
reply crossed between them shows as out of order. Over SMS no metadata comes back: a
reply is known by its text, among the texts the run's conversations can get (composed
by bench/correctness.py); the apology there tells only its language.
"""

from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from bench.latency import _ms, percentile

APOLOGY_TOPIC = "service_unavailable"  # the channel's apology (channels/answering.py)
OK, APOLOGY, LOST, DUPLICATED, CROSSED, OUT_OF_ORDER, UNRECOGNISED = (
    "answered", "apologies", "lost", "duplicated", "crossed", "out of order", "unrecognised"
)
OUTCOMES = (OK, APOLOGY, LOST, DUPLICATED, CROSSED, OUT_OF_ORDER, UNRECOGNISED)
STORED_TWICE, NOT_STORED = "stored twice", "not stored"
# Any of these, in any number, fails the run.
FAILURES = (DUPLICATED, CROSSED, OUT_OF_ORDER, STORED_TWICE)

Place = Tuple[str, Optional[str]]  # (language, jurisdiction)


@dataclass(frozen=True)
class Meta:
    """What a reply is: its topic, language and jurisdiction."""

    topic: str
    language: str
    jurisdiction: Optional[str]

    @property
    def place(self) -> Place:
        """Its (language, jurisdiction)."""
        return self.language, self.jurisdiction


@dataclass(frozen=True)
class Conversation:
    """One simulated person: channel, sender id (the phone number for SMS), context, topics by turn."""

    channel: str
    sender: str
    language: str
    jurisdiction: str
    topics: Tuple[str, ...]

    @property
    def place(self) -> Place:
        """Its (language, jurisdiction)."""
        return self.language, self.jurisdiction


@dataclass(frozen=True)
class Answer:
    """One turn's HTTP answer, reduced to what is checked.

    `replies` holds one entry per reply set in the answer: what that reply could be
    (one Meta over REST; over SMS, every Meta whose text it is, none if unknown).
    """

    status: int  # 0 when no HTTP answer came
    replies: Tuple[FrozenSet[Meta], ...] = ()
    latency: float = 0.0
    foreign_recipient: bool = False  # REST: a message addressed to another conversation


def plan(
    count: int, turns: int, channels: Sequence[str], languages: Sequence[str], jurisdictions: Sequence[str],
    topics: Sequence[str], tag: str,
) -> List[Conversation]:
    """`count` conversations: every (language, jurisdiction) pair once before any repeats,
    a pair's later conversations asking the topics in another rotation; channels alternate
    so each channel gets every language and every jurisdiction."""
    pairs = len(languages) * len(jurisdictions)
    conversations = []
    for i in range(count):
        pair, rotation = i % pairs, i // pairs
        language, jurisdiction = languages[pair % len(languages)], jurisdictions[pair // len(languages)]
        # Shifted by one per block of languages: plain i % 2 would give SMS only odd languages.
        channel = channels[(i + i // len(languages)) % len(channels)]
        sender = f"+1555{int(tag, 16) % 1000:03d}{i:04d}" if channel == "sms" else f"correctness-{tag}-{i:04d}"
        order = tuple(topics[(rotation + k) % len(topics)] for k in range(turns))
        conversations.append(Conversation(channel, sender, language, jurisdiction, order))
    return conversations


def rest_answer(status: int, body: Any, sender: str, latency: float) -> Answer:
    """A REST channel answer: one reply set per `custom` payload, after its text (which
    Rasa's collecting channel splits into one message per paragraph). Text without its
    payload or a payload without text is not an answer; a message addressed to another
    sender is noted."""
    messages = [m for m in body if isinstance(m, dict)] if status == 200 and isinstance(body, list) else []
    customs: List[Dict[str, Any]] = []
    texts = 0  # text messages since the last payload
    complete = True
    for message in messages:
        if isinstance(message.get("custom"), dict):
            customs.append(message["custom"])
            complete = complete and texts > 0
            texts = 0
        elif message.get("text"):
            texts += 1
    if not complete or texts:
        customs = []
    foreign = any(m.get("recipient_id") != sender for m in messages)
    replies = tuple(frozenset({Meta(str(c.get("topic")), str(c.get("language")), c.get("jurisdiction"))}) for c in customs)
    return Answer(status, replies, latency, foreign)


def sms_answer(status: int, messages: Sequence[str], known: Mapping[str, FrozenSet[Meta]], latency: float) -> Answer:
    """An SMS answer (TwiML <Message> texts), each text looked up among the texts the bot
    can send in this run (`known`: text -> what it is)."""
    replies = tuple(known.get(text, frozenset()) for text in messages) if status == 200 else ()
    return Answer(status, replies, latency)


def classify(conversation: Conversation, turn: int, answer: Answer, places: Set[Place]) -> str:
    """One of OUTCOMES for the answer to a conversation's turn; `places` are all the
    run's conversations' (language, jurisdiction) pairs."""
    if answer.status != 200 or not answer.replies:
        return LOST
    if answer.foreign_recipient:
        return CROSSED
    if len(answer.replies) > 1:
        return DUPLICATED
    candidates = answer.replies[0]
    own = conversation.place
    if Meta(conversation.topics[turn], *own) in candidates:
        return OK
    if Meta(APOLOGY_TOPIC, *own) in candidates:
        return APOLOGY
    if any(m.place == own and m.topic in conversation.topics for m in candidates):
        return OUT_OF_ORDER
    if any(m.place != own and m.place in places for m in candidates):
        return CROSSED
    return UNRECOGNISED


def calibrated(custom: Mapping[str, Any], language: str, topic: str) -> bool:
    """Whether a message sent with only its language as context was understood as meant:
    the topic asked, in that language, and no place taken from its words."""
    return (
        custom.get("topic") == topic and custom.get("language") == language
        and custom.get("jurisdiction") is None and "unlisted_place" not in custom
    )


def summarize(
    conversations: Sequence[Conversation], answers: Mapping[str, Sequence[Answer]], stored: Mapping[str, int], wall: float
) -> Dict[str, Any]:
    """Counts by outcome, with the tracker store's count of each conversation's questions
    (`stored`, by sender) against those sent; latency percentiles (ms) and the rate of
    answered messages over the wall time."""
    places = {c.place for c in conversations}
    counts = dict.fromkeys((*OUTCOMES, STORED_TWICE, NOT_STORED), 0)
    latencies: List[float] = []
    for conversation in conversations:
        turns = answers[conversation.sender]
        for turn, answer in enumerate(turns):
            counts[classify(conversation, turn, answer, places)] += 1
            if answer.status == 200:
                latencies.append(answer.latency)
        kept = stored.get(conversation.sender, 0)
        counts[STORED_TWICE] += max(0, kept - len(turns))
        counts[NOT_STORED] += max(0, len(turns) - kept)
    answered = counts[OK] + counts[APOLOGY]
    return {
        "conversations": len(conversations),
        "messages": sum(len(c.topics) for c in conversations),
        **counts,
        "wall_seconds": round(wall, 1),
        "rate": round(answered / wall, 1) if wall > 0 else 0.0,
        "p50_ms": _ms(percentile(latencies, 50)),
        "p95_ms": _ms(percentile(latencies, 95)),
    }


def by_channel(
    conversations: Sequence[Conversation], answers: Mapping[str, Sequence[Answer]], stored: Mapping[str, int], wall: float
) -> Dict[str, Dict[str, Any]]:
    """summarize() of all conversations ("all") and of each channel's."""
    channels = sorted({c.channel for c in conversations})
    result = {"all": summarize(conversations, answers, stored, wall)}
    for channel in channels:
        result[channel] = summarize([c for c in conversations if c.channel == channel], answers, stored, wall)
    return result


def failed(summary: Mapping[str, Any]) -> bool:
    """Whether any reply was duplicated, crossed or out of order, or any question stored twice."""
    return any(summary[key] > 0 for key in FAILURES)


ROWS = (
    ("conversations", "conversations"), ("messages", "messages"), (OK, "answered"), (APOLOGY, "apologies"),
    (LOST, "lost (HTTP error, no reply)"), (DUPLICATED, "duplicated"), (CROSSED, "crossed"),
    (OUT_OF_ORDER, "out of order"), (UNRECOGNISED, "unrecognised"), (STORED_TWICE, "questions stored twice"),
    (NOT_STORED, "questions not stored"), ("wall_seconds", "wall time, s"), ("rate", "achieved, answered msg/s"),
    ("p50_ms", "p50 latency, ms"), ("p95_ms", "p95 latency, ms"),
)
TITLES = {"all": "all", "rest": "REST", "sms": "SMS"}


def render(results: Mapping[str, Mapping[str, Any]]) -> str:
    """A markdown table: one row per figure, one column per summary (all, then each channel)."""
    columns = list(results)
    lines = ["| | " + " | ".join(TITLES.get(c, c) for c in columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for key, title in ROWS:
        lines.append(f"| {title} | " + " | ".join(_cell(results[c][key]) for c in columns) + " |")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if isinstance(value, float) and value >= 100 else f"{value:,}"


def shared_texts(known: Mapping[str, FrozenSet[Meta]], expected: Iterable[Meta]) -> int:
    """How many of the expected replies share their text with another reply (over SMS
    they cannot be told apart by it)."""
    wanted = set(expected)
    return sum(len(metas & wanted) for metas in known.values() if len(metas) > 1)
