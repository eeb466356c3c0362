"""The knowledge base as typed, read-only objects."""

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from bot.kb.hashing import text_hash

ENGLISH = "en"
NATIONAL = "national"


@dataclass(frozen=True)
class Source:
    """Where a fact comes from: a public document (url) or a seed file."""

    title: str
    url: Optional[str] = None
    seed: Optional[str] = None

    def as_dict(self) -> Dict[str, str]:
        """Return the source as a plain dict without empty fields."""
        return {k: v for k, v in (("title", self.title), ("url", self.url), ("seed", self.seed)) if v}


@dataclass(frozen=True)
class Translation:
    """A text in another language and the English version it was made from."""

    text: str
    source_hash: str
    review: str  # "machine" or "reviewed"


class TranslationState:
    """How a text can be rendered in a language."""

    ORIGINAL = "original"  # English, or the language it was written in
    REVIEWED = "reviewed"
    MACHINE = "machine"
    STALE = "stale"  # the English changed after this translation was made
    MISSING = "missing"


@dataclass(frozen=True)
class LocalizedText:
    """An English text with its translations."""

    english: str
    translations: Dict[str, Translation] = field(default_factory=dict)

    def render(self, language: str) -> Tuple[str, str]:
        """Return (text, TranslationState) for a language.

        A stale or missing translation falls back to the current English, so
        nobody is told something the English no longer says.
        """
        if language == ENGLISH:
            return self.english, TranslationState.ORIGINAL
        translation = self.translations.get(language)
        if translation is None:
            return self.english, TranslationState.MISSING
        if translation.source_hash != text_hash(self.english):
            return self.english, TranslationState.STALE
        state = TranslationState.REVIEWED if translation.review == "reviewed" else TranslationState.MACHINE
        return translation.text, state


@dataclass(frozen=True)
class Fact:
    """One cited statement about a jurisdiction and a topic."""

    id: str
    jurisdiction: str
    topic: str
    also_topics: Tuple[str, ...]
    level: str  # "core" or "detail"
    status: str  # "current", "may_have_changed" or "outdated"
    contested: bool
    with_local: bool
    as_of: str
    last_verified: str
    review_by: str
    reference: Tuple[str, ...]
    sources: Tuple[Source, ...]
    text: LocalizedText

    def answers(self, topic: str) -> bool:
        """Whether this fact belongs in an answer about a topic."""
        return topic == self.topic or topic in self.also_topics


@dataclass(frozen=True)
class Contact:
    """A legal-help or rapid-response contact."""

    id: str
    jurisdiction: str
    kind: str  # "legal_help" or "rapid_response"
    name: LocalizedText
    url: Optional[str]
    phone: Optional[str]
    as_of: str
    sources: Tuple[Source, ...]
    verified: bool


@dataclass(frozen=True)
class Jurisdiction:
    """A place the knowledge base holds, with the names people call it."""

    id: str
    kind: str  # "national", "state", "county" or "city"
    state: Optional[str]
    names: Dict[str, Tuple[str, ...]]
    aliases: Tuple[str, ...]
    facts: Tuple[Fact, ...]
    contacts: Tuple[Contact, ...]

    def display_name(self, language: str) -> str:
        """The name to show a person writing in a language."""
        names = self.names.get(language) or self.names[ENGLISH]
        return names[0]

    def all_names(self) -> List[str]:
        """Every name and alias, in every language."""
        out = [name for names in self.names.values() for name in names]
        return out + list(self.aliases)


@dataclass(frozen=True)
class TopicSpec:
    """How the bot treats one topic id."""

    id: str
    kind: str  # "policy" or "conversation"
    local: Optional[str] = None  # "ask" or "offer" for policy topics
    emergency: bool = False
    menu: Optional[int] = None


@dataclass(frozen=True)
class KnowledgeBase:
    """Every jurisdiction, topic and message the bot can use."""

    jurisdictions: Dict[str, Jurisdiction]
    topics: Dict[str, TopicSpec]
    messages: Dict[str, LocalizedText]
    languages: Dict[str, Dict[str, object]]
    # language -> action (stop, start, help, delete, more) -> whole-message keywords
    sms_keywords: Dict[str, Dict[str, Tuple[str, ...]]] = field(default_factory=dict)

    def jurisdiction(self, jurisdiction_id: str) -> Jurisdiction:
        """Return a jurisdiction by id (KeyError if the knowledge base lacks it)."""
        return self.jurisdictions[jurisdiction_id]

    def facts(self, jurisdiction_id: str, topic: str, level: Optional[str] = "core") -> List[Fact]:
        """Facts of one jurisdiction that answer a topic, in file order."""
        place = self.jurisdictions.get(jurisdiction_id)
        if place is None:
            return []
        return [f for f in place.facts if f.answers(topic) and (level is None or f.level == level)]

    def contacts(self, jurisdiction_id: str) -> List[Contact]:
        """Verified contacts of one jurisdiction."""
        place = self.jurisdictions.get(jurisdiction_id)
        return [c for c in place.contacts if c.verified] if place else []

    def menu_topics(self) -> List[TopicSpec]:
        """Policy topics shown in the numbered menu, in menu order."""
        return sorted((t for t in self.topics.values() if t.menu), key=lambda t: t.menu or 0)
