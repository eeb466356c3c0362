"""One turn of the conversation: from what the person wrote to the reply and new state.

This is the whole dialogue logic, free of Rasa: the action server turns a tracker into
a `Turn`, calls `respond`, and turns the `Outcome` back into events.
"""

import os
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Dict, List, Optional, Sequence

from bot.compose import Composer, Reply
from bot.jurisdiction import JurisdictionResolver
from bot.kb.model import ENGLISH, KnowledgeBase
from bot.language import LanguageDetector, cached_detector, requested_language
from bot.nlu_data import examples_by_language
from bot.settings import ROOT
from bot.text import clean, has_words, tokens
from storage.kb_versions import live, live_knowledge_base

OUT_OF_SCOPE = "out_of_scope"
MAX_LANGUAGE_REQUEST_WORDS = 3


@dataclass(frozen=True)
class State:
    """What the bot remembers for one conversation (kept in Rasa slots)."""

    language: Optional[str] = None
    language_chosen: bool = False
    jurisdiction: Optional[str] = None
    unlisted_place: Optional[str] = None
    pending_topic: Optional[str] = None
    asked_jurisdiction: bool = False


@dataclass(frozen=True)
class Turn:
    """One message as the NLU understood it, with the context the channel sent."""

    text: str
    intent: str
    place_mentions: Sequence[str] = ()
    best_guess: Optional[str] = None  # the NLU's top topic even when it was unsure
    metadata: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    """The reply to send and the state to remember."""

    reply: Reply
    state: State


class Dialogue:
    """Decide the reply to each message."""

    def __init__(
        self, kb: KnowledgeBase, detector: LanguageDetector, kb_version: Optional[int] = None, past_review: str = "flag"
    ) -> None:
        self.kb = kb
        self.detector = detector
        self.kb_version = kb_version
        self.composer = Composer(kb, past_review)
        self.resolver = JurisdictionResolver(kb)
        self._language_names = {code: spec["names"] for code, spec in kb.languages.items()}
        self._negations = [word for spec in kb.languages.values() for word in spec.get("negations", ())]

    def _language(self, turn: Turn, state: State) -> State:
        picked = turn.metadata.get("chosen_language")
        if picked in self.kb.languages:
            # Picked from a channel's language menu: as binding as naming the language.
            return replace(state, language=picked, language_chosen=True)
        # A short message that names a language is a request for it even when the NLU
        # (which may not know that language yet) did not classify it as one.
        short = len(tokens(turn.text)) <= MAX_LANGUAGE_REQUEST_WORDS
        asked = requested_language(turn.text, self._language_names, self._negations) if turn.intent == "set_language" or short else None
        if asked:
            return replace(state, language=asked, language_chosen=True)
        if state.language_chosen or turn.text.startswith("/"):
            # "/topic" is a menu choice made by the channel, not words in any language.
            return state if state.language else replace(state, language=self._context_language(turn))
        # One word ("ok", "merci", "gracias") is too little to leave an established language.
        if state.language and len(tokens(turn.text)) < 2:
            return state
        detection = self.detector.detect(turn.text)
        if detection and detection.confident and detection.language in self.kb.languages:
            return replace(state, language=detection.language)
        if state.language:
            return state
        return replace(state, language=self._context_language(turn))

    def _context_language(self, turn: Turn) -> str:
        context = turn.metadata.get("language")
        return context if isinstance(context, str) and context in self.kb.languages else ENGLISH

    def _place(self, turn: Turn, state: State) -> State:
        found = self.resolver.resolve(turn.text, turn.place_mentions)
        if found.jurisdiction_id and not found.unlisted_name:
            return replace(state, jurisdiction=found.jurisdiction_id, unlisted_place=None)
        if found.unlisted_name:
            return replace(state, jurisdiction=found.jurisdiction_id, unlisted_place=found.unlisted_name)
        if not state.jurisdiction and not state.unlisted_place:
            context = turn.metadata.get("jurisdiction")
            if isinstance(context, str) and context in self.kb.jurisdictions:
                return replace(state, jurisdiction=context)
        return state

    def respond(self, turn: Turn, state: State) -> Outcome:
        """The reply to one message and the conversation state after it."""
        outcome = self._respond(turn, state)
        outcome.reply.kb_version = self.kb_version
        return outcome

    def _respond(self, turn: Turn, state: State) -> Outcome:
        turn = replace(turn, text=clean(turn.text or ""))
        state = self._language(turn, state)
        language = state.language or ENGLISH
        if not turn.text:
            return self._simple(state, language, OUT_OF_SCOPE, ["empty_input"])
        if not has_words(turn.text):
            return self._simple(state, language, OUT_OF_SCOPE, ["out_of_scope"], menu=True)
        state = self._place(turn, state)
        intent = turn.intent if turn.intent in self.kb.topics else OUT_OF_SCOPE
        guess = self.kb.topics.get(turn.best_guess or "")
        if intent == OUT_OF_SCOPE and guess is not None and guess.emergency:
            # When unsure, lean towards the emergency script: it harms nobody who did not need it.
            intent = guess.id
        spec = self.kb.topics[intent]
        if spec.kind == "policy":
            return self._policy(intent, state)
        if state.pending_topic and (intent == "set_jurisdiction" or state.jurisdiction or state.unlisted_place):
            return self._policy(state.pending_topic, state)
        if state.pending_topic and intent == OUT_OF_SCOPE:
            # Asked once and still no city: answer with general guidance rather than ask again.
            return self._policy(state.pending_topic, state)
        if intent == OUT_OF_SCOPE and turn.intent != OUT_OF_SCOPE and guess is not None and guess.menu:
            # Unsure, not sure it is off-topic: ask whether the likeliest topic was meant.
            return self._did_you_mean(guess.id, state)
        return self._conversation(intent, state)

    def _did_you_mean(self, topic: str, state: State) -> Outcome:
        language = state.language or ENGLISH
        reply = Reply(topic=OUT_OF_SCOPE, language=language, jurisdiction=state.jurisdiction, suggested=topic)
        title = self.composer.message(reply, f"topic.{topic}")
        reply.paragraphs.append(self.composer.message(reply, "did_you_mean", topic=title, number=str(self.kb.topics[topic].menu)))
        reply.paragraphs.append(self.composer.menu(reply))
        self.composer.add_translation_notes(reply)
        return Outcome(reply, state)

    def _policy(self, topic: str, state: State) -> Outcome:
        spec = self.kb.topics[topic]
        language = state.language or ENGLISH
        no_place = not state.jurisdiction and not state.unlisted_place
        if no_place and spec.local == "ask" and not spec.emergency and not state.asked_jurisdiction:
            reply = Reply(topic=topic, language=language, needs="jurisdiction")
            reply.paragraphs.append(self.composer.message(reply, "ask_jurisdiction"))
            self.composer.add_translation_notes(reply)
            return Outcome(reply, replace(state, pending_topic=topic, asked_jurisdiction=True))
        reply = self.composer.answer(topic, language, state.jurisdiction, state.unlisted_place)
        if no_place and spec.local == "ask":
            reply.paragraphs.insert(0, self.composer.message(reply, "no_place_given"))
        return Outcome(reply, replace(state, pending_topic=None))

    def _simple(self, state: State, language: str, topic: str, keys: List[str], menu: bool = False) -> Outcome:
        reply = Reply(topic=topic, language=language, jurisdiction=state.jurisdiction)
        reply.paragraphs.extend(self.composer.message(reply, key) for key in keys)
        if menu:
            reply.paragraphs.append(self.composer.menu(reply))
        self.composer.add_translation_notes(reply)
        return Outcome(reply, state)

    def _conversation(self, intent: str, state: State) -> Outcome:
        language = state.language or ENGLISH
        if intent == "set_jurisdiction":
            return self._set_jurisdiction(state, language)
        if intent == "set_language":
            return self._simple(state, language, intent, ["language_set"], menu=True)
        if intent == "greet":
            return self._simple(state, language, intent, ["greet"], menu=True)
        if intent == "help_menu":
            reply = Reply(topic=intent, language=language, jurisdiction=state.jurisdiction)
            reply.paragraphs.append(self.composer.menu(reply))
            self.composer.add_translation_notes(reply)
            return Outcome(reply, state)
        if intent == "human_help":
            reply = Reply(topic=intent, language=language, jurisdiction=state.jurisdiction)
            reply.paragraphs.append(self.composer.message(reply, "human_help"))
            self.composer.finish(reply)
            return Outcome(reply, state)
        if intent == "delete_my_data":
            outcome = self._simple(State(), language, intent, ["delete_my_data"])
            outcome.reply.erase = True
            return outcome
        if intent == "thanks_goodbye":
            return self._simple(state, language, intent, ["thanks_goodbye"])
        return self._simple(state, language, OUT_OF_SCOPE, ["out_of_scope"], menu=True)

    def _set_jurisdiction(self, state: State, language: str) -> Outcome:
        reply = Reply(topic="set_jurisdiction", language=language, jurisdiction=state.jurisdiction, unlisted_place=state.unlisted_place)
        if state.jurisdiction:
            name = self.composer.place_name(state.jurisdiction, language)
            reply.paragraphs.append(self.composer.message(reply, "jurisdiction_set", place=name))
        elif state.unlisted_place:
            reply.paragraphs.append(self.composer.message(reply, "jurisdiction_unknown_set", place=state.unlisted_place))
        else:
            reply.paragraphs.append(self.composer.message(reply, "ask_jurisdiction"))
        reply.paragraphs.append(self.composer.menu(reply))
        self.composer.add_translation_notes(reply)
        return Outcome(reply, state)


