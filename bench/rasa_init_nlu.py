"""The `rasa init` baseline for understanding: Rasa's default NLU pipeline on our data.

Trained once per version of the training data (NLU only, `rasa train nlu` with
bench/pipelines/rasa_init.yml) and kept in bench/results/rasa_init/ under a hash of the
data and the config, so a second bench run reuses it. Training it on all ten languages
takes about an hour on a 2-core machine: the reason this project does not use it.
"""

import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

from bot.settings import ROOT

CONFIG = ROOT / "bench" / "pipelines" / "rasa_init.yml"
CACHE = ROOT / "bench" / "results" / "rasa_init"
NLU_DATA = ROOT / "data" / "nlu"


def data_hash() -> str:
    """A short hash of the NLU training files and the baseline's config."""
    digest = hashlib.sha256(CONFIG.read_bytes())
    for path in sorted(NLU_DATA.glob("*/*.yml")):
        digest.update(str(path.relative_to(NLU_DATA)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def trained_model() -> Path:
    """The baseline trained on the current data, training it first if it is not cached."""
    name = f"rasa-init-{data_hash()}"
    model = CACHE / f"{name}.tar.gz"
    if not model.exists():
        print(f"Training the `rasa init` NLU baseline into {model} (about an hour, once per data version)...", flush=True)
        subprocess.run(
            [str(Path(sys.executable).parent / "rasa"), "train", "nlu", "--config", str(CONFIG), "--nlu", str(NLU_DATA),
             "--out", str(CACHE), "--fixed-model-name", name, "--quiet"],
            check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
    return model


def predictions(rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Top intent and confidence for every held-out row, from the baseline model."""
    from bench.compare_pipelines import parse_all

    return parse_all(trained_model(), rows)
