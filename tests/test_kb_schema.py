"""The knowledge base validates, and broken files get errors naming file and field."""

from pathlib import Path

import yaml

from bot.kb.hashing import text_hash
from bot.kb.loader import validate
from bot.kb.model import NATIONAL

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "fact_pack.yml"


def _edit(path: Path, change) -> None:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _errors(root: Path) -> str:
    kb, report = validate(root)
    assert kb is None
    return "\n".join(report.errors)


def test_repository_knowledge_base_is_valid():
    kb, report = validate()
    assert report.errors == []
    assert kb is not None


def test_every_fact_has_source_date_and_english(kb):
    for place in kb.jurisdictions.values():
        for fact in place.facts:
            assert fact.sources and fact.as_of and fact.text.english.strip()
            assert fact.last_verified and fact.review_by


def test_every_contract_jurisdiction_is_loaded(kb):
    expected = {
        "national", "florida", "california", "orlando", "orange_county_fl", "miami_dade", "pasadena",
        "bloomington_normal", "chicago", "san_francisco", "washington_dc", "new_york_city", "cincinnati", "madison",
    }
    assert expected <= set(kb.jurisdictions)


def test_every_reference_entry_is_in_the_knowledge_base(kb):
    if not REFERENCE.exists():  # the fact pack lives beside the repository, in shared/
        return
    pack = yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))
    covered = {ref for place in kb.jurisdictions.values() for fact in place.facts for ref in fact.reference}
    missing = {entry["id"] for entry in pack["entries"]} - covered
    assert missing == set()


def test_spanish_translations_are_current(kb):
    for place in kb.jurisdictions.values():
        for fact in place.facts:
            es = fact.text.translations.get("es")
            assert es is not None, fact.id
            assert es.source_hash == text_hash(fact.text.english), fact.id


def test_missing_source_is_named_with_file_and_fact(kb_copy):
    _edit(kb_copy / "jurisdictions" / "orlando.yml", lambda d: d["facts"][0].pop("sources"))
    errors = _errors(kb_copy)
    assert "jurisdictions/orlando.yml: facts[0] (orlando-01): 'sources' is a required property" in errors


def test_bad_date_is_explained(kb_copy):
    def change(doc):
        doc["facts"][1]["as_of"] = "July 2018"

    _edit(kb_copy / "jurisdictions" / "orlando.yml", change)
    errors = _errors(kb_copy)
    assert "facts[1] (orlando-02).as_of: 'July 2018' is not a date written YYYY, YYYY-MM or YYYY-MM-DD" in errors


def test_unknown_topic_and_state_are_errors(kb_copy):
    def change(doc):
        doc["facts"][0]["topic"] = "parking_tickets"
        doc["state"] = "texas"

    _edit(kb_copy / "jurisdictions" / "orlando.yml", change)
    errors = _errors(kb_copy)
    assert "fact orlando-01: topic 'parking_tickets' is not a policy topic of kb/topics.yml" in errors
    assert "state: 'texas' is not the id of a state file" in errors


def test_duplicate_id_and_ambiguous_alias_are_errors(kb_copy):
    def change(doc):
        doc["facts"][0]["id"] = "orlando-02"
        doc["aliases"].append("miami")

    _edit(kb_copy / "jurisdictions" / "orlando.yml", change)
    errors = _errors(kb_copy)
    assert "id 'orlando-02' is used more than once" in errors
    assert "the name or alias 'miami' is also used by" in errors


def test_source_needs_url_or_seed(kb_copy):
    _edit(kb_copy / "jurisdictions" / "orlando.yml", lambda d: d["facts"][0]["sources"].__setitem__(0, {"title": "a rumour"}))
    assert "facts[0] (orlando-01).sources[0]: needs url or seed" in _errors(kb_copy)


def test_invalid_yaml_names_the_file(kb_copy):
    (kb_copy / "jurisdictions" / "orlando.yml").write_text("id: [unclosed\n", encoding="utf-8")
    assert "jurisdictions/orlando.yml: not valid YAML" in _errors(kb_copy)


def test_changed_english_marks_translation_out_of_date(kb_copy):
    def change(doc):
        doc["facts"][0]["text"]["en"] += " Updated."

    _edit(kb_copy / "jurisdictions" / "orlando.yml", change)
    kb, report = validate(kb_copy)
    assert kb is not None
    assert any("orlando-01: the es translation is out of date" in w for w in report.warnings)


def test_translation_must_keep_placeholders(kb_copy):
    def change(doc):
        doc["messages"]["no_local_info"]["text"] = "No tengo informacion local."

    _edit(kb_copy / "messages" / "es.yml", change)
    assert "message no_local_info: the es translation must use the same {placeholders}" in _errors(kb_copy)


def test_national_file_is_required(kb_copy):
    (kb_copy / "national.yml").unlink()
    assert "national.yml: file is missing" in _errors(kb_copy)
    assert NATIONAL == "national"


def test_missing_required_message_is_an_error(kb_copy):
    _edit(kb_copy / "messages" / "en.yml", lambda d: d["messages"].pop("disclaimer"))
    assert "kb/messages/en.yml: messages: 'disclaimer' is missing (the bot needs it)" in _errors(kb_copy)
