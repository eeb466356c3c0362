"""Korean and Chinese words survive tokenization; emoji do not."""

from rasa.shared.nlu.training_data.message import Message

from nlu_components.script_safe_tokenizer import ScriptSafeWhitespaceTokenizer


def words(text: str):
    tokenizer = ScriptSafeWhitespaceTokenizer(ScriptSafeWhitespaceTokenizer.get_default_config())
    return [t.text for t in tokenizer.tokenize(Message(data={"text": text}), "text")]


def test_hangul_and_cjk_words_are_kept_and_emoji_dropped():
    assert words("ICE가 지금 문앞에 있어요 😀 뉴욕") == ["ICE가", "지금", "문앞에", "있어요", "뉴욕"]
    assert words("迈阿密 警察 🙏🙏") == ["迈阿密", "警察"]


def test_latin_text_is_tokenized_as_before():
    assert words("will police ask my status in orlando?") == ["will", "police", "ask", "my", "status", "in", "orlando"]
