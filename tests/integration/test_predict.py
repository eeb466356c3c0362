"""`kyr predict` runs the real model and actions over a JSONL file."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

KYR = Path(sys.executable).parent / "kyr"


def test_predict_small_file(tmp_path: Path, model: Path):
    lines = [
        {"id": "a", "text": "will the police ask about my immigration status in orlando?"},
        {"id": "b", "text": "puedo denunciar un crimen sin que me deporten", "jurisdiction": "miami_dade"},
        {"id": "c", "text": "what's the weather tomorrow"},
        {"id": "d", "text": "ICE is at my door", "jurisdiction": "madison", "language": "es"},
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n", encoding="utf-8")
    target = tmp_path / "out.jsonl"
    subprocess.run([str(KYR), "predict", str(source), "--out", str(target)], check=True, capture_output=True, timeout=600)
    rows = {row["id"]: row for row in map(json.loads, target.read_text(encoding="utf-8").splitlines())}
    assert set(rows) == {"a", "b", "c", "d"}
    for row in rows.values():
        assert set(row) == {"id", "topic", "jurisdiction", "language", "confidence", "text", "sources"}
    assert rows["a"]["topic"] == "police_status_questions" and rows["a"]["jurisdiction"] == "orlando"
    assert rows["b"]["topic"] == "report_crime" and rows["b"]["jurisdiction"] == "miami_dade"
    assert rows["b"]["language"] == "es"
    assert rows["c"]["topic"] == "out_of_scope" and rows["c"]["sources"] == []
    assert rows["d"]["topic"] == "ice_at_home" and rows["d"]["jurisdiction"] == "madison"
    assert rows["a"]["sources"] and 0 < rows["a"]["confidence"] <= 1
