"""A retrained model goes live in a running bot server without a restart: messages keep
being answered by the old model while the new one loads, and a model file that does not
load leaves the old one serving."""

import io
import json
import os
import shutil
import tarfile
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from bot import processes

pytestmark = pytest.mark.integration

QUESTION = "will the police ask about my immigration status in orlando?"
SWAP_DEADLINE = 90.0
# Between questions while the new model loads: steady traffic, not a flood that would
# slow the load down on a small machine.
ASK_EVERY = 0.5


@dataclass
class SwapBot:
    """A bot server watching `model` every second, where its output goes, the id of the
    model it started with, and a retrained copy to put in its place, with its id."""

    url: str
    model: Path
    log: Path
    original_id: str
    retrained: Path
    retrained_id: str


def model_status(bot: SwapBot) -> Dict[str, Any]:
    with urllib.request.urlopen(f"{bot.url}/health", timeout=10) as response:
        return json.loads(response.read())["model"]


def ask(bot: SwapBot) -> Tuple[Any, ...]:
    """Ask in a new conversation; what identifies the answer's content."""
    body = json.dumps({"sender": uuid.uuid4().hex, "message": QUESTION}).encode("utf-8")
    request = urllib.request.Request(f"{bot.url}/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        replies: List[Dict[str, Any]] = json.loads(response.read())
    custom = next(r["custom"] for r in replies if "custom" in r)
    return custom["topic"], custom["jurisdiction"], custom["language"], tuple(custom["fact_ids"])


def model_id(archive: Path) -> str:
    with tarfile.open(archive, "r:gz") as tar:
        member = next(m for m in tar if m.name.lstrip("/") == "metadata.json")
        return json.load(tar.extractfile(member))["model_id"]


def retrain_copy(source: Path, target: Path) -> str:
    """The same model under a new model id, as Rasa gives every training run (what
    identifies a Rasa 3.6 model is the id in its archive's metadata.json); that id."""
    new_id = uuid.uuid4().hex
    with tarfile.open(source, "r:gz") as old, tarfile.open(target, "w:gz", compresslevel=1) as new:
        for member in old:
            data = old.extractfile(member) if member.isfile() else None
            if member.name.lstrip("/") == "metadata.json":
                metadata = json.load(data)
                metadata["model_id"] = new_id
                body = json.dumps(metadata).encode("utf-8")
                member.size, data = len(body), io.BytesIO(body)
            new.addfile(member, data)
    return new_id


def replace_atomically(target: Path, content: bytes = b"", source: Optional[Path] = None) -> None:
    """Put a new file at `target` in one rename, as a deployment should."""
    staging = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
    if source:
        shutil.copyfile(source, staging)
    else:
        staging.write_bytes(content)
    os.replace(staging, target)


def wait_for_swap(bot: SwapBot, before: Dict[str, Any]) -> Dict[str, Any]:
    deadline = time.monotonic() + SWAP_DEADLINE
    while time.monotonic() < deadline:
        status = model_status(bot)
        if status["loaded_at"] != before["loaded_at"]:
            return status
        time.sleep(0.2)
    pytest.fail(f"no new model within {SWAP_DEADLINE:.0f} s:\n{bot.log.read_text(errors='replace')[-3000:]}")


@pytest.fixture(scope="module")
def swap_bot(model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwapBot]:
    work = tmp_path_factory.mktemp("model-swap")
    served, log = work / "kyr.tar.gz", work / "servers.log"
    shutil.copyfile(model, served)
    action_port, bot_port = processes.free_port(), processes.free_port()
    env = {
        "KYR_MODEL_WATCH_SECONDS": "1",
        "DATABASE_URL": f"sqlite:///{work / 'kyr.db'}",
        "TRACKER_SQLITE_PATH": str(work / "tracker.db"),
        "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{action_port}/webhook",
    }
    # The retrained copy takes seconds to pack: done while the servers start.
    with ThreadPoolExecutor(max_workers=1) as pool, open(log, "wb") as output:
        retrained = pool.submit(retrain_copy, model, work / "retrained.tar.gz")
        actions = processes.start_action_server(action_port, output=output, env=env)
        try:
            bot = processes.start_rasa_server(served, bot_port, output=output, env=env)
            try:
                yield SwapBot(
                    f"http://127.0.0.1:{bot_port}", served, log, model_id(model), work / "retrained.tar.gz", retrained.result()
                )
            finally:
                processes.stop(bot)
        finally:
            processes.stop(actions)
            # Three copies of a large model; the log stays for a look after a failure.
            for archive in work.glob("*.tar.gz"):
                archive.unlink()


def test_a_retrained_model_goes_live_while_questions_are_answered(swap_bot: SwapBot) -> None:
    answer = ask(swap_bot)
    assert answer[0] == "police_status_questions"
    before = model_status(swap_bot)
    assert before["id"] == swap_bot.original_id
    assert before["loaded_at"] and not before["reloading"]

    replace_atomically(swap_bot.model, source=swap_bot.retrained)
    replaced = time.monotonic()
    # Questions from right after the file changed until the new model is in service;
    # those with "reloading" seen both before and after them were answered during the load.
    during_load, seconds_per_answer = [], []
    status = before
    while status["loaded_at"] == before["loaded_at"]:
        assert time.monotonic() - replaced < SWAP_DEADLINE, swap_bot.log.read_text(errors="replace")[-3000:]
        loading = status["reloading"]
        started = time.monotonic()
        reply = ask(swap_bot)
        seconds_per_answer.append(time.monotonic() - started)
        assert reply == answer
        status = model_status(swap_bot)
        if loading and status["reloading"]:
            during_load.append(reply)
        time.sleep(ASK_EVERY)
    swapped = time.monotonic() - replaced

    assert during_load, "no question was asked and answered while the new model loaded"
    assert status["id"] == swap_bot.retrained_id != before["id"]
    assert not status["reloading"]
    assert ask(swap_bot) == answer
    log = swap_bot.log.read_text(errors="replace")
    assert f"model reloaded: {status['id']}" in log
    assert QUESTION not in log
    print(
        f"\nnew model in service {swapped:.1f} s after the file was replaced; {len(seconds_per_answer)} answers meanwhile,"
        f" {len(during_load)} during the load, slowest {max(seconds_per_answer):.2f} s"
    )


def test_a_corrupt_model_file_leaves_the_old_model_serving(swap_bot: SwapBot) -> None:
    answer = ask(swap_bot)
    before = model_status(swap_bot)
    failures = swap_bot.log.read_text(errors="replace").count("model reload failed")

    replace_atomically(swap_bot.model, os.urandom(100))
    deadline = time.monotonic() + SWAP_DEADLINE
    while swap_bot.log.read_text(errors="replace").count("model reload failed") == failures:
        assert time.monotonic() < deadline, "the corrupt model file was not tried"
        time.sleep(0.2)
    assert f"still serving model {before['id']}" in swap_bot.log.read_text(errors="replace")
    assert model_status(swap_bot) == before
    assert ask(swap_bot) == answer
