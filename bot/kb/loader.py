"""Read the knowledge base files, check them against their schemas, build the model.

Every problem is reported with the file and the field it is in, so an organizer can
fix a file without reading code.
"""

import os
import string
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

import jsonschema
import yaml

from bot.kb.hashing import text_hash
from bot.text import tokens
from bot.kb.model import (
    ENGLISH,
    NATIONAL,
    Contact,
    Fact,
    Jurisdiction,
    KnowledgeBase,
    LocalizedText,
    Source,
    TopicSpec,
    Translation,
)

SCHEMA_DIR = Path(__file__).parent / "schemas"
# KYR_KB_DIR points the bot at a knowledge base kept elsewhere (the tests use it too).
DEFAULT_ROOT = Path(os.environ.get("KYR_KB_DIR") or Path(__file__).resolve().parents[2] / "kb")

# Conversation topics the dialogue code relies on (policy topics are data only).
REQUIRED_TOPICS = (
    "greet",
    "help_menu",
    "set_language",
    "set_jurisdiction",
    "thanks_goodbye",
    "delete_my_data",
    "human_help",
    "out_of_scope",
)


# Conversation texts the code composes replies from.
REQUIRED_MESSAGES = (
    "greet", "menu_intro", "menu_footer", "ask_jurisdiction", "jurisdiction_set", "jurisdiction_unknown_set",
    "language_set", "local_header", "state_header", "national_header", "no_local_info", "no_local_fact",
    "no_place_given", "offer_local", "emergency_header", "local_contact", "fact_date_source",
    "status.may_have_changed", "status.outdated", "status.contested", "status.past_review", "disclaimer", "legal_help_pointer",
    "legal_help_fallback", "note.missing_translation", "note.stale_translation", "note.machine_translation",
    "thanks_goodbye", "human_help", "delete_my_data", "out_of_scope", "did_you_mean", "empty_input",
    "sms_more_hint", "sms_no_more", "sms_help", "sms_started", "sms_rate_limited", "sms_text_only",
    "service_unavailable",
)


# A knowledge base as parsed YAML documents keyed by their path inside kb/
# ("topics.yml", "jurisdictions/orlando.yml"): what the database stores per version.
Documents = Dict[str, Any]


