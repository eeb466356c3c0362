"""When each message of open-loop load is due, and which simulated person sends it.

Arrivals come at a fixed offered rate whatever the server does: evenly spaced, or as
a Poisson process (random bursts and gaps) with exactly that many arrivals. Each person
sends a few messages, about `think_seconds` apart, so a conversation continues while
many others are under way, as on a busy day.
"""

import random
from dataclasses import dataclass
from typing import List


@dataclass(frozen=True)
class Slot:
    """One arrival: its offset from the start (s), its person and that person's message number."""

    at: float
    person: int
    turn: int


def arrival_times(rate: float, duration: float, poisson: bool = True, seed: int = 0) -> List[float]:
    """round(rate x duration) arrival offsets in [0, duration), sorted: evenly spaced, or
    Poisson (a Poisson process conditioned on its count: uniform times, so the bursts
    and gaps are random but the offered rate is exactly `rate`)."""
    count = int(round(rate * duration)) if rate > 0 and duration > 0 else 0
    if not poisson:
        return [i / rate for i in range(count)]
    rng = random.Random(seed)
    return sorted(rng.uniform(0, duration) for _ in range(count))


def assign_people(times: List[float], rate: float, turns: int, think_seconds: float) -> List[Slot]:
    """Give arrivals to people: `turns` messages each, consecutive ones about
    `think_seconds` apart (a block of `window` people send their first messages, then
    their second ones, and so on; then the next block of people starts)."""
    window = max(1, round(rate * think_seconds))
    block = window * max(1, turns)
    slots = []
    for i, at in enumerate(times):
        number, place = divmod(i, block)
        turn, member = divmod(place, window)
        slots.append(Slot(at=at, person=number * window + member, turn=turn))
    return slots
