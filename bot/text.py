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


_HANGUL = ((0x1100, 0x11FF), (0x3130, 0x318F), (0xAC00, 0xD7AF))
_CJK = ((0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF))
_CJK_CLASS = "".join(f"{chr(first)}-{chr(last)}" for first, last in _CJK)
# Words for n-gram features: each Chinese (or Japanese) character on its own, since
# nothing sets their words apart, and runs of other letters and digits as usual.
WORD_TOKENS = rf"(?u)[{_CJK_CLASS}]|[^\W{_CJK_CLASS}]+"


def _hangul_or_cjk(code: int) -> bool:
    return any(first <= code <= last for first, last in _HANGUL + _CJK)


def _joined_script(ch: str) -> bool:
    code = ord(ch)
    # Arabic: prefixes attach to names ("بميامي").
    return 0x0600 <= code <= 0x06FF or _hangul_or_cjk(code)


def without_word_spaces(text: str) -> bool:
    """Whether a text is Chinese or Korean, where a short word may stand inside a longer
    run of characters ("我不会说英语") rather than between spaces."""
    return any(_hangul_or_cjk(ord(ch)) for ch in text)


def needs_substring_match(name: str) -> bool:
    """Whether a name is in a script where words are not set off by spaces.

    Chinese has no spaces, and Korean and Arabic attach particles and prefixes to
    names, so such names are looked for inside the text rather than as whole words.
    """
    return any(_joined_script(ch) for ch in name)


def contains_name(text: str, name: str) -> bool:
    """Whether a text names something: as whole words, or inside words for joined scripts."""
    if needs_substring_match(name):
        return fold(name) in fold(text)
    name_tokens = tokens(name)
    words = tokens(text)
    size = len(name_tokens)
    return size > 0 and any(words[i : i + size] == name_tokens for i in range(len(words) - size + 1))
