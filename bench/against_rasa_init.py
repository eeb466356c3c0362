"""This project's NLU against the `rasa init` baseline at the same risk of confident mistakes.

bench.nlu_quality scores each model at its own fallback threshold (0.4 here, 0.3 in
Rasa's default), which mixes two things: how often the top topic is right, and how much
of the unsure remainder each threshold turns into the menu. This compares the two NLU
models alone (no dialogue) on the held-out set, per language: raw accuracy (the top
topic, no threshold), and accuracy when each model's threshold is set so that its
confidently-wrong rate over all languages is at most a given level.

    .venv/bin/python -m bench.against_rasa_init [--rasa-init-epochs N] [--levels 0.01 0.02 0.05]

The baseline is the one bench.nlu_quality trained (cached in bench/results/rasa_init/).
"""

import argparse
import json
from typing import Any, Dict, List, Sequence, Tuple

from bench import metrics, rasa_init_nlu
from bench.compare_pipelines import parse_all
from bench.one_vs_per_language import HELDOUT
from bot.settings import ROOT

RESULTS = ROOT / "bench" / "results" / "against_rasa_init.json"


def answered(parsed: Sequence[Dict[str, Any]], threshold: float) -> List[Tuple[str, str, float]]:
    """(expected, answered topic, confidence) for parsed rows at this threshold."""
    return metrics.with_fallback([(p["expected"], p["predicted"], p["confidence"]) for p in parsed], threshold)


def confidently_wrong(parsed: Sequence[Dict[str, Any]], threshold: float) -> float:
    """Share of examples answered with a wrong topic at or above the threshold."""
    return metrics.confidently_wrong(answered(parsed, threshold), threshold)


def accuracy(parsed: Sequence[Dict[str, Any]], threshold: float) -> float:
    """Share of examples whose answered topic is the labelled one."""
    return metrics.accuracy([(e, p) for e, p, _ in answered(parsed, threshold)])


def threshold_for(parsed: Sequence[Dict[str, Any]], level: float) -> float:
    """The lowest threshold (among the model's own confidences) keeping confident mistakes at most `level`."""
    for threshold in sorted({0.0} | {p["confidence"] for p in parsed}):
        if confidently_wrong(parsed, threshold) <= level:
            return threshold
    return 1.01


def compare(models: Dict[str, List[Dict[str, Any]]], levels: Sequence[float]) -> Dict[str, Any]:
    """Per model: thresholds per level, and per language raw and matched accuracy."""
    out: Dict[str, Any] = {}
    for name, parsed in models.items():
        thresholds = {level: threshold_for(parsed, level) for level in levels}
        languages = sorted({p["language"] for p in parsed})
        out[name] = {
            "thresholds": thresholds,
            "languages": {
                language: {
                    "raw": accuracy([p for p in parsed if p["language"] == language], 0.0),
                    **{
                        f"at {level:.0%}": accuracy([p for p in parsed if p["language"] == language], thresholds[level])
                        for level in levels
                    },
                }
                for language in languages
            },
        }
    return out


def main() -> None:
    """Parse the held-out set with both models and print the comparison as Markdown."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rasa-init-epochs", type=int, default=rasa_init_nlu.DEFAULT_EPOCHS)
    parser.add_argument("--levels", type=float, nargs="+", default=[0.01, 0.02, 0.05])
    args = parser.parse_args()
    rows = [json.loads(line) for path in sorted(HELDOUT.glob("*.jsonl")) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    models = {
        "kyr-bot": parse_all(ROOT / "models" / "kyr.tar.gz", rows),
        "rasa init": parse_all(rasa_init_nlu.trained_model(args.rasa_init_epochs), rows),
    }
    result = compare(models, args.levels)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"rasa_init_epochs": args.rasa_init_epochs, **result}, indent=2), encoding="utf-8")
    columns = ["raw"] + [f"at {level:.0%}" for level in args.levels]
    print(f"`rasa init` baseline: DIET {args.rasa_init_epochs} epochs. Thresholds per level: "
          + "; ".join(f"{name} " + ", ".join(f"{t:.2f}" for t in r["thresholds"].values()) for name, r in result.items()))
    print("\n| language | " + " | ".join(f"kyr-bot {c} | rasa init {c}" for c in columns) + " |")
    print("|---|" + "---|---|" * len(columns))
    for language in result["kyr-bot"]["languages"]:
        cells = [
            f"{result[name]['languages'][language][c]:.1%}" for c in columns for name in ("kyr-bot", "rasa init")
        ]
        print(f"| {language} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
