"""One multilingual intent model, or one model per language behind a language router?

Both arms use the intent classifier config.yml trains (nlu_components/
ngram_intent_classifier.py, fitted here directly, without Rasa) on the same training
data, and are scored on the same held-out set: the single model sees every language's
examples; the routed arm sends each message to the model of the language the bot's own
detector (bot/language.py) finds, or to English when it is unsure, as the bot would.
Prints raw topic accuracy (no fallback) per language for both.

    .venv/bin/python -m bench.one_vs_per_language
"""

import json
from collections import defaultdict
from typing import Dict, List

import numpy as np

from bot.language import LanguageDetector
from bot.nlu_data import examples_by_language, iter_examples
from bot.settings import ROOT
from nlu_components.ngram_intent_classifier import NgramIntentClassifier, fold

HELDOUT = ROOT / "bench" / "heldout"


def fit(texts: List[str], intents: List[str]):
    """The intent classifier's scikit-learn pipeline, fitted on these examples."""
    labels = np.array(intents)
    pipeline = NgramIntentClassifier(NgramIntentClassifier.get_default_config(), None, None).pipeline(labels)
    return pipeline.fit([fold(t) for t in texts], labels)


def main() -> None:
    """Train both arms and print accuracy per language."""
    by_language: Dict[str, List[tuple]] = defaultdict(list)
    for language, intent, text in iter_examples():
        by_language[language].append((text, intent))
    everything = [pair for pairs in by_language.values() for pair in pairs]
    one = fit([t for t, _ in everything], [i for _, i in everything])
    per = {language: fit([t for t, _ in pairs], [i for _, i in pairs]) for language, pairs in by_language.items()}
    detector = LanguageDetector(examples_by_language())
    print("| language | examples | one model | per-language models, routed by the detector |")
    print("|---|---|---|---|")
    totals = defaultdict(list)
    for path in sorted(HELDOUT.glob("*.jsonl")):
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        gold = [r["topic"] for r in rows]
        single = one.predict([fold(r["text"]) for r in rows])
        routed = []
        for row in rows:
            found = detector.detect(row["text"])
            language = found.language if found and found.confident and found.language in per else "en"
            routed.append(per[language].predict([fold(row["text"])])[0])
        a = float(np.mean([g == p for g, p in zip(gold, single)]))
        b = float(np.mean([g == p for g, p in zip(gold, routed)]))
        totals["one"] += [g == p for g, p in zip(gold, single)]
        totals["per"] += [g == p for g, p in zip(gold, routed)]
        print(f"| {path.stem} | {len(rows)} | {a:.1%} | {b:.1%} |", flush=True)
    print(f"| all | {len(totals['one'])} | {np.mean(totals['one']):.1%} | {np.mean(totals['per']):.1%} |")


if __name__ == "__main__":
    main()
