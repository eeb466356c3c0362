"""Fitted scikit-learn models on disk, saved and loaded without pickle's arbitrary code.

skops refuses to load types it does not know to be safe; the few more that these
models hold (sparse matrices, calibrated classifiers) are listed here, and a file with
any other type is refused.
"""

import os
from pathlib import Path
from typing import Any

MODEL_TYPES = [
    "scipy.sparse._csr.csr_matrix",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
]


def save(model: Any, path: Path) -> None:
    """Write a model; readers never see a half-written file."""
    import skops.io as sio

    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    sio.dump(model, partial)
    os.replace(partial, path)


def load(path: Path) -> Any:
    """Read a model saved by `save`; ValueError if the file holds any other type."""
    import skops.io as sio

    untrusted = set(sio.get_untrusted_types(file=path)) - set(MODEL_TYPES)
    if untrusted:
        raise ValueError(f"{path} holds types no model here uses: {sorted(untrusted)}")
    return sio.load(path, trusted=True)
