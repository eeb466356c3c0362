"""What one injected fault cost the open-loop traffic of bench/faults.py. Pure functions, no servers.

bench/faults.py records every message (when it was due, when its answer came, and what
the answer was, judged by bench/reply_check.py) and when the fault began and was undone.
Here the messages are split into windows by when they were due (before the fault,
during it, after it), the ones a killed replica held are found, recovery is judged,
and replied messages are checked against the tracker store's contents.

Acknowledged means answered: such a message must be in the tracker store. The apology
acknowledges nothing (it asks the person to send the message again, because the bot
could not take it), so an apology's message missing from the store is reported, not a
failure.
"""

from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from bench.latency import _ms, percentile
from bench.reply_check import APOLOGY, LOST, OK

BEFORE, DURING, AFTER = "before", "during", "after"
WINDOWS = (BEFORE, DURING, AFTER)
# After a fault is undone the system needs a moment to notice: the balancers check their
# replicas every second and skip a failed one for 5 s, and pooled connections are
# checked on next use. Messages due in that time still count as "during".
SETTLE_SECONDS = 5.0


@dataclass(frozen=True)
class Message:
    """One message of the run and its answer; times are seconds from the start of the run."""

    conversation: str  # the id the balancer hashes: the REST sender, the SMS From number
    stored_as: str  # its conversation's sender_id in the tracker store
    text: str
    due: float  # when it was scheduled to go out; latency counts from here
    finished: float  # when its answer came, or the client gave up
    status: int  # HTTP status, 0 when there was none (timeout, connection refused)
    outcome: str  # one of reply_check.OUTCOMES

    @property
    def latency(self) -> float:
        """Seconds from the scheduled send time to the answer."""
        return self.finished - self.due

    @property
    def replied(self) -> bool:
        """Whether the person got a reply: an answer or the apology."""
        return self.outcome in (OK, APOLOGY)


@dataclass(frozen=True)
class Fault:
    """When a fault was injected and when it was undone (a kill is undone at once: the
    system has to cope without the process)."""

    started: float
    ended: float

    def window(self, at: float, settle: float = SETTLE_SECONDS) -> str:
        """BEFORE, DURING or AFTER for a message due at `at`."""
        if at < self.started:
            return BEFORE
        return DURING if at < self.ended + settle else AFTER


def in_flight(messages: Iterable[Message], at: float, owner: Callable[[str], str], victim: str) -> List[Message]:
    """Messages sent before `at` and not answered by then whose conversation the
    balancer routes to `victim` (`owner`: conversation id -> its replica)."""
    return [m for m in messages if m.due < at < m.finished and owner(m.conversation) == victim]


def recovery(messages: Sequence[Message], fault: Fault, last: int, settle: float = SETTLE_SECONDS) -> Tuple[bool, Optional[float]]:
    """Whether the bot recovered: the last `last` messages, all due after the fault's
    window, were all answered normally; and if so, how many seconds after the fault was
    undone the messages started to be answered normally for good (0 when none due after
    the fault began went wrong)."""
    ordered = sorted(messages, key=lambda m: m.due)
    after = [m for m in ordered if fault.window(m.due, settle) == AFTER]
    if len(after) < last or any(m.outcome != OK for m in after[-last:]):
        return False, None
    since_fault = [m for m in ordered if m.due >= fault.started]
    wrong = [i for i, m in enumerate(since_fault) if m.outcome != OK]
    if not wrong:
        return True, 0.0
    # The last messages are answered, so one follows the last that was not.
    return True, round(max(0.0, since_fault[wrong[-1] + 1].due - fault.ended), 1)


def unstored(messages: Iterable[Message], stored: Mapping[str, Mapping[str, int]]) -> List[Message]:
    """Replied messages whose text is missing from their conversation's stored user
    messages (`stored`: sender_id -> text -> how many times it is stored)."""
    left = {sender: Counter(texts) for sender, texts in stored.items()}
    missing = []
    for message in sorted(messages, key=lambda m: m.due):
        if not message.replied:
            continue
        texts = left.setdefault(message.stored_as, Counter())
        if texts[message.text.strip()] > 0:
            texts[message.text.strip()] -= 1
        else:
            missing.append(message)
    return missing


