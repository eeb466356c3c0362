"""How the fallback threshold trades right answers against confident mistakes.

Fits the intent classifier config.yml trains (directly, without Rasa) on the training
data, takes its calibrated confidence on every held-out example, and for thresholds at
several quantiles of those confidences prints overall topic accuracy (under the
threshold counts as the fallback, which is right only for out-of-scope examples), the
worst language's accuracy, and the overall and worst confidently-wrong rates.

    .venv/bin/python -m bench.threshold_sweep
"""

import json

import numpy as np

from bench.one_vs_per_language import HELDOUT, fit
from bot.nlu_data import iter_examples
from nlu_components.ngram_intent_classifier import fold

QUANTILES = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3)


def main() -> None:
    """Print the sweep as a Markdown table."""
    examples = list(iter_examples())
    model = fit([t for _, _, t in examples], [i for _, i, _ in examples])
    rows = [json.loads(line) for path in sorted(HELDOUT.glob("*.jsonl")) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    gold = np.array([r["topic"] for r in rows])
    languages = np.array([r["language"] for r in rows])
    probabilities = model.predict_proba([fold(r["text"]) for r in rows])
    predicted = model.classes_[probabilities.argmax(1)]
    confidence = probabilities.max(1)
    print(f"Raw accuracy (no threshold): {np.mean(predicted == gold):.1%}\n")
    print("| threshold | accuracy | worst language | confidently wrong | worst language |")
    print("|---|---|---|---|---|")
    for threshold in np.quantile(confidence, QUANTILES):
        final = np.where(confidence >= threshold, predicted, "out_of_scope")
        wrong = (predicted != gold) & (confidence >= threshold) & (predicted != "out_of_scope")
        worst_accuracy = min(np.mean(final[languages == l] == gold[languages == l]) for l in set(languages))
        worst_wrong = max(np.mean(wrong[languages == l]) for l in set(languages))
        print(f"| {threshold:.2f} | {np.mean(final == gold):.1%} | {worst_accuracy:.1%} | {np.mean(wrong):.1%} | {worst_wrong:.1%} |")


if __name__ == "__main__":
    main()
