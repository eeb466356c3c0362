"""Latency percentiles and per-run summaries of open-loop load.

Latency is counted from each request's scheduled send time to its answer, so time a
request spent waiting behind slower ones (in the generator or the server) counts too:
a server that falls behind cannot hide it by slowing the load down (no coordinated
omission).
"""

import math
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence


@dataclass(frozen=True)
class Outcome:
    """One request: when it was due, when it was answered (loop seconds), and how
    (ok: status 200 with a message in the answer)."""

    kind: str
    scheduled: float
    finished: float
    ok: bool
    status: int  # the HTTP status; 0 when there was none
    error: str = ""  # why there was no HTTP status: the client exception's name

    @property
    def latency(self) -> float:
        """Seconds from the scheduled send time to the answer."""
        return self.finished - self.scheduled


def percentile(values: Sequence[float], q: float) -> Optional[float]:
    """The q-th percentile (0-100) by the nearest-rank method; None for no values."""
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is not between 0 and 100")
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summarize(outcomes: Iterable[Outcome], offered_rate: float) -> Dict[str, Any]:
    """Latency percentiles of the answered requests (ms), throughput and error counts.

    Achieved throughput is answered requests per second from the first scheduled send
    to the last answer, so a backlog that drains after the schedule ends lowers it.
    """
    outcomes = list(outcomes)
    answered = [o for o in outcomes if o.ok]
    latencies = [o.latency for o in answered]
    span = max((o.finished for o in outcomes), default=0.0) - min((o.scheduled for o in outcomes), default=0.0)
    errors: Dict[str, int] = {}
    for o in outcomes:
        if not o.ok:
            key = o.error or ("no reply" if o.status == 200 else str(o.status))
            errors[key] = errors.get(key, 0) + 1
    return {
        "offered_rate": offered_rate,
        "requests": len(outcomes),
        "answered": len(answered),
        "errors": sum(errors.values()),
        "errors_by_status": errors,
        "p50_ms": _ms(percentile(latencies, 50)),
        "p95_ms": _ms(percentile(latencies, 95)),
        "p99_ms": _ms(percentile(latencies, 99)),
        "max_ms": _ms(max(latencies, default=None)),
        "throughput": round(len(answered) / span, 2) if span > 0 else 0.0,
    }


def by_kind(outcomes: List[Outcome], offered_rate: float) -> Dict[str, Dict[str, Any]]:
    """A summary of all requests ("all") and one for each kind of request."""
    kinds = sorted({o.kind for o in outcomes})
    result = {"all": summarize(outcomes, offered_rate)}
    share = {k: sum(o.kind == k for o in outcomes) / max(len(outcomes), 1) for k in kinds}
    result.update({k: summarize([o for o in outcomes if o.kind == k], round(offered_rate * share[k], 2)) for k in kinds})
    return result


def sustained_rate(rows: Iterable[Dict[str, Any]], p95_limit_ms: float, max_failed_share: float = 0.01) -> Optional[float]:
    """The highest offered rate up to which every measured rate kept p95 under the limit
    with at most `max_failed_share` of requests failed (errors plus apologies)."""
    best = None
    for r in sorted(rows, key=lambda r: r["offered_rate"]):
        failed = r["errors"] + (r.get("apologies") or 0)
        if r["p95_ms"] is None or r["p95_ms"] >= p95_limit_ms or failed > max_failed_share * max(r["requests"], 1):
            break
        best = r["offered_rate"]
    return best


def _ms(seconds: Optional[float]) -> Optional[float]:
    return None if seconds is None else round(1000 * seconds, 1)
