"""Whole-message SMS commands (STOP, HELP, MORE, DELETE, a menu number) in any language."""

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from bot.kb.model import KnowledgeBase
from bot.text import tokens


@dataclass(frozen=True)
class Command:
    """An SMS command and the language it was written in."""

    action: str  # stop | start | help | delete | more
    language: str


class CommandReader:
    """Recognise keyword messages and numbered menu choices."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb  # the version it was built from, so a newer publication rebuilds it
        self._words: Dict[Tuple[str, ...], Command] = {}
        for language, actions in kb.sms_keywords.items():
            for action, words in actions.items():
                for word in words:
                    self._words.setdefault(tuple(tokens(word)), Command(action, language))
        self._menu = {str(t.menu): t.id for t in kb.menu_topics()}

    def command(self, text: str) -> Optional[Command]:
        """The command a whole message is, if it is one."""
        key = tuple(tokens(text))
        return self._words.get(key) if key else None

    def menu_choice(self, text: str) -> Optional[str]:
        """The topic id a bare menu number ("2", "2.") picks, if any."""
        words = tokens(text)
        return self._menu.get(words[0]) if len(words) == 1 else None
