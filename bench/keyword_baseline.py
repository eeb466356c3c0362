"""A keyword router, the way SMS platforms route messages: a baseline to beat.

For every language and topic, the words that occur in that topic's training examples
far more than in the others become its keywords; a message goes to the topic whose
keywords it contains most, or to out_of_scope when it contains none.
"""

from collections import Counter, defaultdict
from typing import Dict, Iterable, List, Tuple

from bot.text import tokens

KEYWORDS_PER_TOPIC = 15
MIN_SHARE = 0.6  # of a word's occurrences that must fall in one topic


class KeywordRouter:
    """Route by the most distinctive words of each topic's training examples."""

    def __init__(self, examples: Iterable[Tuple[str, str, str]]) -> None:
        counts: Dict[str, Counter] = defaultdict(Counter)
        totals: Counter = Counter()
        for _, intent, text in examples:
            words = set(tokens(text))
            counts[intent].update(words)
            totals.update(words)
        self.keywords: Dict[str, List[str]] = {}
        for intent, counter in counts.items():
            distinctive = [
                (n, w) for w, n in counter.items() if n >= 2 and n / totals[w] >= MIN_SHARE
            ]
            self.keywords[intent] = [w for _, w in sorted(distinctive, reverse=True)[:KEYWORDS_PER_TOPIC]]

    def route(self, text: str) -> str:
        """The topic with the most keyword hits, or out_of_scope."""
        words = set(tokens(text))
        hits = {intent: len(words.intersection(keys)) for intent, keys in self.keywords.items()}
        best = max(hits, key=hits.__getitem__) if hits else "out_of_scope"
        return best if hits.get(best) else "out_of_scope"