class KBError(Exception):
    """The knowledge base has problems; `problems` lists each one for a person to fix."""

    def __init__(self, problems: List[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class Report:
    """What validation found: errors stop the bot, warnings are shown to organizers."""

    errors: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)


@lru_cache(maxsize=None)
def _schema(name: str) -> Dict[str, Any]:
    return yaml.safe_load((SCHEMA_DIR / f"{name}.yml").read_text(encoding="utf-8"))


def _where(path: Iterable[Any], doc: Any) -> str:
    """Render a JSON path like facts[3] (orlando-04).as_of."""
    out = ""
    node = doc
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                out += f" ({node['id']})"
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out or "(top level)"


def _schema_errors(doc: Any, schema_name: str, label: str) -> List[str]:
    validator = jsonschema.Draft7Validator(_schema(schema_name))
    problems = []
    for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
        what = error.schema.get("description") if error.validator == "pattern" else None
        message = f"{error.instance!r} is not {what}" if what else error.message
        if error.validator == "anyOf" and error.validator_value and "required" in error.validator_value[0]:
            options = " or ".join(v["required"][0] for v in error.validator_value)
            message = f"needs {options}"
        problems.append(f"{label}: {_where(error.absolute_path, doc)}: {message}")
    return problems


# libyaml's loader when PyYAML was built with it: ten times faster, same safe subset.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _label(key: str) -> str:
    """How an organizer finds a document: its path in the repository's kb/ folder."""
    return f"kb/{key}"


def read_documents(root: Path) -> Tuple[Documents, Report]:
    """Every YAML file of a knowledge-base folder, parsed, keyed by its path inside it."""
    report = Report()
    documents: Documents = {}
    for path in sorted(root.rglob("*.yml")):
        key = path.relative_to(root).as_posix()
        try:
            documents[key] = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            report.errors.append(f"{_label(key)}: not valid YAML: {exc}")
    return documents, report


def _localized(english: str, translations: Dict[str, Dict[str, str]], key: str = "text") -> LocalizedText:
    return LocalizedText(
        english=english,
        translations={
            lang: Translation(text=t[key], source_hash=t["source_hash"], review=t["review"])
            for lang, t in (translations or {}).items()
        },
    )


def _sources(raw: List[Dict[str, str]]) -> Tuple[Source, ...]:
    return tuple(Source(title=s["title"], url=s.get("url"), seed=s.get("seed")) for s in raw)


def _build_jurisdiction(doc: Dict[str, Any]) -> Jurisdiction:
    jid = doc["id"]
    facts = tuple(
        Fact(
            id=f["id"],
            jurisdiction=jid,
            topic=f["topic"],
            also_topics=tuple(f.get("also_topics", [])),
            level=f["level"],
            status=f["status"],
            contested=bool(f.get("contested", False)),
            with_local=bool(f.get("with_local", False)),
            as_of=f["as_of"],
            last_verified=f["last_verified"],
            review_by=f["review_by"],
            reference=tuple(f["reference"]),
            sources=_sources(f["sources"]),
            text=_localized(f["text"]["en"], f.get("translations", {})),
        )
        for f in doc["facts"]
    )
    contacts = tuple(
        Contact(
            id=c["id"],
            jurisdiction=jid,
            kind=c["kind"],
            name=_localized(c["name"]["en"], c.get("translations", {}), key="name"),
            url=c.get("url"),
            phone=c.get("phone"),
            as_of=c["as_of"],
            sources=_sources(c["sources"]),
            verified=c["verified"],
        )
        for c in doc.get("contacts", [])
    )
    return Jurisdiction(
        id=jid,
        kind=doc["kind"],
        state=doc.get("state"),
        names={lang: tuple(names) for lang, names in doc["names"].items()},
        aliases=tuple(doc.get("aliases", [])),
        facts=facts,
        contacts=contacts,
    )


def _placeholders(text: str) -> set:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _check_translations(label: str, owner: str, text: LocalizedText, report: Report) -> None:
    expected = _placeholders(text.english)
    for lang, translation in text.translations.items():
        if translation.source_hash != text_hash(text.english):
            report.warnings.append(
                f"{label}: {owner}: the {lang} translation is out of date "
                f"(the English changed since it was made); the bot sends English until it is updated"
            )
        if _placeholders(translation.text) != expected:
            report.errors.append(
                f"{label}: {owner}: the {lang} translation must use the same {{placeholders}} "
                f"as the English: {sorted(expected)}"
            )


def _check_jurisdictions(
    places: Dict[str, Tuple[str, Jurisdiction]], topics: Dict[str, TopicSpec], today: date, report: Report
) -> None:
    policy = {t for t, spec in topics.items() if spec.kind == "policy"}
    seen_ids: Dict[str, str] = {}
    seen_names: Dict[str, str] = {}
    for label, place in places.values():
        if place.state is not None:
            state = places.get(place.state)
            if state is None or state[1].kind != "state":
                report.errors.append(f"{label}: state: {place.state!r} is not the id of a state file in kb/jurisdictions/")
        for name in place.all_names():
            key = " ".join(name.lower().split())
            other = seen_names.setdefault(key, place.id)
            if other != place.id:
                report.errors.append(f"{label}: the name or alias {name!r} is also used by {other}; it must be unambiguous")
        for item in list(place.facts) + list(place.contacts):
            if item.id in seen_ids:
                report.errors.append(f"{label}: id {item.id!r} is used more than once (also in {seen_ids[item.id]})")
            seen_ids[item.id] = label
        for fact in place.facts:
            owner = f"fact {fact.id}"
            for topic in (fact.topic,) + fact.also_topics:
                if topic not in policy:
                    report.errors.append(f"{label}: {owner}: topic {topic!r} is not a policy topic of kb/topics.yml")
            if fact.with_local and place.id != NATIONAL:
                report.errors.append(f"{label}: {owner}: with_local is only for national facts")
            if fact.review_by < today.isoformat():
                report.warnings.append(f"{label}: {owner}: past its review-by date {fact.review_by}")
            _check_translations(label, owner, fact.text, report)
        for contact in place.contacts:
            _check_translations(label, f"contact {contact.id}", contact.name, report)


def _load_checked(documents: Documents, key: str, schema: str, report: Report) -> Optional[Any]:
    """A document that passed its schema, or None (problems go to the report)."""
    if key not in documents:
        report.errors.append(f"{_label(key)}: file is missing")
        return None
    doc = documents[key]
    errors = _schema_errors(doc, schema, _label(key))
    report.errors.extend(errors)
    return None if errors else doc


def _load_topics(documents: Documents, report: Report) -> Dict[str, TopicSpec]:
    doc = _load_checked(documents, "topics.yml", "topics", report)
    if doc is None:
        return {}
    topics = {tid: TopicSpec(id=tid, **spec) for tid, spec in doc["topics"].items()}
    for tid in REQUIRED_TOPICS:
        if tid not in topics:
            report.errors.append(f"kb/topics.yml: topics: {tid!r} is missing (the dialogue needs it)")
    return topics


def _load_languages(documents: Documents, report: Report) -> Dict[str, Dict[str, object]]:
    doc = _load_checked(documents, "languages.yml", "languages", report)
    if doc is None:
        return {}
    if ENGLISH not in doc["languages"]:
        report.errors.append("kb/languages.yml: languages: 'en' is required")
    return doc["languages"]


def _load_sms_keywords(documents: Documents, report: Report) -> Dict[str, Dict[str, Tuple[str, ...]]]:
    doc = _load_checked(documents, "sms_keywords.yml", "sms_keywords", report)
    if doc is None:
        return {}
    seen: Dict[str, str] = {}
    for lang, actions in doc["keywords"].items():
        for action, words in actions.items():
            for word in words:
                key = " ".join(tokens(word))
                if seen.setdefault(key, action) != action:
                    report.errors.append(f"kb/sms_keywords.yml: keywords.{lang}.{action}: {word!r} is also a {seen[key]!r} word")
    return {lang: {a: tuple(w) for a, w in actions.items()} for lang, actions in doc["keywords"].items()}


def _load_messages(
    documents: Documents, languages: Iterable[str], required: Iterable[str], report: Report
) -> Dict[str, LocalizedText]:
    docs: Dict[str, Dict[str, Any]] = {}
    for lang in languages:
        key = f"messages/{lang}.yml"
        doc = _load_checked(documents, key, "messages", report)
        if doc is None:
            continue
        if doc["language"] != lang:
            report.errors.append(f"{_label(key)}: language: {doc['language']!r} does not match the file name")
            continue
        docs[lang] = doc["messages"]
    english = docs.get(ENGLISH, {})
    if any(not isinstance(v, str) for v in english.values()):
        report.errors.append("kb/messages/en.yml: messages: English messages are plain strings")
        return {}
    catalog = {key: LocalizedText(english=value) for key, value in english.items()}
    for key in required:
        if ENGLISH in docs and key not in catalog:
            report.errors.append(f"kb/messages/en.yml: messages: {key!r} is missing (the bot needs it)")
    for lang, messages in docs.items():
        if lang == ENGLISH:
            continue
        for key, value in messages.items():
            if key not in catalog:
                report.errors.append(f"kb/messages/{lang}.yml: messages.{key}: no English message has this key")
            elif isinstance(value, str):
                report.errors.append(
                    f"kb/messages/{lang}.yml: messages.{key}: a translation needs text, source_hash and review"
                )
            else:
                catalog[key].translations[lang] = Translation(value["text"], value["source_hash"], value["review"])
    for key, text in catalog.items():
        _check_translations("kb/messages", f"message {key}", text, report)
    return catalog


def validate_documents(documents: Documents, today: Optional[date] = None) -> Tuple[Optional[KnowledgeBase], Report]:
    """Check parsed knowledge-base documents; return the knowledge base (None on errors) and the report."""
    report = Report()
    today = today or date.today()
    topics = _load_topics(documents, report)
    languages = _load_languages(documents, report)
    required = list(REQUIRED_MESSAGES) + [f"topic.{t.id}" for t in topics.values() if t.menu]
    messages = _load_messages(documents, languages, required, report)
    sms_keywords = _load_sms_keywords(documents, report)
    places: Dict[str, Tuple[str, Jurisdiction]] = {}
    keys = ["national.yml"] + sorted(k for k in documents if k.startswith("jurisdictions/"))
    for key in keys:
        label = _label(key)
        doc = _load_checked(documents, key, "jurisdiction", report)
        if doc is None:
            continue
        stem = key.rsplit("/", 1)[-1][: -len(".yml")]
        if doc["id"] != stem:
            report.errors.append(f"{label}: id: {doc['id']!r} must match the file name {stem!r}")
        elif (doc["kind"] == NATIONAL) != (doc["id"] == NATIONAL):
            report.errors.append(f"{label}: kind: only national.yml has kind 'national'")
        else:
            places[doc["id"]] = (label, _build_jurisdiction(doc))
    if topics:
        _check_jurisdictions(places, topics, today, report)
    if report.errors:
        return None, report
    kb = KnowledgeBase(
        jurisdictions={jid: place for jid, (_, place) in places.items()},
        topics=topics,
        messages=messages,
        languages=languages,
        sms_keywords=sms_keywords,
    )
    return kb, report


def validate(root: Path = DEFAULT_ROOT, today: Optional[date] = None) -> Tuple[Optional[KnowledgeBase], Report]:
    """Load and check a knowledge-base folder; return it (None on errors) and the report."""
    documents, read_report = read_documents(root)
    kb, report = validate_documents(documents, today)
    report.errors[:0] = read_report.errors
    return (None if read_report.errors else kb), report


@lru_cache(maxsize=4)
def load(root: Path = DEFAULT_ROOT) -> KnowledgeBase:
    """Load the knowledge base once per process; raise KBError listing every problem."""
    kb, report = validate(root)
    if kb is None:
        raise KBError(report.errors)
    return kb
