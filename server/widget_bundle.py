"""Build widget.js: the widget's script with its stylesheet and its interface texts in
every language inlined, so a host page loads one file and nothing else."""

import gzip
import hashlib
import json
from dataclasses import dataclass
from typing import Dict, List

from bot.kb.model import KnowledgeBase
from bot.settings import ROOT

WIDGET_DIR = ROOT / "widget"
STRING_PREFIX = "widget."
PLACEHOLDERS = ("__KYR_CSS__", "__KYR_STRINGS__", "__KYR_LANGUAGES__")


@dataclass(frozen=True)
class Asset:
    """A built file, plain and gzipped, with its ETag."""

    body: bytes
    gzipped: bytes
    etag: str
    content_type: str


def widget_strings(kb: KnowledgeBase) -> Dict[str, Dict[str, str]]:
    """Interface texts per language, keyed without the "widget." prefix.

    A stale or missing translation falls back to English, as everywhere in the bot.
    """
    keys = [k for k in kb.messages if k.startswith(STRING_PREFIX)]
    return {
        lang: {k[len(STRING_PREFIX):]: kb.messages[k].render(lang)[0] for k in keys}
        for lang in kb.languages
    }


def widget_languages(kb: KnowledgeBase) -> List[Dict[str, str]]:
    """The language menu: code, the language's own name, and its writing direction."""
    return [
        {"code": code, "name": str(spec["name"]), "dir": str(spec.get("direction", "ltr"))}
        for code, spec in kb.languages.items()
    ]


def build_widget_js(kb: KnowledgeBase) -> str:
    """widget/widget.js with the CSS, the texts and the language list filled in."""
    source = (WIDGET_DIR / "widget.js").read_text(encoding="utf-8")
    values = (
        (WIDGET_DIR / "widget.css").read_text(encoding="utf-8"),
        widget_strings(kb),
        widget_languages(kb),
    )
    for placeholder, value in zip(PLACEHOLDERS, values):
        if placeholder not in source:
            raise ValueError(f"widget/widget.js lost its {placeholder} placeholder")
        source = source.replace(placeholder, json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    return source


def asset(text: str, content_type: str) -> Asset:
    """Package a text file for serving."""
    body = text.encode("utf-8")
    return Asset(
        body=body,
        gzipped=gzip.compress(body, compresslevel=9, mtime=0),
        etag='"' + hashlib.sha256(body).hexdigest()[:16] + '"',
        content_type=content_type,
    )


def main() -> None:
    """Print the built widget's size: `python -m server.widget_bundle`."""
    from bot.kb.loader import load

    built = asset(build_widget_js(load()), "application/javascript")
    print(f"widget.js: {len(built.body)} bytes, {len(built.gzipped)} bytes gzipped")


if __name__ == "__main__":
    main()