def language_samples(kb: KnowledgeBase) -> Dict[str, List[str]]:
    """Texts per language to train the language detector: NLU examples and KB texts.

    The knowledge base's translations let the bot recognise a language it answers in
    before the NLU has training examples for it.
    """
    samples = {lang: list(texts) for lang, texts in examples_by_language().items()}
    texts = [f.text for place in kb.jurisdictions.values() for f in place.facts] + list(kb.messages.values())
    for text in texts:
        for lang, translation in text.translations.items():
            samples.setdefault(lang, []).append(translation.text)
    return samples


@lru_cache(maxsize=1)
def _detector() -> LanguageDetector:
    # Once per process: a publication changes facts, not how people write. Training takes
    # seconds, so the trained detector is kept in var/cache/ for the next process.
    return cached_detector(language_samples(live_knowledge_base()), ROOT / "var" / "cache")


_current: Dict[int, Dialogue] = {}


def default_dialogue() -> Dialogue:
    """The dialogue over the newest published knowledge base.

    A publication reaches it within KYR_KB_REFRESH_SECONDS, without a restart; only
    the composer and the place resolver are rebuilt, from the new version.
    """
    version, kb = live().current()
    dialogue = _current.get(version)
    if dialogue is None:
        # KYR_PAST_REVIEW: "flag" facts past their review-by date in answers, or "withhold" them.
        dialogue = Dialogue(kb, _detector(), kb_version=version, past_review=os.environ.get("KYR_PAST_REVIEW", "flag"))
        _current.clear()
        _current[version] = dialogue
    return dialogue
