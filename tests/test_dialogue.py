"""The dialogue answers topic x jurisdiction x language from the knowledge base only."""

from dataclasses import replace

import pytest
import yaml

from bot.dialogue import default_dialogue, Dialogue, State, Turn
from bot.kb.loader import validate
from bot.kb.model import NATIONAL


def say(dialogue, text, intent, state=None, mentions=(), **metadata):
    return dialogue.respond(Turn(text=text, intent=intent, place_mentions=mentions, metadata=metadata), state or State())


def owners(kb, fact_ids):
    return {fid: place.id for place in kb.jurisdictions.values() for f in place.facts for fid in fact_ids if f.id == fid}


def test_orlando_status_question_gives_orlando_and_florida_facts_with_dates(dialogue):
    out = say(dialogue, "will the police ask about my immigration status in orlando?", "police_status_questions", mentions=["orlando"])
    meta = out.reply.metadata()
    assert meta["topic"] == "police_status_questions"
    assert meta["jurisdiction"] == "orlando"
    assert meta["language"] == "en"
    assert {"orlando-01", "orlando-02"} <= set(meta["fact_ids"])
    assert any(f.startswith("florida-") for f in meta["fact_ids"])
    text = out.reply.text
    assert "As of 2018" in text and "Source:" in text
    assert "may have changed" in text
    assert "not legal advice" in text
    assert out.state.jurisdiction == "orlando"


def test_miami_crime_report_in_spanish_keeps_clearly_relevant_caveat(dialogue):
    out = say(dialogue, "¿puedo denunciar un crimen en Miami sin que me deporten?", "report_crime", mentions=["Miami"])
    meta = out.reply.metadata()
    assert meta["language"] == "es" and meta["jurisdiction"] == "miami_dade"
    assert "miami_dade-01" in meta["fact_ids"]
    assert "claramente relevante" in out.reply.text
    assert "Fuente:" in out.reply.text and "no asesoría legal" in out.reply.text


def test_u_visa_without_city_gives_national_guidance_and_offers_local(dialogue):
    out = say(dialogue, "what is a U visa", "u_visa")
    meta = out.reply.metadata()
    assert meta["jurisdiction"] is None
    assert meta["fact_ids"] and all(f.startswith("national-") for f in meta["fact_ids"])
    assert "Tell me your city" in out.reply.text


def test_unknown_city_gets_honest_no_local_info_and_no_other_citys_facts(dialogue):
    out = say(dialogue, "will police ask my status in Houston", "police_status_questions", mentions=["Houston"])
    text, meta = out.reply.text, out.reply.metadata()
    assert text.startswith("I have no local information for Houston.")
    assert meta["jurisdiction"] is None
    assert meta["fact_ids"] and all(f.startswith("national-") for f in meta["fact_ids"])
    assert "legal help" in text


def test_emergency_comes_first_and_never_asks_back(dialogue):
    out = say(dialogue, "ICE is at my door", "ice_at_home")
    assert out.reply.paragraphs[0].startswith("If ICE is at your door now:")
    assert out.reply.metadata()["fact_ids"][0] == "national-27"
    assert "Which city" not in out.reply.text
    assert out.state.pending_topic is None


def test_emergency_adds_local_contact_when_city_known(dialogue, kb):
    contact = kb.contacts("madison")[0]
    out = say(dialogue, "ICE is at my door", "ice_at_home", state=State(jurisdiction="madison", language="en"))
    assert out.reply.paragraphs[0].startswith("If ICE is at your door now:")
    assert contact.url in out.reply.text


def test_asks_for_city_once_then_answers_the_pending_question(dialogue):
    first = say(dialogue, "does the jail hold people for ice", "ice_detainers")
    assert first.reply.text.startswith("Which city or county")
    assert first.state.pending_topic == "ice_detainers"
    second = say(dialogue, "miami", "set_jurisdiction", state=first.state, mentions=["miami"])
    assert second.reply.metadata()["topic"] == "ice_detainers"
    assert second.reply.metadata()["jurisdiction"] == "miami_dade"
    assert second.state.pending_topic is None


def test_no_second_asking_when_person_gives_no_city(dialogue):
    first = say(dialogue, "is this a sanctuary city", "local_policy_overview")
    second = say(dialogue, "i dont know", "out_of_scope", state=first.state)
    assert second.reply.metadata()["topic"] == "local_policy_overview"
    assert "general guidance" in second.reply.text
    third = say(dialogue, "does the jail hold people", "ice_detainers", state=second.state)
    assert "Which city" not in third.reply.text


def test_language_choice_sticks_until_changed(dialogue):
    chosen = say(dialogue, "español por favor", "set_language")
    assert chosen.state.language == "es" and chosen.state.language_chosen
    assert "español" in chosen.reply.text
    later = say(dialogue, "what is a u visa", "u_visa", state=chosen.state)
    assert later.reply.metadata()["language"] == "es"
    back = say(dialogue, "english please", "set_language", state=later.state)
    assert back.state.language == "en"


