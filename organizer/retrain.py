"""Retraining started from the organizer app: `kyr retrain` as a background process.

One at a time per organizer app; its output goes to var/retrain.log, which holds no
personal data (training examples were checked by organizers when they were added).
"""

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Optional

from bot.settings import ROOT

LOG = ROOT / "var" / "retrain.log"


@dataclass
class RetrainStatus:
    """What the last retraining did."""

    state: str  # "never", "running", "done" or "failed"
    started: Optional[float] = None
    finished: Optional[float] = None
    output_tail: str = ""


class RetrainJob:
    """Start `kyr retrain` in the background and report on it."""

    def __init__(self, log: Path = LOG) -> None:
        self.log = log
        self._process: Optional[subprocess.Popen] = None
        self._output: Optional[IO[bytes]] = None
        self._started: Optional[float] = None
        self._finished: Optional[float] = None

    def start(self) -> bool:
        """Start retraining unless it is already running; whether it started."""
        if self._process is not None and self._process.poll() is None:
            return False
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._output = open(self.log, "wb")  # noqa: SIM115 - closed when the process is seen finished
        kyr = Path(sys.executable).parent / "kyr"
        self._process = subprocess.Popen([str(kyr), "retrain"], cwd=ROOT, stdout=self._output, stderr=subprocess.STDOUT)
        self._started, self._finished = time.time(), None
        return True

    def status(self) -> RetrainStatus:
        """The state of the last run, with the end of its output."""
        if self._process is None:
            return RetrainStatus("never")
        code = self._process.poll()
        if code is not None and self._finished is None:
            self._finished = time.time()
            if self._output:
                self._output.close()
        tail = self.log.read_text(encoding="utf-8", errors="replace")[-2000:] if self.log.exists() else ""
        state = "running" if code is None else ("done" if code == 0 else "failed")
        return RetrainStatus(state, self._started, self._finished, tail)
