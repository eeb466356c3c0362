"""Changes an organizer makes to knowledge-base documents, as pure functions.

Each returns the changed document(s) only, as new objects; the published version is
never touched. A translation written by a person is stored with review "reviewed":
it reaches the bot only through a reviewer's approval, which is the review.
"""

import copy
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from bot.kb.hashing import text_hash
from bot.kb.loader import Documents
from bot.kb.model import ENGLISH, NATIONAL

FACT_FIELDS = ("as_of", "last_verified", "review_by", "status")


class EditError(ValueError):
    """A change that cannot be made as asked; the message says what to fix."""


def jurisdiction_key(jurisdiction_id: str) -> str:
    """The document key of a jurisdiction ("national.yml" or "jurisdictions/<id>.yml")."""
    return "national.yml" if jurisdiction_id == NATIONAL else f"jurisdictions/{jurisdiction_id}.yml"


def jurisdiction_of_fact(documents: Documents, fact_id: str) -> str:
    """The jurisdiction id a fact id belongs to."""
    for key, doc in documents.items():
        if key == "national.yml" or key.startswith("jurisdictions/"):
            if any(f["id"] == fact_id for f in doc.get("facts", [])):
                return doc["id"]
    raise EditError(f"no fact {fact_id!r} in the knowledge base")


def _find(items: List[Dict[str, Any]], item_id: str, what: str) -> Dict[str, Any]:
    for item in items:
        if item["id"] == item_id:
            return item
    raise EditError(f"no {what} {item_id!r}")


def parse_sources(text: str) -> List[Dict[str, str]]:
    """Sources typed one per line as "title | https://address" (or "title | seed file")."""
    sources = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        title, _, where = (part.strip() for part in line.partition("|"))
        if not title or not where:
            raise EditError(f"source line {number}: write it as: title | https://address")
        sources.append({"title": title, "url": where} if where.startswith("http") else {"title": title, "seed": where})
    if not sources:
        raise EditError("a fact needs at least one source")
    return sources


def format_sources(sources: Sequence[Dict[str, str]]) -> str:
    """The inverse of parse_sources, for the edit form."""
    return "\n".join(f"{s['title']} | {s.get('url') or s.get('seed', '')}" for s in sources)


@dataclass(frozen=True)
class FactEdit:
    """What an edit form sends for one fact in one language."""

    fact_id: str
    language: str
    text: str
    sources: Optional[str] = None  # one per line, see parse_sources
    as_of: Optional[str] = None
    last_verified: Optional[str] = None
    review_by: Optional[str] = None
    status: Optional[str] = None


def edit_fact(documents: Documents, edit: FactEdit) -> Tuple[str, Dict[str, Any]]:
    """Apply a fact edit; return (document key, changed jurisdiction document).

    A new English text leaves the translations as they are: their fingerprint of the
    English no longer matches, so they show as out of date and the bot sends English
    until they are translated again.
    """
    text = " ".join(edit.text.split())
    if not text:
        raise EditError("the text is empty")
    jurisdiction = jurisdiction_of_fact(documents, edit.fact_id)
    key = jurisdiction_key(jurisdiction)
    doc = copy.deepcopy(documents[key])
    fact = _find(doc["facts"], edit.fact_id, "fact")
    if edit.language == ENGLISH:
        fact["text"]["en"] = text
    else:
        fact.setdefault("translations", {})[edit.language] = {
            "text": text,
            "source_hash": text_hash(fact["text"]["en"]),
            "review": "reviewed",
        }
    if edit.sources is not None:
        fact["sources"] = parse_sources(edit.sources)
    for name in FACT_FIELDS:
        value = getattr(edit, name)
        if value:
            fact[name] = value.strip()
    return key, doc


# What an organizer-written fact cites instead of entries of the project's reference fact pack.
ORGANIZER_REFERENCE = "organizer-app"


def new_fact(documents: Documents, jurisdiction_id: str, topic: str, level: str, edit: FactEdit) -> Tuple[str, Dict[str, Any]]:
    """Add a fact (English text, sources, dates) to a jurisdiction, with the next free id."""
    key = jurisdiction_key(jurisdiction_id)
    if key not in documents:
        raise EditError(f"no jurisdiction {jurisdiction_id!r}")
    text = " ".join(edit.text.split())
    if not text:
        raise EditError("the text is empty")
    doc = copy.deepcopy(documents[key])
    taken = {int(m.group(1)) for f in doc["facts"] if (m := re.fullmatch(rf"{jurisdiction_id}-(\d+)", f["id"]))}
    fact_id = f"{jurisdiction_id}-{max(taken, default=0) + 1:02d}"
    fact: Dict[str, Any] = {
        "id": fact_id,
        "topic": topic,
        "level": level,
        "status": edit.status or "current",
        "as_of": (edit.as_of or "").strip(),
        "last_verified": (edit.last_verified or "").strip(),
        "review_by": (edit.review_by or "").strip(),
        "reference": [ORGANIZER_REFERENCE],
        "sources": parse_sources(edit.sources or ""),
        "text": {"en": text},
    }
    doc["facts"].append(fact)
    return key, doc


