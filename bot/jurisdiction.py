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
from bot.text import fold, needs_substring_match, tokens

# Words shorter than this are matched exactly only: "dc" must not match "de".
MIN_FUZZY_LENGTH = 5
FUZZY_THRESHOLD = 0.84
WORD_THRESHOLD = 0.75
MAX_NAME_TOKENS = 5
# A city's name followed by "state" names the state, not the city: "뉴욕주 버펄로" is
# Buffalo, New York State, and "纽约州" is New York State; neither is New York City.
STATE_SUFFIXES = ("州", "주")
# Folding decomposes Hangul syllables, so the suffixes are compared folded too.
_FOLDED_STATE_SUFFIXES = tuple(fold(suffix) for suffix in STATE_SUFFIXES)
# Korean particles that attach to a place name ("휴스턴에서": in Houston), longest first.
KOREAN_PARTICLES = ("에서는", "에서도", "에서", "으로", "에는", "에도", "에", "로", "의", "은", "는", "이", "가", "을", "를", "도")
MIN_HANGUL_NAME = 2


def without_particle(name: str) -> str:
    """A place name as the person wrote it, without a Korean particle attached to its end."""
    for particle in KOREAN_PARTICLES:
        stem = name[: -len(particle)]
        if name.endswith(particle) and len(stem) >= MIN_HANGUL_NAME and all("\uac00" <= ch <= "\ud7af" for ch in stem):
            return stem
    return name


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
    """Match place names and aliases, exactly or with small typos.

    A city or county named in the text wins over a state named with it ("Orange
    County, Florida" is Orange County), and an exact name wins over a near one.
    """

    def __init__(self, kb: KnowledgeBase) -> None:
        self._names: Dict[Tuple[str, ...], str] = {}
        joined: List[Tuple[str, str]] = []  # names in scripts matched inside words
        self._states = {p.id for p in kb.jurisdictions.values() if p.kind == "state"}
        for place in kb.jurisdictions.values():
            if place.id == NATIONAL:
                continue
            for name in place.all_names():
                if needs_substring_match(name):
                    joined.append((name, place.id))
                elif tokens(name):
                    self._names[tuple(tokens(name))] = place.id
        joined.sort(key=lambda item: -len(item[0]))
        # Folded once here: every message is compared with a few hundred of them.
        self._joined = [(fold(name), jid) for name, jid in joined]
        self._longest = max((len(k) for k in self._names), default=1)
        # Names long enough for near matches, by word count and first letter: a message is
        # compared only with names it could nearly spell (the same filters _fuzzy applies).
        self._fuzzy_names: Dict[Tuple[int, str], List[Tuple[Tuple[str, ...], str, str]]] = {}
        for key, jid in self._names.items():
            spelled = " ".join(key)
            if len(spelled) >= MIN_FUZZY_LENGTH:
                self._fuzzy_names.setdefault((len(key), spelled[0]), []).append((key, spelled, jid))

    def _exact(self, words: Sequence[str]) -> List[str]:
        """Ids of every name that appears word for word, longest names first."""
        found: List[str] = []
        for size in range(min(self._longest, len(words)), 0, -1):
            for start in range(len(words) - size + 1):
                jid = self._names.get(tuple(words[start : start + size]))
                if jid and jid not in found:
                    found.append(jid)
        return found

    def _fuzzy(self, words: Sequence[str]) -> List[str]:
        """Ids of names that a run of words nearly spells, closest first.

        Every word must be close on its own, so "del county" is not "dade county".
        """
        scored: List[Tuple[float, str]] = []
        for size in range(1, min(self._longest, len(words)) + 1):
            for start in range(len(words) - size + 1):
                run = words[start : start + size]
                candidate = " ".join(run)
                for key, joined, jid in self._fuzzy_names.get((size, candidate[:1]), ()):
                    if abs(len(candidate) - len(joined)) > 2:
                        continue
                    if any(SequenceMatcher(None, a, b).ratio() < WORD_THRESHOLD for a, b in zip(run, key) if a != b):
                        continue
                    score = SequenceMatcher(None, candidate, joined).ratio()
                    if score >= FUZZY_THRESHOLD:
                        scored.append((score, jid))
        return [jid for _, jid in sorted(scored, reverse=True)]

    def _candidates(self, text: str) -> List[str]:
        words = tokens(text)
        if not words:
            return []
        exact = self._exact(words)
        folded = fold(text)
        for key, jid in self._joined:
            if jid not in exact and self._names_joined(folded, key, jid):
                exact.append(jid)
        return exact + [jid for jid in self._fuzzy(words) if jid not in exact]

    def _names_joined(self, folded: str, key: str, jid: str) -> bool:
        """Whether a folded name in a joined script occurs in the folded text as this place,
        not as a state named after it."""
        if jid in self._states:
            return key in folded
        start = folded.find(key)
        while start >= 0:
            if not folded.startswith(_FOLDED_STATE_SUFFIXES, start + len(key)):
                return True
            start = folded.find(key, start + 1)
        return False

    def match(self, text: str) -> Optional[str]:
        """The knowledge-base id of the place a text names, if any."""
        found = self._candidates(text)
        local = [jid for jid in found if jid not in self._states]
        return (local or found or [None])[0]

    def state_in(self, text: str) -> Optional[str]:
        """The id of a state the text names, if any."""
        return next((jid for jid in self._candidates(text) if jid in self._states), None)

    def resolve(self, text: str, mentions: Iterable[str] = ()) -> Resolution:
        """Resolve a message, preferring the place names the NLU model marked.

        A marked name that matches nothing in the knowledge base is returned as
        unlisted, with the state the message names if any ("Jacksonville, FL" gets
        Florida's law but no other city's facts). The rest of the text is searched
        only for known names, since an unmarked word is not evidence of a place.
        """
        unlisted: List[str] = []
        for mention in mentions:
            found = self.match(mention)
            if found and found not in self._states:
                return Resolution(jurisdiction_id=found)
            if not found and len(tokens(mention)) <= MAX_NAME_TOKENS:
                unlisted.append(without_particle(mention.strip()))
        found = self.match(text)
        if found and found not in self._states:
            return Resolution(jurisdiction_id=found)
        if unlisted:
            return Resolution(jurisdiction_id=found, unlisted_name=unlisted[0].title())
        return Resolution(jurisdiction_id=found)
