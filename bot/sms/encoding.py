"""SMS encodings: GSM-7 when the text allows it, UCS-2 otherwise, and segment counts.

One character outside GSM-7 makes a whole message UCS-2, which holds 70 characters
a segment instead of 160. Typographic punctuation ("smart quotes", dashes) and, in
a text that is mostly plain, a few accented Latin letters are replaced by their
GSM-7 look-alikes so a Spanish or English reply is not needlessly sent as UCS-2.
Scripts that need their letters (Chinese, Arabic, Vietnamese tones) stay UCS-2.
"""

import math
import unicodedata
from dataclasses import dataclass

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")  # each takes two septets

LOOKALIKES = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
    "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-", "\u2010": "-", "\u2011": "-",
    "\u2026": "...", "\u00a0": " ", "\u2022": "-", "\u00b7": "-", "\u2009": " ", "\u202f": " ",
}
# Accented letters may be simplified only while they are this share of the text or less.
MAX_SIMPLIFIED_SHARE = 0.05

SINGLE = {"GSM-7": 160, "UCS-2": 70}
MULTI = {"GSM-7": 153, "UCS-2": 67}


@dataclass(frozen=True)
class Encoded:
    """A text ready to send, its encoding, and how many SMS segments it costs."""

    text: str
    encoding: str
    segments: int


def is_gsm7(text: str) -> bool:
    """Whether every character of the text has a GSM-7 code."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text)


def _units(text: str, encoding: str) -> int:
    if encoding == "GSM-7":
        return sum(2 if ch in GSM7_EXTENDED else 1 for ch in text)
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)  # UTF-16 code units


def segments(text: str, encoding: str) -> int:
    """SMS segments a text costs in an encoding (concatenated parts carry a header)."""
    units = _units(text, encoding)
    if units <= SINGLE[encoding]:
        return 1
    return math.ceil(units / MULTI[encoding])


def _plain_latin(ch: str) -> str:
    """A Latin letter without its accent, if that is a GSM-7 character."""
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    return base if base and is_gsm7(base) and base != ch else ""


def encode(text: str) -> Encoded:
    """Choose the cheapest faithful encoding for a text."""
    swapped = "".join(LOOKALIKES.get(ch, ch) for ch in text)
    if is_gsm7(swapped):
        return Encoded(swapped, "GSM-7", segments(swapped, "GSM-7"))
    outside = [ch for ch in swapped if not (ch in GSM7_BASIC or ch in GSM7_EXTENDED)]
    if len(outside) <= MAX_SIMPLIFIED_SHARE * len(swapped) and all(_plain_latin(ch) for ch in outside):
        simplified = "".join(ch if ch in GSM7_BASIC or ch in GSM7_EXTENDED else _plain_latin(ch) for ch in swapped)
        return Encoded(simplified, "GSM-7", segments(simplified, "GSM-7"))
    return Encoded(text, "UCS-2", segments(text, "UCS-2"))
