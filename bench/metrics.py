"""Scores for predictions against a labelled held-out set."""

from collections import defaultdict
from typing import Dict, Iterable, List, Optional, Tuple


def accuracy(pairs: List[Tuple[object, object]]) -> float:
    """Share of (expected, predicted) pairs that agree."""
    return sum(e == p for e, p in pairs) / len(pairs) if pairs else 0.0


def macro_f1(pairs: List[Tuple[str, str]]) -> float:
    """F1 averaged over the expected labels, each label weighing the same."""
    labels = {e for e, _ in pairs}
    tp: Dict[str, int] = defaultdict(int)
    fp: Dict[str, int] = defaultdict(int)
    fn: Dict[str, int] = defaultdict(int)
    for expected, predicted in pairs:
        if expected == predicted:
            tp[expected] += 1
        else:
            fp[predicted] += 1
            fn[expected] += 1
    scores = []
    for label in labels:
        precision = tp[label] / (tp[label] + fp[label]) if tp[label] + fp[label] else 0.0
        recall = tp[label] / (tp[label] + fn[label]) if tp[label] + fn[label] else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / len(scores) if scores else 0.0


def with_fallback(rows: Iterable[Tuple[str, str, float]], threshold: float) -> List[Tuple[str, str, float]]:
    """(expected, predicted, confidence) rows as answered: under `threshold` the topic is the fallback."""
    return [(e, p if c >= threshold else "out_of_scope", c) for e, p, c in rows]


def confidently_wrong(rows: Iterable[Tuple[str, str, float]], threshold: float) -> float:
    """Share of (expected, predicted, confidence) where the topic is wrong yet not a fallback.

    A wrong topic given with confidence at or above the fallback threshold is the
    harmful case: the person gets a confident answer to a question they did not ask.
    """
    rows = list(rows)
    bad = sum(1 for e, p, c in rows if e != p and p != "out_of_scope" and c >= threshold)
    return bad / len(rows) if rows else 0.0


def word_count(text: str) -> int:
    """Words in a message; a run of Chinese characters (no spaces) counts a word per two characters."""
    from bot.text import tokens

    def han(token: str) -> int:
        return sum(1 for ch in token if "\u4e00" <= ch <= "\u9fff")

    return sum(max(1, han(t) // 2) for t in tokens(text))


def place_label(jurisdiction: Optional[str], unlisted: Optional[str]) -> Optional[str]:
    """The held-out set's place label for a reply: an id, "unknown", or None."""
    if unlisted:
        return "unknown"
    return jurisdiction
