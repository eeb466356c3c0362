"""SMS encoding, segment counts, paging and keyword commands."""

import pytest

from bot.sms.encoding import encode, is_gsm7, segments
from bot.sms.keywords import CommandReader
from bot.sms.paging import paginate
from bot.sms.privacy import sender_key


def test_plain_english_is_gsm7_and_160_fits_one_segment():
    assert encode("a" * 160) == encode("a" * 160)
    assert encode("a" * 160).segments == 1 and encode("a" * 161).segments == 2
    assert segments("a" * 306, "GSM-7") == 2 and segments("a" * 307, "GSM-7") == 3


def test_extended_characters_count_twice():
    assert segments("€" * 80, "GSM-7") == 1 and segments("€" * 81, "GSM-7") == 2


def test_smart_punctuation_does_not_force_ucs2():
    result = encode("It’s “fine” — really…")
    assert result.encoding == "GSM-7" and result.text == "It's \"fine\" - really..."


def test_spanish_with_a_few_accents_stays_gsm7_but_keeps_gsm_letters():
    text = "¿Puedo denunciar un crimen? Sí, la policía no debe preguntar su estatus, según la política de 2017 en Miami-Dade."
    result = encode(text)
    assert result.encoding == "GSM-7"
    assert "¿" in result.text and "policia" in result.text
    assert is_gsm7(result.text)


@pytest.mark.parametrize("text", ["警察会问我的身份吗", "هل ستسألني الشرطة", "Cảnh sát có hỏi tình trạng di trú của tôi không"])
def test_scripts_that_need_their_letters_stay_ucs2(text):
    result = encode(text)
    assert result.encoding == "UCS-2" and result.text == text


def test_ucs2_segments_are_70_then_67():
    assert segments("字" * 70, "UCS-2") == 1 and segments("字" * 71, "UCS-2") == 2
    assert segments("字" * 134, "UCS-2") == 2 and segments("字" * 135, "UCS-2") == 3


def test_paging_keeps_every_sentence_and_each_page_fits_three_segments():
    text = " ".join(f"Sentence number {i} says something useful about rights." for i in range(40))
    pages = paginate(text, "Reply MORE for the rest.")
    assert len(pages) > 1
    assert all(encode(p).segments <= 3 for p in pages)
    assert all(p.endswith("Reply MORE for the rest.") for p in pages[:-1])
    joined = " ".join(p.replace("Reply MORE for the rest.", "") for p in pages)
    for i in range(40):
        assert f"Sentence number {i} says" in joined


def test_paging_chinese_without_spaces():
    text = "。".join("警察不能因为你的身份逮捕你" for _ in range(40)) + "。"
    pages = paginate(text, "回复“更多”查看其余内容。")
    assert len(pages) > 1 and all(encode(p).segments <= 3 for p in pages)


def test_short_text_is_one_page():
    assert paginate("Hello.", "MORE") == ["Hello."]


def test_sender_key_is_stable_keyed_and_hides_the_number():
    a = sender_key("secret", "+15555550123")
    assert a == sender_key("secret", "+15555550123")
    assert a != sender_key("other", "+15555550123")
    assert "5555550123" not in a and a.startswith("sms-")


@pytest.mark.parametrize(
    "text,action,language",
    [("STOP", "stop", "en"), ("Parar", "stop", "es"), ("kanpe", "stop", "ht"), ("停止", "stop", "zh"), ("BORRAR", "delete", "es"),
     ("efase", "delete", "ht"), ("apagar", "delete", "pt"), ("删除", "delete", "zh"), ("XÓA", "delete", "vi"), ("حذف", "delete", "ar"),
     ("Supprimer", "delete", "fr"), ("burahin", "delete", "tl"), ("삭제", "delete", "ko"), ("más", "more", "es"), ("help!", "help", "en")],
)
def test_keywords_in_ten_languages(kb, text, action, language):
    command = CommandReader(kb).command(text)
    assert command is not None and (command.action, command.language) == (action, language)


def test_keywords_only_as_whole_messages(kb):
    reader = CommandReader(kb)
    assert reader.command("please stop asking me") is None
    assert reader.menu_choice("2") == "report_crime" and reader.menu_choice("2.") == "report_crime"
    assert reader.menu_choice("22") is None and reader.menu_choice("2 cats") is None


def test_no_sms_page_ends_on_a_heading(kb):
    from bot.compose import Composer

    composer = Composer(kb)
    for language in kb.languages:
        hint = kb.messages["sms_more_hint"].render(language)[0]
        for place in ("chicago", "miami_dade", "orlando", "new_york_city"):
            for topic in (t.id for t in kb.topics.values() if t.kind == "policy"):
                pages = paginate(composer.answer(topic, language, place).text, hint)
                for page in pages[:-1]:
                    body = page[: -len(hint)].rstrip()
                    assert not body.endswith(":"), (language, place, topic, page)
