"""The widget's built script and the channel's origin list, without a server."""

import gzip
import json
import re

from bot.kb.model import KnowledgeBase
from channels.ratelimit import RateLimit
from channels.widget import WidgetInput, parse_origins, widget_replies
from server.widget_bundle import asset, build_widget_js, widget_languages, widget_strings

MAX_GZIP_BYTES = 20 * 1024


def test_every_language_has_every_interface_text(kb: KnowledgeBase) -> None:
    strings = widget_strings(kb)
    assert set(strings) == set(kb.languages)
    keys = set(strings["en"])
    assert {"open", "close", "quick_exit", "language", "send", "input_label", "error", "rate_limited"} <= keys
    for lang, texts in strings.items():
        assert set(texts) == keys, lang
        if lang != "en":
            translated = [k for k in keys if texts[k] != strings["en"][k]]
            assert len(translated) >= len(keys) - 2, f"{lang}: only {translated} translated"


def test_arabic_is_the_right_to_left_language_and_names_are_their_own(kb: KnowledgeBase) -> None:
    languages = {entry["code"]: entry for entry in widget_languages(kb)}
    assert [code for code, entry in languages.items() if entry["dir"] == "rtl"] == ["ar"]
    assert languages["es"]["name"] == "Español"
    assert re.search(r"[\u0600-\u06ff]", languages["ar"]["name"])


def test_built_script_has_its_placeholders_filled_and_stays_small(kb: KnowledgeBase) -> None:
    script = build_widget_js(kb)
    assert "__KYR_" not in script
    strings = json.loads(re.search(r"var STRINGS = (\{.*?\});\n", script).group(1))
    assert strings["ar"]["send"] == widget_strings(kb)["ar"]["send"]
    built = asset(script, "application/javascript")
    assert gzip.decompress(built.gzipped) == built.body
    assert len(built.gzipped) <= MAX_GZIP_BYTES


def test_origins_are_normalised_and_junk_is_ignored() -> None:
    origins = parse_origins("https://Casa.example.org, http://127.0.0.1:8080/path  javascript:alert(1) ,ftp://x.org, ")
    assert origins == {"https://casa.example.org", "http://127.0.0.1:8080"}
    assert parse_origins(None) == frozenset()


def test_reply_payload_is_joined_to_its_text() -> None:
    collected = [
        {"recipient_id": "web-x", "text": "First paragraph."},
        {"recipient_id": "web-x", "text": "Answer"},
        {"recipient_id": "web-x", "custom": {"topic": "daca", "language": "es", "sources": [], "fact_ids": ["a"]}},
    ]
    assert widget_replies(collected) == [{"text": "First paragraph.\n\nAnswer", "topic": "daca", "language": "es", "sources": []}]


def test_typed_slash_text_is_not_an_intent_trigger_but_topic_buttons_are(kb: KnowledgeBase) -> None:
    channel = WidgetInput(frozenset(), RateLimit(1, 1), kb)
    assert channel._text("/report_crime") == "/report_crime"
    assert channel._text('/delete_my_data{"jurisdiction": "chicago"}') == 'delete_my_data{"jurisdiction": "chicago"}'
    assert channel._text("//nlu_fallback") == "nlu_fallback"
    assert channel._text("/not_a_topic") == "not_a_topic"
    assert channel._text(None) == ""


def test_only_the_widgets_own_metadata_reaches_the_dialogue(kb: KnowledgeBase) -> None:
    channel = WidgetInput(frozenset(), RateLimit(1, 1), kb)
    raw = {"jurisdiction": "orlando", "language": "xx", "chosen_language": "ar", "sender_phone": "+1555", "intent": "x"}
    assert channel._metadata(raw) == {"jurisdiction": "orlando", "chosen_language": "ar"}
    assert channel._metadata({"jurisdiction": "atlantis"}) == {}
    assert channel._metadata("junk") == {}
