"""Find which place a message is about, from the knowledge base's names and aliases.

Resolution runs at message time from the knowledge base, so a city an organizer adds
is understood without retraining the NLU model. Typos ("orlnado") are matched by
edit similarity; names the knowledge base does not hold come back as unlisted, so
the bot can say it has no local information for them instead of guessing.
"""

from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from bot.kb.model import NATIONAL, KnowledgeBase
from bot.text import tokens

# Words shorter than this are matched exactly only: "dc" must not match "de".
MIN_FUZZY_LENGTH = 5
FUZZY_THRESHOLD = 0.84
MAX_NAME_TOKENS = 5


@dataclass(frozen=True)
class Resolution:
    """A place found in a message: a knowledge-base id, or a name it does not hold."""

    jurisdiction_id: Optional[str] = None
    unlisted_name: Optional[str] = None

    @property
    def found(self) -> bool:
        """Whether the message named any place at all."""
        return bool(self.jurisdiction_id or self.unlisted_name)


class JurisdictionResolver:
    """Match place names and aliases, exactly or with small typos."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self._names: Dict[Tuple[str, ...], str] = {}
        for place in kb.jurisdictions.values():
            if place.id == NATIONAL:
                continue
            for name in place.all_names():
                key = tuple(tokens(name))
                if key:
                    self._names[key] = place.id
        self._longest = max((len(k) for k in self._names), default=1)

    def _exact(self, words: Sequence[str]) -> Optional[Tuple[int, str]]:
        """The longest name that appears word for word; (length, id)."""
        for size in range(min(self._longest, len(words)), 0, -1):
            for start in range(len(words) - size + 1):
                found = self._names.get(tuple(words[start : start + size]))
                if found:
                    return size, found
        return None

    def _fuzzy(self, words: Sequence[str]) -> Optional[str]:
        """The closest name to any run of words, if it is close enough."""
        best_score, best_id = 0.0, None
        for key, jid in self._names.items():
            joined = " ".join(key)
            if len(joined) < MIN_FUZZY_LENGTH:
                continue
            size = len(key)
            for start in range(len(words) - size + 1):
                candidate = " ".join(words[start : start + size])
                if abs(len(candidate) - len(joined)) > 2 or candidate[:1] != joined[:1]:
                    continue
                score = SequenceMatcher(None, candidate, joined).ratio()
                if score > best_score:
                    best_score, best_id = score, jid
        return best_id if best_score >= FUZZY_THRESHOLD else None

    def match(self, text: str) -> Optional[str]:
        """The knowledge-base id of the place a text names, if any."""
        words = tokens(text)
        if not words:
            return None
        exact = self._exact(words)
        if exact:
            return exact[1]
        return self._fuzzy(words)

    def resolve(self, text: str, mentions: Iterable[str] = ()) -> Resolution:
        """Resolve a message, preferring the place names the NLU model marked.

        A marked name that matches nothing in the knowledge base is returned as
        unlisted; the rest of the text is searched only for known names, since an
        unmarked word is not evidence of a place.
        """
        unlisted: List[str] = []
        for mention in mentions:
            found = self.match(mention)
            if found:
                return Resolution(jurisdiction_id=found)
            if len(tokens(mention)) <= MAX_NAME_TOKENS:
                unlisted.append(mention.strip())
        found = self.match(text)
        if found:
            return Resolution(jurisdiction_id=found)
        if unlisted:
            return Resolution(unlisted_name=unlisted[0].title())
        return Resolution()
