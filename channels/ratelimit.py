"""A per-sender sliding-window message limit."""

import time
from collections import defaultdict, deque
from typing import Deque, Dict, Optional


PRUNE_EVERY = 1000


class RateLimit:
    """At most `limit` messages per `window` seconds per sender."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._times: Dict[str, Deque[float]] = defaultdict(deque)
        self._warned: Dict[str, float] = {}
        self._checks = 0

    def _forget_idle(self, now: float) -> None:
        # Senders who went quiet are dropped, so memory follows current traffic only.
        for sender in [s for s, t in self._times.items() if not t or t[-1] <= now - self.window]:
            del self._times[sender]
            self._warned.pop(sender, None)

    def check(self, sender: str, now: Optional[float] = None) -> str:
        """"ok", "notice" (the first message over the limit: tell the person once), or "drop"."""
        now = now if now is not None else time.monotonic()
        self._checks += 1
        if self._checks % PRUNE_EVERY == 0:
            self._forget_idle(now)
        times = self._times[sender]
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) < self.limit:
            times.append(now)
            self._warned.pop(sender, None)
            return "ok"
        if sender in self._warned and self._warned[sender] > now - self.window:
            return "drop"
        self._warned[sender] = now
        return "notice"

    @classmethod
    def parse(cls, spec: str) -> "RateLimit":
        """Build from "20/600": 20 messages per 600 seconds."""
        count, _, seconds = spec.partition("/")
        return cls(int(count), float(seconds or 600))
