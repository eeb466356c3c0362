"""Build the bot's replies from the knowledge base: text plus machine-readable metadata.

Nothing here holds an answer text: facts come from the jurisdiction files and every
other sentence from kb/messages/<language>.yml.
"""

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Dict, List, Optional

from bot.bidi import isolate_rtl
from bot.kb.model import ENGLISH, NATIONAL, Contact, Fact, KnowledgeBase, LocalizedText, TranslationState

# National core facts said when no local fact answers a topic; more are "detail".
MAX_NATIONAL_FACTS = 3


def message_text(kb: KnowledgeBase, key: str, language: str, **params: str) -> str:
    """One conversation message in a language (English if it is not translated), ready
    to send as plain text."""
    return isolate_rtl(kb.messages[key].render(language)[0].format(**params), language_direction(kb, language))


def language_direction(kb: KnowledgeBase, language: str) -> str:
    """A language's writing direction, "ltr" or "rtl"."""
    return str(kb.languages.get(language, {}).get("direction", "ltr"))


@dataclass
class Reply:
    """A reply being built: paragraphs of text and what they were built from."""

    topic: str
    language: str
    jurisdiction: Optional[str] = None
    unlisted_place: Optional[str] = None
    needs: Optional[str] = None
    suggested: Optional[str] = None  # the topic an unsure reply asks about ("Did you mean ...?")
    paragraphs: List[str] = field(default_factory=list)
    fact_ids: List[str] = field(default_factory=list)
    sources: List[Dict[str, str]] = field(default_factory=list)
    menu: List[Dict[str, str]] = field(default_factory=list)  # topic choices a channel may show as buttons
    translation_states: set = field(default_factory=set)
    erase: bool = False
    kb_version: Optional[int] = None  # the published knowledge-base version it was built from
    direction: str = "ltr"  # of the reply's language; set as the composer writes into it

    @property
    def text(self) -> str:
        """The reply as one text, paragraphs separated by blank lines, safe to show
        without markup (see bot.bidi)."""
        return isolate_rtl("\n\n".join(p for p in self.paragraphs if p), self.direction)

    def metadata(self) -> Dict[str, Any]:
        """The machine-readable payload sent with every reply."""
        data: Dict[str, Any] = {
            "topic": self.topic,
            "jurisdiction": self.jurisdiction,
            "language": self.language,
            "sources": self.sources,
            "fact_ids": self.fact_ids,
        }
        if self.unlisted_place:
            data["unlisted_place"] = self.unlisted_place
        if self.needs:
            data["needs"] = self.needs
        if self.suggested:
            data["suggested_topic"] = self.suggested
        if self.menu:
            data["menu"] = self.menu
        if self.erase:
            data["erase"] = True
        if self.kb_version is not None:
            data["kb_version"] = self.kb_version
        return data


