"""Right-to-left replies stay readable on plain-text channels (bot/bidi.py)."""

import ctypes
import ctypes.util
import re
import unicodedata
from typing import Optional

import pytest

from bot.bidi import LRI, PDI, RLM, isolate_rtl
from bot.compose import Composer, Reply, message_text
from bot.sms.encoding import encode

BIDI_MARKS = RLM + LRI + "\u2067\u2068" + PDI
# What a linkifier would take as a URL: it stops at spaces and at format characters.
URL = re.compile(r"https?://[^\s\u200e\u200f\u2066-\u2069]+")
PLACES = ["chicago", "miami_dade"]


def first_strong(line: str) -> Optional[str]:
    """"rtl" or "ltr" by a line's first strong character, neutrals skipped (U+200F is class R)."""
    kind = next((k for k in map(unicodedata.bidirectional, line) if k in ("L", "R", "AL")), None)
    return kind and ("ltr" if kind == "L" else "rtl")


def plain(text: str) -> str:
    return "".join(ch for ch in text if ch not in BIDI_MARKS)


def runs(text: str) -> list:
    """The isolated runs of a text, in order."""
    return re.findall(f"{LRI}(.*?){PDI}", text)


def test_latin_title_date_and_source_are_one_isolated_run_without_the_sentence_punctuation():
    text = "(حتى تاريخ 2018-07-23. المصدر: Orlando Weekly: council approves policy (2018-07).)"
    out = isolate_rtl(text, "rtl")
    assert runs(out) == ["2018-07-23", "Orlando Weekly: council approves policy (2018-07)"]
    assert out.endswith(f"{PDI}.)")
    assert plain(out) == text


def test_closing_bracket_of_the_arabic_sentence_stays_outside_the_run():
    out = isolate_rtl("(محامون معتمدون من DOJ): https://www.uscis.gov/find-legal-services.", "rtl")
    assert runs(out) == ["DOJ", "https://www.uscis.gov/find-legal-services"]


@pytest.mark.parametrize("line", ["- DACA هو برنامج", "DACA هو برنامج", "2012 هي السنة", "(ترجمة آلية.)"])
def test_a_line_not_starting_with_an_arabic_letter_gets_a_leading_rlm(line):
    out = isolate_rtl(line, "rtl")
    assert out.startswith(RLM) and first_strong(out) == "rtl"


def test_a_line_starting_with_an_arabic_letter_gets_no_rlm_and_blank_lines_stay_blank():
    out = isolate_rtl("مرحبًا ICE\n\n- نعم", "rtl")
    assert out == f"مرحبًا {LRI}ICE{PDI}\n\n{RLM}- نعم"


def test_menu_number_stays_with_the_arabic_line():
    out = isolate_rtl("يمكنك أن تسألني عن:\n4. DACA\n10. ICE عند بابك", "rtl").split("\n")
    assert out[1] == f"{RLM}{LRI}4{PDI}. {LRI}DACA{PDI}"
    assert out[2] == f"{RLM}{LRI}10{PDI}. {LRI}ICE{PDI} عند بابك"


@pytest.mark.parametrize(
    "url",
    [
        "https://www.uscis.gov/avoid-scams/find-legal-services",
        "https://wsvn.com/news/us-world/sensitive-spots-like-churches/",
        "https://en.wikipedia.org/wiki/Sanctuary_city_(United_States)",
        "https://auuf.org/?p=19328",
    ],
)
def test_url_is_isolated_whole_and_a_simple_regex_still_finds_it(url):
    out = isolate_rtl(f"المصدر: {url}، أو اتصل بنا.", "rtl")
    assert f"{LRI}{url}{PDI}" in out
    assert URL.findall(out) == [url]


def test_phone_number_is_one_run_with_its_plus_sign():
    out = isolate_rtl("اتصل على +1 555 123 4567 الآن.", "rtl")
    assert runs(out) == ["+1 555 123 4567"]


def test_accents_and_percent_stay_with_what_they_follow():
    assert runs(isolate_rtl("مقهى Cafe\u0301، بنسبة 50%.", "rtl")) == ["Cafe\u0301", "50%"]


def test_text_already_isolated_is_left_alone():
    text = f"{RLM}- مرحبًا {LRI}ICE{PDI} و \u2068Jane{PDI}"
    assert isolate_rtl(text, "rtl") == text


