"""The understanding bench's scores: what counts as a word, a fallback and a confident mistake."""

from bench.metrics import word_count
from bench.nlu_quality import topic_scores


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