class Composer:
    """Turn knowledge-base entries into sentences in one language."""

    def __init__(self, kb: KnowledgeBase, past_review: str = "flag", today: Optional[date] = None) -> None:
        """`past_review` is what happens to a fact past its review-by date: "flag" says so
        next to it, "withhold" leaves it out of answers until someone re-checks it."""
        self.kb = kb
        self.past_review = past_review
        self.today = (today or date.today()).isoformat()

    def _facts(self, jurisdiction_id: str, topic: str) -> List[Fact]:
        facts = self.kb.facts(jurisdiction_id, topic)
        if self.past_review == "withhold":
            return [f for f in facts if f.review_by >= self.today]
        return facts

    def _localize(self, reply: Reply, text: LocalizedText) -> str:
        rendered, state = text.render(reply.language)
        reply.translation_states.add(state)
        # Every reply gets its text from here, including those built in bot.dialogue.
        reply.direction = language_direction(self.kb, reply.language)
        return rendered

    def message(self, reply: Reply, key: str, **params: str) -> str:
        """A conversation message in the reply's language, with {placeholders} filled."""
        return self._localize(reply, self.kb.messages[key]).format(**params)

    def place_name(self, jurisdiction_id: str, language: str) -> str:
        """The display name of a jurisdiction in a language."""
        return self.kb.jurisdiction(jurisdiction_id).display_name(language)

    def _fact(self, reply: Reply, fact: Fact) -> str:
        source = fact.sources[0]
        labels = []
        if fact.status in ("may_have_changed", "outdated"):
            labels.append(self.message(reply, f"status.{fact.status}"))
        if fact.contested:
            labels.append(self.message(reply, "status.contested"))
        if fact.review_by < self.today:
            labels.append(self.message(reply, "status.past_review"))
        cite = self.message(reply, "fact_date_source", as_of=fact.as_of, source=source.title)
        reply.fact_ids.append(fact.id)
        for s in fact.sources:
            entry = s.as_dict()
            if entry not in reply.sources:
                reply.sources.append(entry)
        return " ".join([self._localize(reply, fact.text)] + labels + [cite])

    def _section(self, reply: Reply, header: str, facts: List[Fact]) -> None:
        if facts:
            reply.paragraphs.append("\n".join([header] + [f"- {self._fact(reply, f)}" for f in facts]))

    def contact_line(self, reply: Reply, contact: Contact) -> str:
        """A contact as "name: url / phone"."""
        where = " / ".join(x for x in (contact.url, contact.phone) if x)
        return f"{self._localize(reply, contact.name)}: {where}"

    def answer(
        self,
        topic: str,
        language: str,
        jurisdiction_id: Optional[str] = None,
        unlisted_place: Optional[str] = None,
    ) -> Reply:
        """Compose the answer to a policy topic for a place (or none) in a language.

        Local facts come first, then the state's law on the topic, then national
        guidance: in full when nothing local answers the topic, otherwise only the
        national caveats marked to go with local facts. Facts from one place are never
        given for another.
        """
        spec = self.kb.topics[topic]
        place = jurisdiction_id if jurisdiction_id and jurisdiction_id != NATIONAL else None
        reply = Reply(topic=topic, language=language, jurisdiction=place, unlisted_place=unlisted_place)
        national = self._facts(NATIONAL, topic)
        if spec.emergency:
            self._section(reply, self.message(reply, "emergency_header"), national[:MAX_NATIONAL_FACTS])
            national = []
        if unlisted_place:
            reply.paragraphs.append(self.message(reply, "no_local_info", place=unlisted_place))
        local: List[Fact] = []
        if place:
            jurisdiction = self.kb.jurisdiction(place)
            name = self.place_name(place, language)
            if jurisdiction.kind == "state":
                self._section(reply, self.message(reply, "state_header", place=name), self._facts(place, topic))
            else:
                local = self._facts(place, topic)
                self._section(reply, self.message(reply, "local_header", place=name), local)
                if jurisdiction.state:
                    state_name = self.place_name(jurisdiction.state, language)
                    state_facts = self._facts(jurisdiction.state, topic)
                    self._section(reply, self.message(reply, "state_header", place=state_name), state_facts)
                if not local:
                    reply.paragraphs.append(self.message(reply, "no_local_fact", place=name))
        if local:
            national = [f for f in national if f.with_local]
        self._section(reply, self.message(reply, "national_header"), national[:MAX_NATIONAL_FACTS])
        if spec.emergency and place:
            for contact in self.kb.contacts(place):
                reply.paragraphs.append(
                    self.message(reply, "local_contact", place=self.place_name(place, language), contact=self.contact_line(reply, contact))
                )
        if not place and not unlisted_place and spec.local:
            reply.paragraphs.append(self.message(reply, "offer_local"))
        self.finish(reply)
        return reply

    def unavailable(self, language: str, jurisdiction_id: Optional[str] = None) -> Reply:
        """What a channel says when the bot could not answer in time: sorry, try again,
        and the legal-help contact, so nobody is left with silence."""
        place = jurisdiction_id if jurisdiction_id in self.kb.jurisdictions else None
        reply = Reply(topic="service_unavailable", language=language, jurisdiction=place)
        reply.paragraphs.append(self.message(reply, "service_unavailable"))
        self.finish(reply)
        return reply

    def legal_help(self, reply: Reply) -> str:
        """The disclaimer and the legal-help pointer for the reply's place."""
        contacts = [c for c in self.kb.contacts(reply.jurisdiction or "") if c.kind == "legal_help"]
        contacts += [c for c in self.kb.contacts(NATIONAL) if c.kind == "legal_help"]
        pointer = (
            self.message(reply, "legal_help_pointer", contact=self.contact_line(reply, contacts[0]))
            if contacts
            else self.message(reply, "legal_help_fallback")
        )
        return f"{self.message(reply, 'disclaimer')} {pointer}"

    def finish(self, reply: Reply) -> None:
        """Add the legal-help footer and any translation notes to a policy answer."""
        reply.paragraphs.append(self.legal_help(reply))
        self.add_translation_notes(reply)

    def add_translation_notes(self, reply: Reply) -> None:
        """One short line per way the reply departs from a reviewed translation."""
        if reply.language == ENGLISH:
            return
        notes = []
        for state, key in (
            (TranslationState.MISSING, "note.missing_translation"),
            (TranslationState.STALE, "note.stale_translation"),
            (TranslationState.MACHINE, "note.machine_translation"),
        ):
            if state in reply.translation_states:
                notes.append(self.message(reply, key))
        if notes:
            reply.paragraphs.append(" ".join(f"({n})" for n in notes))

    def menu(self, reply: Reply) -> str:
        """The numbered topic menu; also lists the choices in `reply.menu` for buttons."""
        lines = [self.message(reply, "menu_intro")]
        reply.menu = [{"topic": t.id, "title": self.message(reply, f"topic.{t.id}")} for t in self.kb.menu_topics()]
        lines += [f"{t.menu}. {choice['title']}" for t, choice in zip(self.kb.menu_topics(), reply.menu)]
        lines.append(self.message(reply, "menu_footer"))
        return "\n".join(lines)
