"""The understanding bench's scores: what counts as a word, a fallback and a confident mistake."""

from bench.metrics import word_count
from bench.nlu_quality import reply_language, topic_scores


def test_word_count_counts_chinese_by_pairs_of_characters():
    assert word_count("will police ask my status") == 5
    assert word_count("警察会问我的身份吗 奥兰多") == 5
    assert word_count("你好") == 1
    assert word_count("") == 0


def test_an_answer_under_the_threshold_is_a_fallback_not_a_confident_mistake():
    scored = [
        ("daca", "daca", 0.9),  # right
        ("daca", "u_visa", 0.8),  # confidently wrong
        ("daca", "u_visa", 0.2),  # unsure: falls back, wrong but not confident
        ("out_of_scope", "greet", 0.1),  # unsure on an out-of-scope message: the fallback is right
    ]
    scores = topic_scores(scored, 0.4)
    assert scores["examples"] == 4
    assert scores["topic_accuracy"] == 0.5
    assert scores["confidently_wrong"] == 0.25


def test_a_shortened_rasa_init_baseline_changes_only_diets_epochs_and_is_cached_apart():
    import yaml

    from bench import rasa_init_nlu

    default = yaml.safe_load(rasa_init_nlu.CONFIG.read_text(encoding="utf-8"))
    short = yaml.safe_load(rasa_init_nlu.config_text(10))
    diet = next(c for c in short["pipeline"] if c["name"] == "DIETClassifier")
    assert diet["epochs"] == 10
    assert [c for c in short["pipeline"] if c["name"] != "DIETClassifier"] == [
        c for c in default["pipeline"] if c["name"] != "DIETClassifier"
    ]
    assert rasa_init_nlu.data_hash(10) != rasa_init_nlu.data_hash()


def test_matched_threshold_keeps_confident_mistakes_at_the_level():
    from bench.against_rasa_init import accuracy, confidently_wrong, threshold_for

    parsed = [
        {"expected": "daca", "predicted": "daca", "confidence": 0.9},
        {"expected": "daca", "predicted": "u_visa", "confidence": 0.6},
        {"expected": "u_visa", "predicted": "u_visa", "confidence": 0.5},
        {"expected": "out_of_scope", "predicted": "daca", "confidence": 0.3},
    ]
    assert accuracy(parsed, 0.0) == 0.5 and confidently_wrong(parsed, 0.0) == 0.5
    threshold = threshold_for(parsed, 0.0)
    assert threshold == 0.9 and confidently_wrong(parsed, threshold) == 0.0
    assert threshold_for(parsed, 0.25) == 0.5  # the out-of-scope example now falls back, rightly
    assert accuracy(parsed, 0.5) == 0.75


def test_a_message_is_expected_in_the_language_it_asks_for_or_is_written_in():
    asks = {"text": "mandame las respuestas en ingles", "topic": "set_language", "language": "es", "reply_language": "en"}
    plain = {"text": "la policia me va a preguntar mi estatus", "topic": "police_status_questions", "language": "es"}
    assert reply_language(asks) == "en"
    assert reply_language(plain) == "es"
