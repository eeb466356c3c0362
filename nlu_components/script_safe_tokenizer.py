"""Rasa's WhitespaceTokenizer without its Hangul- and CJK-eating emoji filter.

Rasa drops any token that fully matches its emoji pattern, whose range U+24C2-U+1F251
also covers every Hangul syllable and CJK character: a Korean word disappears, and a
Korean place name can never be tagged as an entity. This tokenizer drops only real
emoji (pictographs, symbols, flags and their joiners).
"""

from typing import Text

import regex
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer

_EMOJI = regex.compile("[\U0001F300-\U0001FAFF\U00002600-\U000027BF\U0001F1E6-\U0001F1FF\u200d\u200c\ufe0f]+")


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class ScriptSafeWhitespaceTokenizer(WhitespaceTokenizer):
    """Whitespace tokenizer that keeps words in every script."""

    def remove_emoji(self, text: Text) -> Text:
        """Drop a token only if it is made of emoji."""
        return "" if _EMOJI.fullmatch(text) else text
