"""Split a long reply into SMS pages of at most a few segments, at sentence ends."""

import re
from typing import List, Tuple

from bot.sms.encoding import encode

MAX_SEGMENTS = 3

# A sentence ends at . ! ? followed by a space, right after the CJK full stops, or at a
# line break.
_SENTENCE_END = re.compile(r"(?<=[.!?؟])\s+|(?<=[。！？])\s*|\n+")


def sentences(text: str) -> List[str]:
    """The text cut after each sentence end, keeping the pieces' own text."""
    return [piece for piece in _SENTENCE_END.split(text) if piece.strip()]


def _fits(text: str, max_segments: int) -> bool:
    return encode(text).segments <= max_segments


def _hard_split(piece: str, more_hint: str, max_segments: int) -> List[str]:
    """Cut one over-long sentence at spaces (or anywhere, for scripts without them)."""
    parts: List[str] = []
    current = ""
    for token in re.split(r"(\s+)", piece) if " " in piece else list(piece):
        if current and not _fits(f"{current}{token}\n{more_hint}", max_segments):
            parts.append(current.strip())
            current = token.lstrip()
        else:
            current += token
    if current.strip():
        parts.append(current.strip())
    return parts


def _is_heading(line: str) -> bool:
    return line.rstrip().endswith(":")


def _fill(head: str, piece: str, more_hint: str, max_segments: int) -> Tuple[str, str]:
    """The page `head` plus as much of `piece` as fits with the hint, and the rest of `piece`."""
    tokens = re.split(r"(\s+)", piece) if " " in piece else list(piece)
    taken = 0
    while taken < len(tokens) and _fits(f"{head}\n{''.join(tokens[: taken + 1])}\n{more_hint}", max_segments):
        taken += 1
    first = "".join(tokens[:taken]).strip()
    return (f"{head}\n{first}" if first else head), "".join(tokens[taken:]).strip()


def paginate(text: str, more_hint: str, max_segments: int = MAX_SEGMENTS) -> List[str]:
    """Pages of at most `max_segments` segments each; all but the last end with the hint.

    The hint ("Reply MORE for the rest") is counted inside the page it ends.
    """
    if _fits(text, max_segments):
        return [text]
    pieces: List[str] = []
    for sentence in sentences(text):
        fits = _fits(f"{sentence}\n{more_hint}", max_segments)
        pieces.extend([sentence] if fits else _hard_split(sentence, more_hint, max_segments))
    pages: List[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current}\n{piece}" if current else piece
        if current and not _fits(f"{candidate}\n{more_hint}", max_segments):
            # A page never ends on a heading ("Chicago:"): the heading goes with what follows it.
            body, _, last = current.rpartition("\n")
            if body and _is_heading(last):
                pages.append(body)
                current, candidate = last, f"{last}\n{piece}"
                if _fits(f"{candidate}\n{more_hint}", max_segments):
                    current = candidate
                    continue
            if _is_heading(current):
                page, current = _fill(current, piece, more_hint, max_segments)
                pages.append(page)
            else:
                pages.append(current)
                current = piece
        else:
            current = candidate
    pages.append(current)
    return [f"{page}\n{more_hint}" for page in pages[:-1]] + [pages[-1]]