def approve_translation(documents: Documents, fact_id: str, language: str) -> Tuple[str, Dict[str, Any]]:
    """Mark a fact's machine translation as reviewed, unchanged (a fluent reader approved it)."""
    key = jurisdiction_key(jurisdiction_of_fact(documents, fact_id))
    doc = copy.deepcopy(documents[key])
    fact = _find(doc["facts"], fact_id, "fact")
    translation = fact.get("translations", {}).get(language)
    if translation is None:
        raise EditError(f"fact {fact_id} has no {language} translation to approve")
    if translation["source_hash"] != text_hash(fact["text"]["en"]):
        raise EditError(f"the {language} translation of {fact_id} is out of date: translate the new English first")
    translation["review"] = "reviewed"
    return key, doc


def split_names(text: str) -> List[str]:
    """Names or aliases typed comma-separated or one per line."""
    return [n.strip() for n in re.split(r"[,\n]", text) if n.strip()]


def new_jurisdiction(
    documents: Documents, jurisdiction_id: str, kind: str, state: Optional[str], names: Dict[str, List[str]], aliases: List[str]
) -> Tuple[str, Dict[str, Any]]:
    """A new city, county or state with its names per language and aliases, no facts yet.

    Until facts are added the bot answers there with the state's and national guidance,
    labelled as such.
    """
    if not re.fullmatch(r"[a-z_]+", jurisdiction_id or ""):
        raise EditError("the id is lowercase letters and underscores, like tampa or orange_county_fl")
    key = jurisdiction_key(jurisdiction_id)
    if key in documents:
        raise EditError(f"{jurisdiction_id!r} already exists")
    if not names.get(ENGLISH):
        raise EditError("an English name is required")
    doc: Dict[str, Any] = {"id": jurisdiction_id, "kind": kind}
    if state:
        doc["state"] = state
    doc["names"] = {lang: list(values) for lang, values in names.items() if values}
    doc["aliases"] = list(aliases)
    doc["contacts"] = []
    doc["facts"] = []
    return key, doc


def edit_names(
    documents: Documents, jurisdiction_id: str, names: Dict[str, List[str]], aliases: List[str]
) -> Tuple[str, Dict[str, Any]]:
    """Replace a jurisdiction's names (per language) and aliases."""
    key = jurisdiction_key(jurisdiction_id)
    if key not in documents:
        raise EditError(f"no jurisdiction {jurisdiction_id!r}")
    if not names.get(ENGLISH):
        raise EditError("an English name is required")
    doc = copy.deepcopy(documents[key])
    doc["names"] = {lang: list(values) for lang, values in names.items() if values}
    doc["aliases"] = list(aliases)
    return key, doc


@dataclass(frozen=True)
class ContactEdit:
    """A legal-help or rapid-response contact as the form sends it."""

    jurisdiction: str
    contact_id: str
    kind: str
    name: str
    url: str
    phone: str
    as_of: str
    sources: str
    verified: bool


def edit_contact(documents: Documents, edit: ContactEdit) -> Tuple[str, Dict[str, Any]]:
    """Add or change a contact of a jurisdiction (matched by its id)."""
    key = jurisdiction_key(edit.jurisdiction)
    if key not in documents:
        raise EditError(f"no jurisdiction {edit.jurisdiction!r}")
    doc = copy.deepcopy(documents[key])
    contacts = doc.setdefault("contacts", [])
    existing = next((c for c in contacts if c["id"] == edit.contact_id), None)
    contact: Dict[str, Any] = {
        "id": edit.contact_id,
        "kind": edit.kind,
        "name": {"en": " ".join(edit.name.split())},
        "as_of": edit.as_of.strip(),
        "sources": parse_sources(edit.sources),
        "verified": edit.verified,
    }
    if existing and existing.get("translations"):
        contact["translations"] = existing["translations"]
    if edit.url.strip():
        contact["url"] = edit.url.strip()
    if edit.phone.strip():
        contact["phone"] = edit.phone.strip()
    if existing:
        contacts[contacts.index(existing)] = contact
    else:
        contacts.append(contact)
    return key, doc
