"""How the fallback threshold trades right answers against confident mistakes.

Trains the intent classifier config.yml uses (the Rasa component alone, without the rest
of the pipeline) on the training data, takes its confidence on every held-out example, and for thresholds at
several quantiles of those confidences prints overall topic accuracy (under the
threshold counts as the fallback, which is right only for out-of-scope examples), the
worst language's accuracy, and the overall and worst confidently-wrong rates.

    .venv/bin/python -m bench.threshold_sweep
"""

import json
import tempfile
from pathlib import Path
from typing import List, Tuple

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bench.one_vs_per_language import HELDOUT
from bot.nlu_data import iter_examples
from nlu_components.ngram_intent_classifier import NgramIntentClassifier

QUANTILES = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3)


def predictions(training: List[Tuple[str, str]], texts: List[str]) -> Tuple[np.ndarray, np.ndarray]:
    """The intent and its confidence for each text, from the classifier trained on (text, intent)."""
    with tempfile.TemporaryDirectory() as directory:
        component = NgramIntentClassifier.create(
            {}, LocalModelStorage(Path(directory)), Resource("sweep"), ExecutionContext(GraphSchema({}), "sweep")
        )
        component.train(TrainingData([Message(data={"text": t, "intent": i}) for t, i in training]))
        messages = [Message(data={"text": t}) for t in texts]
        component.process(messages)
    return np.array([m.get("intent")["name"] for m in messages]), np.array([m.get("intent")["confidence"] for m in messages])


def main() -> None:
    """Print the sweep as a Markdown table."""
    rows = [json.loads(line) for path in sorted(HELDOUT.glob("*.jsonl")) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    gold = np.array([r["topic"] for r in rows])
    languages = np.array([r["language"] for r in rows])
    predicted, confidence = predictions([(t, i) for _, i, t in iter_examples()], [r["text"] for r in rows])
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
