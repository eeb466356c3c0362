"""The reference: a plain single Rasa server of `rasa init`'s assistant (the moodbot).

`rasa init --no-prompt` creates and trains the project once (a few minutes); the trained
project is kept in ~/.cache/kyr-bot/rasa-init-reference and reused by later runs. It is
served by `rasa run` with its own credentials.yml (the REST channel) and endpoints.yml
(no action server: the moodbot's rules and stories use responses only; in-memory
tracker store).
"""

import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from bench.servers import QUIET_ENV, Running, child_env, timed
from bot import processes

CACHE = Path.home() / ".cache" / "kyr-bot" / "rasa-init-reference"
RASA = processes.BIN / "rasa"


def trained_model(project: Path) -> Path:
    """The newest trained model of a project; FileNotFoundError if there is none."""
    models = sorted((project / "models").glob("*.tar.gz"))
    if not models:
        raise FileNotFoundError(f"no trained model in {project / 'models'}")
    return models[-1]


def prepare(cache: Path = CACHE, output: IO[bytes] = None) -> Path:
    """The cached `rasa init` project, created and trained first if it is not there yet."""
    try:
        trained_model(cache)
        return cache
    except FileNotFoundError:
        pass
    print(f"Creating and training the `rasa init` reference in {cache} (a few minutes, once)...", flush=True)
    with tempfile.TemporaryDirectory(prefix="rasa-init-") as tmp:
        project = Path(tmp) / "moodbot"
        project.mkdir()
        subprocess.run(
            [str(RASA), "init", "--no-prompt", "--init-dir", str(project)],
            cwd=tmp, env=child_env(), stdout=output, stderr=subprocess.STDOUT if output else None, check=True,
        )
        trained_model(project)
        partial = cache.with_name(cache.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(project, partial)
        shutil.rmtree(cache, ignore_errors=True)
        partial.rename(cache)
    return cache


@contextmanager
def reference_bot(project: Path, output: IO[bytes]) -> Iterator[Running]:
    """`rasa run` on the reference project on a free loopback port (no Rasa HTTP API)."""
    port = processes.free_port()

    def start() -> subprocess.Popen:
        args = [
            str(RASA), "run", "--model", str(trained_model(project)), "--port", str(port), "--interface", "127.0.0.1",
            "--credentials", "credentials.yml", "--endpoints", "endpoints.yml",
        ]
        process = subprocess.Popen(args, cwd=project, env=child_env(), stdout=output, stderr=subprocess.STDOUT)
        try:
            # `rasa run` loads the model before it listens, so its root route answering means ready.
            processes.wait_until_up(f"http://127.0.0.1:{port}/", process)
        except BaseException:
            processes.stop(process)
            raise
        return process

    running = Running(url=f"http://127.0.0.1:{port}", env=dict(QUIET_ENV))
    try:
        running.servers.append(timed("rasa run (rasa init)", start))
        yield running
    finally:
        running.stop()
