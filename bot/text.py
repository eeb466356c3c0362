"""Text clean-up shared by language detection and place resolution."""

import re
import unicodedata
from typing import List

MAX_MESSAGE_CHARS = 2000

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")


def fold(text: str) -> str:
    """Lowercase and strip accents, so "Miámi" and "miami" compare equal."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokens(text: str) -> List[str]:
    """Folded word tokens (letters and digits, any script)."""
    return _TOKEN.findall(fold(text))


def clean(text: str) -> str:
    """Remove control characters and cap the length of an incoming message.

    A 10,000-character paste is cut, not refused, so the person still gets an answer
    to what they asked first.
    """
    return _CONTROL.sub(" ", text)[:MAX_MESSAGE_CHARS].strip()


def has_words(text: str) -> bool:
    """Whether a message contains any letters at all (not only emoji or symbols)."""
    return any(ch.isalpha() for ch in text)