def test_context_city_and_language_from_channel_metadata(dialogue):
    out = say(dialogue, "does the jail hold people for immigration", "ice_detainers", jurisdiction="orange_county_fl", language="es")
    meta = out.reply.metadata()
    assert meta["jurisdiction"] == "orange_county_fl"
    # The question is clearly English, so it is answered in English.
    assert meta["language"] == "en"


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_topic_and_place_uses_only_its_own_facts(dialogue, kb, language):
    policy = [t for t, s in kb.topics.items() if s.kind == "policy"]
    for place in kb.jurisdictions.values():
        if place.id == NATIONAL:
            continue
        allowed = {place.id, NATIONAL, place.state}
        for topic in policy:
            out = dialogue.composer.answer(topic, language, place.id)
            used = owners(kb, out.fact_ids)
            assert set(used.values()) <= allowed, (place.id, topic, used)
            assert out.text.strip()
            assert out.sources, (place.id, topic)


@pytest.mark.parametrize(
    "text",
    ["", "   \n\t ", "a" * 10_000, "😀😀🙏", "<script>alert(1)</script>", "'; DROP TABLE events; --", "\x00\x01\xff\xfe garbage \ufffd"],
)
def test_bad_input_gets_a_friendly_reply(dialogue, text):
    out = say(dialogue, text, "out_of_scope")
    assert out.reply.text.strip()
    assert "<script>" not in out.reply.text


def test_missing_translation_falls_back_to_english_with_note(kb_copy):
    path = kb_copy / "national.yml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    fact = next(f for f in doc["facts"] if f["id"] == "national-27")
    fact.pop("translations")
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    kb, _ = validate(kb_copy)
    out = Dialogue(kb, _detector()).composer.answer("ice_at_home", "es")
    assert fact["text"]["en"].split()[0] in out.text
    assert "aún no están traducidas" in out.text


def test_stale_translation_sends_current_english_with_marker(kb_copy):
    path = kb_copy / "national.yml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    fact = next(f for f in doc["facts"] if f["id"] == "national-27")
    fact["text"]["en"] = fact["text"]["en"] + " Updated sentence."
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    kb, _ = validate(kb_copy)
    out = Dialogue(kb, _detector()).composer.answer("ice_at_home", "es")
    assert "Updated sentence." in out.text
    assert "hasta que se revise la traducción" in out.text


def _detector():
    # The process's detector (training one takes seconds); these tests only compose.
    return default_dialogue().detector


def test_unlisted_city_in_a_known_state_gets_state_law_but_no_city_facts(dialogue):
    out = say(dialogue, "will police ask my status in jacksonville fl", "police_status_questions", mentions=["jacksonville"])
    meta = out.reply.metadata()
    assert out.reply.text.startswith("I have no local information for Jacksonville.")
    assert meta["unlisted_place"] == "Jacksonville"
    assert any(f.startswith("florida-") for f in meta["fact_ids"])
    assert not any(f.startswith(("orlando-", "miami_dade-", "orange_county_fl-")) for f in meta["fact_ids"])


def test_generic_words_are_not_places(dialogue):
    for text in ("sale el viernes del county", "can the police ask in the us", "i feel normal"):
        assert dialogue.resolver.match(text) is None, text


def test_unsure_nlu_leans_to_the_emergency_script(dialogue):
    turn = Turn(text="theres men with vests outside my door", intent="nlu_fallback", best_guess="ice_at_home")
    out = dialogue.respond(turn, State())
    assert out.reply.metadata()["topic"] == "ice_at_home"
    unsure = Turn(text="blah blah", intent="nlu_fallback", best_guess="daca")
    assert dialogue.respond(unsure, State()).reply.metadata()["topic"] == "out_of_scope"


def test_an_unsure_guess_is_asked_about_not_answered(dialogue):
    unsure = Turn(text="what about the dreamer thing", intent="nlu_fallback", best_guess="daca")
    reply = dialogue.respond(unsure, State()).reply
    assert reply.metadata()["topic"] == "out_of_scope" and not reply.metadata()["fact_ids"]
    assert reply.metadata()["suggested_topic"] == "daca"
    assert "Did you mean: DACA" in reply.text and "(number 4 below)" in reply.text and "4. DACA" in reply.text
    spanish = dialogue.respond(replace(unsure, text="y lo de los dreamers que onda"), State(language="es")).reply.text
    assert "¿Quiso decir:" in spanish and "(número 4 abajo)" in spanish
    # Sure that it is off-topic, or unsure between topics the menu does not list: no question.
    for turn in (Turn(text="recipe for rice", intent="out_of_scope", best_guess="out_of_scope"),
                 Turn(text="hmm the list", intent="nlu_fallback", best_guess="info_sharing")):
        text = dialogue.respond(turn, State()).reply.text
        assert "Did you mean" not in text and "Sorry, I can only answer" in text


