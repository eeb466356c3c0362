"""Start the action server and the Rasa server as child processes on localhost."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO, Dict, List, Optional, Union

from bot.settings import ROOT

BIN = Path(sys.executable).parent


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 180.0) -> None:
    """Poll a health URL until it answers 200; fail if the process exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with code {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


# Where a child's output goes: None inherits ours, or a file, or subprocess.DEVNULL.
Output = Optional[Union[int, IO[bytes]]]


def _start(args: List[str], env: Optional[Dict[str, str]], output: Output) -> subprocess.Popen:
    return subprocess.Popen(
        args, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=output, stderr=subprocess.STDOUT if output else None
    )


def start_action_server(port: int, output: Output = None) -> subprocess.Popen:
    """The rasa-sdk action server with the actions package, bound to loopback."""
    process = _start(
        [str(BIN / "python"), "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)],
        env={"SANIC_HOST": "127.0.0.1"},
        output=output,
    )
    wait_until_up(f"http://127.0.0.1:{port}/health", process)
    return process


def start_rasa_server(
    model: Path, port: int, output: Output = None, host: str = "127.0.0.1", env: Optional[Dict[str, str]] = None
) -> subprocess.Popen:
    """The bot's web server (server/): Rasa's agent with the channels of credentials.yml,
    the widget and its demo page; Rasa's HTTP API is not part of it. `env` adds to ours."""
    process = _start(
        [str(BIN / "python"), "-m", "server", "--model", str(model), "--host", host, "--port", str(port)],
        env=env,
        output=output,
    )
    wait_until_up(f"http://127.0.0.1:{port}/health", process)
    return process


def stop(*processes: Optional[subprocess.Popen]) -> None:
    """Terminate child processes and wait for them."""
    for process in processes:
        if process and process.poll() is None:
            process.terminate()
    for process in processes:
        if process:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
