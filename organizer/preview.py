"""The reply exactly as the bot would compose it from some documents, for SMS and the web."""

from dataclasses import dataclass
from typing import List

from bot.compose import Composer
from bot.kb.loader import Documents
from bot.sms.encoding import encode
from storage.kb_versions import checked


@dataclass(frozen=True)
class Preview:
    """One reply, as SMS (encoding and segment count) and as web paragraphs."""

    language: str
    direction: str
    sms_text: str
    encoding: str
    segments: int
    paragraphs: List[str]
    fact_ids: List[str]


def preview(documents: Documents, jurisdiction: str, topic: str, language: str) -> Preview:
    """Compose the bot's answer on a topic for a place and language from these documents."""
    kb = checked(documents)
    reply = Composer(kb).answer(topic, language, jurisdiction)
    sms = encode(reply.text)
    return Preview(
        language=language,
        direction=str(kb.languages.get(language, {}).get("direction", "ltr")),
        sms_text=sms.text,
        encoding=sms.encoding,
        segments=sms.segments,
        paragraphs=[p for p in reply.paragraphs if p],
        fact_ids=list(reply.fact_ids),
    )
