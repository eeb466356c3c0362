"""Read the examples of Rasa's NLU training files without importing Rasa."""

import re
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import yaml

DEFAULT_NLU_DIR = Path(__file__).resolve().parents[1] / "data" / "nlu"

# [Orlando](jurisdiction) or [Orlando]{"entity": "jurisdiction"} -> Orlando
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


def plain_text(example: str) -> str:
    """An NLU example with its entity annotations removed."""
    return _ANNOTATION.sub(r"\1", example)


def iter_examples(nlu_dir: Path = DEFAULT_NLU_DIR) -> Iterator[Tuple[str, str, str]]:
    """Yield (language, intent, plain text) for every example under data/nlu/<lang>/."""
    for path in sorted(nlu_dir.glob("*/*.yml")):
        language = path.parent.name
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in doc.get("nlu", []):
            if "intent" not in block:
                continue
            for line in str(block.get("examples", "")).splitlines():
                line = line.strip()
                if line.startswith("- "):
                    yield language, block["intent"], plain_text(line[2:].strip())


def examples_by_language(nlu_dir: Path = DEFAULT_NLU_DIR) -> Dict[str, List[str]]:
    """All example texts, grouped by language."""
    out: Dict[str, List[str]] = {}
    for language, _, text in iter_examples(nlu_dir):
        out.setdefault(language, []).append(text)
    return out
