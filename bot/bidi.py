"""Keep right-to-left replies readable on channels that carry plain text only.

SMS, WhatsApp and the REST JSON have no `dir` attribute: a phone lays out each line
with the Unicode Bidirectional Algorithm (UAX #9), taking the line's direction from
its first strong character. An Arabic line that starts with "- ", a digit or a Latin
word is then laid out left to right, and embedded Latin runs (source titles, dates,
URLs, phone numbers) drag neighbouring punctuation to the wrong side or come out
reordered. Two marks fix both: a RIGHT-TO-LEFT MARK opening each line, and each
left-to-right run wrapped in LEFT-TO-RIGHT ISOLATE ... POP DIRECTIONAL ISOLATE, which
lays the run out left to right inside and makes it one neutral unit outside.
"""

import re
import unicodedata
from typing import List, Optional

RLM = "\u200f"  # RIGHT-TO-LEFT MARK
LRI = "\u2066"  # LEFT-TO-RIGHT ISOLATE
PDI = "\u2069"  # POP DIRECTIONAL ISOLATE
ISOLATE_INITIATORS = "\u2066\u2067\u2068"  # LRI, RLI, FSI

# Bidi classes that end a left-to-right run: right-to-left letters and Arabic digits,
# separators, and explicit formatting someone else put there.
_RUN_BREAKS = {"R", "AL", "AN", "B", "S", "LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"}
_RTL_LETTERS = {"R", "AL"}

# A URL is kept whole so it stays clickable and copyable: no isolate mark inside it.
_URL = re.compile(r"(?:https?://|www\.)[^\s\u200e\u200f\u202a-\u202e\u2066-\u2069]+", re.IGNORECASE)
# Punctuation that ends the sentence around a URL rather than the URL itself.
_URL_TRAILING = ".,;:!?'\"»)]}…،؛؟"

# Brackets and quotes: a closing one stays inside a run only when the run opened it.
_PAIRS = {"(": ")", "[": "]", "{": "}", '"': '"', "'": "'", "“": "”", "‘": "’"}
_CLOSERS = ")]}"

# A menu number ("4. ") belongs to the right-to-left line, not to the Latin words after it.
_LIST_NUMBER = re.compile(r"[\s\u200f]*(\d+)(?=[.)]\s)")


def isolate_rtl(text: str, direction: str) -> str:
    """The text made safe to show right to left without markup, if `direction` is "rtl".

    Every line that does not begin with a right-to-left letter gets a leading RLM, and
    every maximal left-to-right run (Latin letters, digits, URL and phone characters
    and the neutrals between them, but not the punctuation after them) is wrapped in
    LRI ... PDI. Other directions, and texts without a right-to-left letter (an
    untranslated fallback), come back unchanged. Applying it twice changes nothing more.
    """
    if direction != "rtl" or not any(unicodedata.bidirectional(ch) in _RTL_LETTERS for ch in text):
        return text
    return "\n".join(_line(line) for line in text.split("\n"))


def _line(line: str) -> str:
    out: List[str] = []
    i = 0
    number = _LIST_NUMBER.match(line)
    if number:
        out += [line[: number.start(1)], LRI, number.group(1), PDI]
        i = number.end(1)
    while i < len(line):
        if line[i] in ISOLATE_INITIATORS:
            end = _isolate_end(line, i)  # already isolated: keep as it is
            out.append(line[i:end])
        elif _starts_run(line, i):
            end = _run_end(line, i)
            out += [LRI, line[i:end], PDI]
        else:
            end = i + 1
            out.append(line[i])
        i = end
    result = "".join(out)
    if result.strip() and unicodedata.bidirectional(result[0]) not in _RTL_LETTERS:
        result = RLM + result
    return result


def _isolate_end(line: str, start: int) -> int:
    """Index after the PDI matching the isolate opened at `start` (an unmatched one runs
    to the end of the line, as in UAX #9)."""
    depth = 0
    for i in range(start, len(line)):
        if line[i] in ISOLATE_INITIATORS:
            depth += 1
        elif line[i] == PDI:
            depth -= 1
            if depth == 0:
                return i + 1
    return len(line)


def _starts_run(line: str, i: int) -> bool:
    kind = unicodedata.bidirectional(line[i])
    if kind in ("L", "EN"):
        return True
    # A sign written against a number ("+1 555", "$5") is part of it.
    return kind in ("ES", "ET") and i + 1 < len(line) and unicodedata.bidirectional(line[i + 1]) == "EN"


def _url_end(line: str, start: int) -> Optional[int]:
    """Index after the URL starting at `start`, without the sentence's punctuation."""
    if start > 0 and line[start - 1].isalnum():
        return None
    match = _URL.match(line, start)
    if not match:
        return None
    end = match.end()
    for i in range(start, end):
        if unicodedata.bidirectional(line[i]) in _RUN_BREAKS:
            end = i
            break
    while end > start and line[end - 1] in _URL_TRAILING:
        url = line[start:end]
        if line[end - 1] == ")" and url.count("(") >= url.count(")"):
            break  # a bracket the URL opened, as in Wikipedia addresses
        end -= 1
    return end


def _is_apostrophe(line: str, i: int) -> bool:
    return 0 < i < len(line) - 1 and line[i - 1].isalnum() and line[i + 1].isalpha()


def _run_end(line: str, start: int) -> int:
    """Index after the left-to-right run starting at `start`: up to its last letter,
    digit, URL or closing bracket it opened, leaving trailing punctuation outside."""
    end = start
    closers: List[str] = []
    i = start
    while i < len(line):
        url_end = _url_end(line, i)
        if url_end is not None:
            i = end = url_end
            continue
        ch = line[i]
        kind = unicodedata.bidirectional(ch)
        if kind in _RUN_BREAKS:
            break
        if kind in ("L", "EN") or (kind in ("NSM", "ET") and end == i):
            end = i + 1  # accents and "%" stay with the letter or digit they follow
        elif closers and ch == closers[-1]:
            closers.pop()
            end = i + 1
        elif ch in _CLOSERS:
            break  # closes a bracket of the surrounding sentence
        elif ch in _PAIRS and not _is_apostrophe(line, i):
            closers.append(_PAIRS[ch])
        i += 1
    return end
