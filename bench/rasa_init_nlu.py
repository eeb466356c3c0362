"""The `rasa init` baseline for understanding: Rasa's default NLU pipeline on our data.

Trained once per version of the training data (NLU only, `rasa train nlu` with
bench/pipelines/rasa_init.yml) and kept in bench/results/rasa_init/ under a hash of the
data and the config, so a second bench run reuses it. Its DIET classifier trains for 100
epochs; on all ten languages 10 epochs took from 20 to over 40 minutes on the 2-core
machines here (100 would take hours), the reason this project does not use it. `epochs`
trains the same pipeline with fewer DIET epochs, a weaker baseline the results must then
name as such.
"""

import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import yaml

from bot.settings import ROOT

CONFIG = ROOT / "bench" / "pipelines" / "rasa_init.yml"
CACHE = ROOT / "bench" / "results" / "rasa_init"
NLU_DATA = ROOT / "data" / "nlu"


DEFAULT_EPOCHS = 100


def config_text(epochs: int = DEFAULT_EPOCHS) -> str:
    """The baseline's config, with DIET's epochs set to `epochs` (100 is Rasa's default)."""
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    for component in config["pipeline"]:
        if component["name"] == "DIETClassifier":
            component["epochs"] = epochs
    return yaml.safe_dump(config, allow_unicode=True, sort_keys=False)


def data_hash(epochs: int = DEFAULT_EPOCHS) -> str:
    """A short hash of the NLU training files and the baseline's config."""
    digest = hashlib.sha256(config_text(epochs).encode())
    for path in sorted(NLU_DATA.glob("*/*.yml")):
        digest.update(str(path.relative_to(NLU_DATA)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def trained_model(epochs: int = DEFAULT_EPOCHS) -> Path:
    """The baseline trained on the current data, training it first if it is not cached."""
    name = f"rasa-init-{data_hash(epochs)}"
    model = CACHE / f"{name}.tar.gz"
    if not model.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        config = CACHE / f"{name}.yml"
        config.write_text(config_text(epochs), encoding="utf-8")
        print(f"Training the `rasa init` NLU baseline ({epochs} DIET epochs, about {epochs * 2:.0f} min) into {model}...", flush=True)
        subprocess.run(
            [str(Path(sys.executable).parent / "rasa"), "train", "nlu", "--config", str(config), "--nlu", str(NLU_DATA),
             "--out", str(CACHE), "--fixed-model-name", name, "--quiet"],
            check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
    return model


def predictions(rows: List[Dict[str, Any]], epochs: int = DEFAULT_EPOCHS) -> List[Dict[str, Any]]:
    """Top intent and confidence for every held-out row, from the baseline model."""
    from bench.compare_pipelines import parse_all

    return parse_all(trained_model(epochs), rows)