@pytest.mark.parametrize(
    "text,language",
    [("kreyòl", "ht"), ("中文", "zh"), ("tiếng việt", "vi"), ("عربي", "ar"), ("português", "pt"), ("français", "fr"), ("tagalog", "tl"), ("한국어", "ko")],
)
def test_naming_a_language_switches_to_it_and_sticks(dialogue, text, language):
    chosen = say(dialogue, text, "out_of_scope")
    assert chosen.state.language == language and chosen.state.language_chosen
    later = say(dialogue, "what is DACA", "daca", state=chosen.state)
    assert later.reply.metadata()["language"] == language


@pytest.mark.parametrize(
    "text,language",
    [("no hablo ingles", "es"), ("mwen pa pale angle", "ht"), ("eu não falo inglês", "pt"), ("je ne parle pas anglais", "fr"),
     ("我不会说英语", "zh"), ("영어 못해요", "ko"), ("tôi không nói tiếng anh", "vi"), ("hindi ako marunong ng english", "tl"),
     ("لا أتكلم الإنجليزية", "ar"), ("i don’t speak spanish", "en")],
)
def test_saying_you_do_not_speak_a_language_does_not_switch_to_it(dialogue, text, language):
    out = say(dialogue, text, "set_language")
    assert out.state.language == language and out.reply.metadata()["language"] == language


@pytest.mark.parametrize("text,language", [("no, english please", "en"), ("no english, spanish please", "es"), ("我不要英语，要中文", "zh")])
def test_a_negation_in_another_clause_leaves_the_request_standing(dialogue, text, language):
    assert say(dialogue, text, "set_language").state.language == language


@pytest.mark.parametrize(
    "text,place",
    [("警察会问我的身份吗 奥兰多", "orlando"), ("올랜도에서 경찰이 신분을 물어보나요", "orlando"), ("هل ستسألني الشرطة في ميامي", "miami_dade"), ("Mayami", "miami_dade")],
)
def test_places_in_other_scripts(dialogue, text, place):
    assert dialogue.resolver.match(text) == place


@pytest.mark.parametrize(
    "text,language",
    [("hola", "es"), ("bonjou", "ht"), ("sak pase", "ht"), ("bonjour", "fr"), ("xin chào", "vi"), ("obrigado", "pt"),
     ("salamat po", "tl"), ("안녕하세요", "ko"), ("你好", "zh"), ("مرحبا", "ar"), ("good morning", "en")],
)
def test_short_greetings_are_detected_in_their_language(dialogue, text, language):
    found = dialogue.detector.detect(text)
    assert found is not None and found.confident and found.language == language


def test_a_script_no_language_uses_is_not_guessed(dialogue):
    assert dialogue.detector.detect("Здравствуйте, полиция спросит мой статус?") is None


def test_one_word_does_not_flip_an_established_language(dialogue):
    state = State(language="es")
    for word in ("merci", "thanks", "ok", "obrigado"):
        assert say(dialogue, word, "thanks_goodbye", state=state).state.language == "es"
    assert say(dialogue, "merci beaucoup pour votre aide", "thanks_goodbye", state=state).state.language == "fr"
    assert say(dialogue, "bonjou", "greet").state.language == "ht"


def test_a_fact_past_its_review_by_date_is_flagged_or_withheld(kb) -> None:
    from datetime import date

    from bot.compose import Composer

    fact = next(f for f in kb.jurisdiction("orlando").facts if f.topic == "police_status_questions" and f.level == "core")
    later = date.fromisoformat(fact.review_by).replace(year=date.fromisoformat(fact.review_by).year + 1)
    flag = kb.messages["status.past_review"].english
    flagged = Composer(kb, "flag", today=later).answer("police_status_questions", "en", "orlando")
    assert fact.id in flagged.fact_ids and flag in flagged.text
    withheld = Composer(kb, "withhold", today=later).answer("police_status_questions", "en", "orlando")
    assert fact.id not in withheld.fact_ids and flag not in withheld.text
    current = Composer(kb, "flag").answer("police_status_questions", "en", "orlando")
    assert fact.id in current.fact_ids and flag not in current.text


@pytest.mark.parametrize("text", ["뉴욕주 버펄로에서 경찰이 신분을 물어보나요", "纽约州布法罗的警察会问身份吗"])
def test_a_state_named_after_a_city_is_not_the_city(dialogue, text):
    assert dialogue.resolver.match(text) != "new_york_city"


@pytest.mark.parametrize("text", ["뉴욕시 경찰이 신분을 물어보나요", "뉴욕에서 경찰이 신분을 물어보나요", "纽约的警察会问身份吗"])
def test_the_city_itself_still_is(dialogue, text):
    assert dialogue.resolver.match(text) == "new_york_city"


def test_an_unlisted_korean_place_is_named_without_its_particle(dialogue):
    found = dialogue.resolver.resolve("휴스턴에서 경찰이 신분을 물어보나요", ["휴스턴에서"])
    assert found.unlisted_name == "휴스턴"
