"""How the fallback threshold trades right answers against confident mistakes.

Trains the intent classifier config.yml uses (the Rasa component alone, without the rest
of the pipeline) and takes its confidence on examples it did not train on: the held-out
set (default), or, with `--cv`, each training example from a model trained on the other
folds (5-fold cross-validation over the training data, stratified by language and
topic). For a grid of thresholds it prints overall topic accuracy (under the threshold
counts as the fallback, which is right only for out-of-scope examples), the worst
language's accuracy, and the overall and worst confidently-wrong rates; and the lowest
threshold whose confidently-wrong rate is at most `--target-wrong`.

The fallback threshold in config.yml is chosen with `--cv` (training data only), so that
the held-out set stays a fair test of it.

    .venv/bin/python -m bench.threshold_sweep [--cv] [--target-wrong 0.01]
"""

import argparse
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
from sklearn.model_selection import StratifiedKFold

from bench.one_vs_per_language import HELDOUT
from bot.nlu_data import iter_examples
from nlu_components.ngram_intent_classifier import NgramIntentClassifier

GRID = np.round(np.arange(0.50, 0.96, 0.01), 2)
SHOWN = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
CV_FOLDS = 5


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


def heldout() -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Gold topic, language, predicted topic and confidence of every held-out example."""
    rows = [json.loads(line) for path in sorted(HELDOUT.glob("*.jsonl")) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    predicted, confidence = predictions([(t, i) for _, i, t in iter_examples()], [r["text"] for r in rows])
    return np.array([r["topic"] for r in rows]), np.array([r["language"] for r in rows]), predicted, confidence


def cross_validated() -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The same for every training example, each predicted by a model trained on the other
    folds (kept in the training files' order, as Rasa gives them)."""
    examples = list(iter_examples())
    gold = np.array([i for _, i, _ in examples])
    languages = np.array([l for l, _, _ in examples])
    predicted, confidence = np.empty(len(examples), dtype=object), np.zeros(len(examples))
    folds = StratifiedKFold(CV_FOLDS, shuffle=True, random_state=0).split(examples, [f"{l}:{i}" for l, i, _ in examples])
    for number, (train, test) in enumerate(folds, 1):
        print(f"fold {number} of {CV_FOLDS}...", flush=True)
        predicted[test], confidence[test] = predictions([(examples[k][2], examples[k][1]) for k in train], [examples[k][2] for k in test])
    return gold, languages, predicted.astype(str), confidence


def rates(gold: np.ndarray, languages: np.ndarray, predicted: np.ndarray, confidence: np.ndarray, threshold: float) -> Tuple[float, float, float, float]:
    """Accuracy, worst language's accuracy, confidently-wrong rate and worst language's, at a threshold."""
    final = np.where(confidence >= threshold, predicted, "out_of_scope")
    wrong = (predicted != gold) & (confidence >= threshold) & (predicted != "out_of_scope")
    groups = [languages == language for language in sorted(set(languages))]
    return (
        float(np.mean(final == gold)),
        min(float(np.mean(final[g] == gold[g])) for g in groups),
        float(np.mean(wrong)),
        max(float(np.mean(wrong[g])) for g in groups),
    )


def main() -> None:
    """Print the sweep as a Markdown table, and the lowest threshold within the target."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cv", action="store_true", help="cross-validate on the training data instead of the held-out set")
    parser.add_argument("--target-wrong", type=float, default=0.01, help="confidently-wrong rate to stay within")
    args = parser.parse_args()
    gold, languages, predicted, confidence = cross_validated() if args.cv else heldout()
    print(f"{'Cross-validated on the training data' if args.cv else 'Held-out set'}: {len(gold)} examples")
    print(f"Raw accuracy (no threshold): {np.mean(predicted == gold):.1%}\n")
    print("| threshold | accuracy | worst language | confidently wrong | worst language |")
    print("|---|---|---|---|---|")
    for threshold in SHOWN:
        accuracy, worst_accuracy, wrong, worst_wrong = rates(gold, languages, predicted, confidence, threshold)
        print(f"| {threshold:.2f} | {accuracy:.1%} | {worst_accuracy:.1%} | {wrong:.1%} | {worst_wrong:.1%} |")
    within = [t for t in GRID if rates(gold, languages, predicted, confidence, t)[2] <= args.target_wrong]
    if within:
        accuracy, _, wrong, _ = rates(gold, languages, predicted, confidence, within[0])
        print(f"\nLowest threshold with confidently wrong at most {args.target_wrong:.1%}: {within[0]:.2f} ({accuracy:.1%} right, {wrong:.2%} confidently wrong)")
    else:
        print(f"\nNo threshold up to {GRID[-1]} keeps confidently wrong at most {args.target_wrong:.1%}")


if __name__ == "__main__":
    main()
