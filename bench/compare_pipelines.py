"""Compare candidate NLU pipelines on the held-out set, at several fallback thresholds.

Trains each config in bench/pipelines/ and config.yml itself (NLU only; not rasa_init.yml,
the baseline bench.nlu_quality scores), parses every held-out example, and
prints topic accuracy and the confidently-wrong rate per language for each threshold.
This is how config.yml's pipeline and fallback threshold were chosen. Slow: a few
minutes per pipeline.

    .venv/bin/python -m bench.compare_pipelines
"""

import asyncio
import json
import logging
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

from bench.metrics import accuracy, confidently_wrong, with_fallback
from bot.settings import ROOT, load_settings

PIPELINES = ROOT / "bench" / "pipelines"
HELDOUT = ROOT / "bench" / "heldout"
OUT = ROOT / "bench" / "results" / "pipelines"
THRESHOLDS = (0.3, 0.4, 0.45, 0.6, 0.7)


def parse_all(model: Path, rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Top intent and confidence for every row, from the NLU model alone."""
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    agent = Agent.load(str(model))

    async def run() -> List[Dict[str, Any]]:
        out = []
        for row in rows:
            parsed = await agent.parse_message(row["text"])
            ranking = [r for r in parsed.get("intent_ranking") or [] if r["name"] != "nlu_fallback"]
            top = ranking[0] if ranking else {"name": "out_of_scope", "confidence": 0.0}
            out.append({"language": row["language"], "expected": row["topic"], "predicted": top["name"], "confidence": top["confidence"]})
        return out

    return asyncio.run(run())


def score(parsed: List[Dict[str, Any]], threshold: float, language: str) -> Dict[str, float]:
    """Accuracy and confidently-wrong rate when answers under `threshold` fall back."""
    final = with_fallback([(p["expected"], p["predicted"], p["confidence"]) for p in parsed if p["language"] == language], threshold)
    return {
        "accuracy": round(accuracy([(e, p) for e, p, _ in final]), 4),
        "confidently_wrong": round(confidently_wrong(final, threshold), 4),
    }


def main() -> None:
    """Train and score every candidate pipeline."""
    load_settings()
    rows = [json.loads(line) for path in sorted(HELDOUT.glob("*.jsonl")) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    languages = sorted({r["language"] for r in rows})
    OUT.mkdir(parents=True, exist_ok=True)
    print("| pipeline | train s | threshold | " + " | ".join(f"{l} accuracy | {l} confidently wrong" for l in languages) + " |")
    print("|---" * (3 + 2 * len(languages)) + "|")
    # The earlier candidates, then the pipeline config.yml trains now.
    candidates = [c for c in sorted(PIPELINES.glob("*.yml")) if c.stem != "rasa_init"] + [ROOT / "config.yml"]
    for config in candidates:
        started = time.perf_counter()
        subprocess.run(
            [str(Path(sys.executable).parent / "rasa"), "train", "nlu", "--config", str(config), "--out", str(OUT), "--fixed-model-name", config.stem, "--quiet"],
            check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        seconds = time.perf_counter() - started
        parsed = parse_all(OUT / f"{config.stem}.tar.gz", rows)
        for threshold in THRESHOLDS:
            cells = []
            for language in languages:
                s = score(parsed, threshold, language)
                cells += [f"{s['accuracy']:.1%}", f"{s['confidently_wrong']:.1%}"]
            print(f"| {config.stem} | {seconds:.0f} | {threshold} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
