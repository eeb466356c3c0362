"""What still needs work per jurisdiction and language: missing, machine-translated
(unreviewed), out-of-date translations, and facts past their review-by date."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Dict, List, Optional

from bot.kb.model import ENGLISH, Jurisdiction, KnowledgeBase, TranslationState


@dataclass
class Coverage:
    """Counts of texts per translation state, per language, for one jurisdiction."""

    jurisdiction: str
    name: str
    facts: int
    past_review: List[str] = field(default_factory=list)
    states: Dict[str, Counter] = field(default_factory=dict)  # language -> state -> count

    def needs_work(self, language: str) -> int:
        """Texts in a language a person still has to translate or review."""
        counts = self.states.get(language, Counter())
        return counts[TranslationState.MISSING] + counts[TranslationState.STALE] + counts[TranslationState.MACHINE]


def _texts(place: Jurisdiction) -> list:
    return [f.text for f in place.facts] + [c.name for c in place.contacts]


def coverage(kb: KnowledgeBase, jurisdiction: Jurisdiction, today: Optional[date] = None) -> Coverage:
    """The translation and review state of one jurisdiction's texts."""
    today = today or date.today()
    result = Coverage(
        jurisdiction=jurisdiction.id,
        name=jurisdiction.display_name(ENGLISH),
        facts=len(jurisdiction.facts),
        past_review=[f.id for f in jurisdiction.facts if f.review_by < today.isoformat()],
    )
    for language in kb.languages:
        if language == ENGLISH:
            continue
        result.states[language] = Counter(text.render(language)[1] for text in _texts(jurisdiction))
    return result


def text_state(kb: KnowledgeBase, jurisdiction_id: str, fact_id: str, language: str) -> str:
    """The translation state of one fact in one language."""
    fact = next(f for f in kb.jurisdiction(jurisdiction_id).facts if f.id == fact_id)
    return fact.text.render(language)[1]