@pytest.mark.parametrize("direction", ["ltr", "", "auto"])
def test_other_directions_come_back_unchanged(direction):
    text = "- DACA (2012-06-15): https://uscis.gov/DACA.\n\nهل ستسألني الشرطة"
    assert isolate_rtl(text, direction) is text


def test_a_text_without_arabic_letters_is_left_as_it_is():
    text = "- Parts of this answer are not translated yet (2025-02)."
    assert isolate_rtl(text, "rtl") is text


@pytest.mark.parametrize("place", PLACES)
def test_every_arabic_policy_answer_reads_right_to_left_and_keeps_its_urls(kb, place):
    composer = Composer(kb)
    for topic in (t.id for t in kb.topics.values() if t.kind == "policy"):
        reply = composer.answer(topic, "ar", place)
        raw = "\n\n".join(p for p in reply.paragraphs if p)
        text = reply.text
        assert reply.direction == "rtl" and text != raw
        for line in text.split("\n"):
            if line.strip():
                assert first_strong(line) == "rtl", (topic, place, line)
        assert URL.findall(text) == [u.rstrip(".,;:") for u in URL.findall(raw)], (topic, place)
        assert plain(text) == raw
        assert isolate_rtl(text, "rtl") == text
        assert encode(text).encoding == encode(raw).encoding == "UCS-2"


def test_arabic_menu_and_apology_are_covered_too(kb):
    composer = Composer(kb)
    menu = Reply(topic="help_menu", language="ar")
    menu.paragraphs.append(composer.menu(menu))
    apology = composer.unavailable("ar", "chicago")
    for reply in (menu, apology):
        assert all(first_strong(line) == "rtl" for line in reply.text.split("\n") if line.strip())
    assert f"{LRI}DACA{PDI}" in menu.text
    assert URL.findall(apology.text) == ["https://www.uscis.gov/avoid-scams/find-legal-services"]


def test_sms_channel_messages_are_isolated_in_arabic_only(kb):
    params = {"operator": "Example Legal Aid", "contact": "+1 555 123 4567"}
    assert f"{LRI}+1 555 123 4567{PDI}" in message_text(kb, "sms_help", "ar", **params)
    english = message_text(kb, "sms_help", "en", **params)
    assert english == kb.messages["sms_help"].english.format(**params)


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("place", PLACES)
def test_english_and_spanish_answers_are_byte_identical_and_cost_the_same_sms(kb, language, place):
    composer = Composer(kb)
    for topic in (t.id for t in kb.topics.values() if t.kind == "policy"):
        reply = composer.answer(topic, language, place)
        raw = "\n\n".join(p for p in reply.paragraphs if p)
        assert reply.direction == "ltr"
        assert reply.text.encode() == isolate_rtl(raw, "ltr").encode() == raw.encode()
        assert encode(reply.text) == encode(raw)


FRIBIDI = ctypes.util.find_library("fribidi")


def _visual(line: str) -> str:
    """The line as a phone would show it (GNU FriBidi, direction from the text), marks dropped."""
    lib = ctypes.CDLL(FRIBIDI)
    size = len(line)
    visual = (ctypes.c_uint32 * size)()
    direction = ctypes.c_uint32(0x40)  # FRIBIDI_PAR_ON: from the first strong character
    lib.fribidi_log2vis((ctypes.c_uint32 * size)(*map(ord, line)), size, ctypes.byref(direction), visual, None, None, None)
    assert direction.value == 0x111  # FRIBIDI_PAR_RTL
    return plain("".join(map(chr, visual)))


@pytest.mark.skipif(FRIBIDI is None, reason="GNU FriBidi is not installed")
def test_a_real_bidi_implementation_shows_dates_phones_and_titles_in_order():
    line = "- (حتى تاريخ 2018-07-23. المصدر: ILRC red card, 2025-02.) اتصل على +1 555 123 4567."
    shown = _visual(isolate_rtl(line, "rtl"))
    assert "2018-07-23" in shown and "+1 555 123 4567" in shown and "ILRC red card, 2025-02" in shown
    assert shown.rstrip().endswith("-")  # the bullet is on the right, where the line starts