def summarize(
    messages: Sequence[Message], fault: Fault, stored: Mapping[str, Mapping[str, int]], last: int,
    held: Optional[Sequence[Message]] = None,
) -> Dict[str, Any]:
    """Counts by outcome, lost messages by HTTP status, p95 latency (ms) of the replies
    (answers and apologies) by window, recovery, replied messages not in the tracker
    store, and for a killed replica (`held`: what it held) how many of those were lost."""
    outcomes = Counter(m.outcome for m in messages)
    replied: Dict[str, List[float]] = {window: [] for window in WINDOWS}
    for message in messages:
        if message.replied:
            replied[fault.window(message.due)].append(message.latency)
    recovered, recovery_seconds = recovery(messages, fault, last)
    missing = unstored(messages, stored)
    lost_by_status = Counter(str(m.status) for m in messages if m.outcome == LOST)
    return {
        "fault_started_s": round(fault.started, 1),
        "fault_ended_s": round(fault.ended, 1),
        "sent": len(messages),
        "answered": outcomes[OK],
        "apology": outcomes[APOLOGY],
        "lost": outcomes[LOST],
        "wrong": len(messages) - outcomes[OK] - outcomes[APOLOGY] - outcomes[LOST],
        "lost_by_status": dict(sorted(lost_by_status.items())),
        "in_flight": None if held is None else len(held),
        "lost_in_flight": None if held is None else sum(m.outcome == LOST for m in held),
        **{f"p95_ms_{window}": _ms(percentile(replied[window], 95)) for window in WINDOWS},
        "recovered": recovered,
        "recovery_s": recovery_seconds,
        "unstored": len(missing),
        "unstored_by_outcome": dict(Counter(m.outcome for m in missing)),
    }


def failures(summary: Mapping[str, Any]) -> List[str]:
    """Why a scenario fails the run: answered messages missing from the tracker
    store, replies crossed, duplicated or out of order, no recovery."""
    reasons = []
    if summary["unstored_by_outcome"].get(OK):
        reasons.append(f"{summary['unstored_by_outcome'][OK]} answered message(s) not in the tracker store")
    if summary["wrong"]:
        reasons.append(f"{summary['wrong']} reply(ies) crossed, duplicated, out of order or unrecognised")
    if not summary["recovered"]:
        reasons.append("did not recover")
    return reasons


HEADER = (
    "| fault | injected / undone at (s) | sent | answered | apology | lost | of the lost, in flight on the killed replica (all in flight) | wrong reply "
    "| p95 ms before / during / after | recovered | normal again (s after undone) | not in tracker store: answered / apology |"
)


def render(rows: Sequence[Tuple[str, Mapping[str, Any]]]) -> str:
    """A markdown table, one row per (fault description, summary)."""
    lines = [HEADER, "|---" * (HEADER.count("|") - 1) + "|"]
    for title, s in rows:
        held = "-" if s["in_flight"] is None else f"{s['lost_in_flight']} ({s['in_flight']})"
        latency = " / ".join(_cell(s[f"p95_ms_{window}"]) for window in WINDOWS)
        missing = " / ".join(str(s["unstored_by_outcome"].get(outcome, 0)) for outcome in (OK, APOLOGY))
        lines.append(
            f"| {title} | {s['fault_started_s']:g} / {s['fault_ended_s']:g} | {s['sent']} | {s['answered']} | {s['apology']} "
            f"| {s['lost']} | {held} | {s['wrong']} | {latency} | {'yes' if s['recovered'] else 'no'} | {_cell(s['recovery_s'])} | {missing} |"
        )
    return "\n".join(lines)


def _cell(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:,.0f}" if value >= 100 else f"{value:g}"
