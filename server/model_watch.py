"""Put a retrained model into service in the running server, without a restart.

Every KYR_MODEL_WATCH_SECONDS (default 10; 0 turns watching off) the server looks at
the model file it was started with. Once the file's size and modification time have
changed and then stayed the same over two consecutive looks, the new model is loaded in
a worker thread while the old one keeps answering, then swapped in: the agent with its
(hardened) tracker store and its lock store stays, only its processor is replaced. A
file that does not load is logged and the old model keeps serving.
"""

import asyncio
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from rasa.core.agent import Agent
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.core.processor import MessageProcessor
from sanic import Sanic

logger = logging.getLogger(__name__)

WATCH_SECONDS_VARIABLE = "KYR_MODEL_WATCH_SECONDS"
DEFAULT_WATCH_SECONDS = "10"
# One thread: loads never overlap, and one that hangs holds no thread messages need.
_loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kyr-model-load")

# A file's (size, modification time in ns).
Signature = Tuple[int, int]


@dataclass(frozen=True)
class ModelStatus:
    """The model in service, as /health shows it."""

    id: Optional[str]
    loaded_at: Optional[str]
    reloading: bool = False


def watch_seconds() -> float:
    """Seconds between looks at the model file; 0 means do not watch."""
    value = os.environ.get(WATCH_SECONDS_VARIABLE, DEFAULT_WATCH_SECONDS)
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise ValueError(f"{WATCH_SECONDS_VARIABLE} must be a number of seconds, 0 or more, not {value!r}")
    return seconds


def signature(path: Path) -> Optional[Signature]:
    """The file's size and modification time, or None while it cannot be read."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


class ChangeDetector:
    """Tells when a file has changed and then held still over two consecutive looks,
    so a model that is still being written is not loaded half-done."""

    def __init__(self, loaded: Optional[Signature]) -> None:
        self.loaded = loaded
        self._seen: Optional[Signature] = None

    def due(self, current: Optional[Signature]) -> bool:
        """Whether to load the file now, given what a look at it found."""
        if current is None or current == self.loaded:
            self._seen = None
            return False
        if current != self._seen:
            self._seen = current
            return False
        # Taken as loaded even if the load fails: a broken file is tried once, not every look.
        self.loaded, self._seen = current, None
        return True


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def describe(app: Sanic) -> Optional[Dict[str, Any]]:
    """The model in service, for /health; None before the server has started."""
    status: Optional[ModelStatus] = getattr(app.ctx, "model_status", None)
    return asdict(status) if status else None


def _build_processor(agent: Agent, path: Path) -> MessageProcessor:
    """What `Agent.load_model` builds, on the agent's own stores, without touching the agent."""
    processor = MessageProcessor(
        model_path=path,
        tracker_store=agent.tracker_store,
        lock_store=agent.lock_store,
        generator=agent.nlg,
        action_endpoint=agent.action_endpoint,
        http_interpreter=agent.http_interpreter,
    )
    if isinstance(agent.nlg, TemplatedNaturalLanguageGenerator):
        # Its own responses: a message still being answered by the old model keeps the old ones.
        processor.nlg = TemplatedNaturalLanguageGenerator(processor.domain.responses)
    return processor


def _swap(agent: Agent, processor: MessageProcessor) -> None:
    # No await in here, so no message sees an agent half-swapped. Messages already in
    # `handle_message` finish on the old processor they hold; the next ones get this one.
    agent.processor = processor
    agent.domain = processor.domain
    agent.nlg = processor.nlg
    agent.tracker_store.domain = processor.domain


async def reload(app: Sanic, path: Path) -> bool:
    """Load the model at `path` and put it into service; on failure keep the old one."""
    agent: Agent = app.ctx.agent
    previous: ModelStatus = app.ctx.model_status
    app.ctx.model_status = replace(previous, reloading=True)
    started = time.monotonic()
    try:
        processor = await asyncio.get_running_loop().run_in_executor(_loader, _build_processor, agent, path)
    except Exception as error:
        app.ctx.model_status = previous
        logger.error("model reload failed, still serving model %s: %s: %s", previous.id, type(error).__name__, error)
        return False
    _swap(agent, processor)
    # Logged before the status says so, so that whoever sees the new status finds the line.
    logger.info("model reloaded: %s (loaded in %.1f s)", processor.model_metadata.model_id, time.monotonic() - started)
    app.ctx.model_status = ModelStatus(id=processor.model_metadata.model_id, loaded_at=_now())
    return True


async def _watch(app: Sanic, path: Path, seconds: float, detector: ChangeDetector) -> None:
    while True:
        await asyncio.sleep(seconds)
        if detector.due(signature(path)):
            await reload(app, path)


def watch_model(app: Sanic, path: Path) -> None:
    """Record the model the server starts with and, unless turned off, watch its file.
    Call after the listener that loads the agent is registered."""
    seconds = watch_seconds()
    # Taken before the first load, so a file replaced while it loads is loaded again.
    detector = ChangeDetector(signature(path))

    async def record_first_model(running: Sanic, _: object) -> None:
        agent: Agent = running.ctx.agent
        running.ctx.model_status = ModelStatus(id=agent.model_id, loaded_at=_now() if agent.is_ready() else None)

    async def start_watching(running: Sanic, _: object) -> None:
        running.ctx.model_watch = asyncio.get_running_loop().create_task(_watch(running, path, seconds, detector))

    async def stop_watching(running: Sanic, _: object) -> None:
        running.ctx.model_watch.cancel()
        with suppress(asyncio.CancelledError):
            await running.ctx.model_watch

    app.register_listener(record_first_model, "before_server_start")
    if seconds:
        app.register_listener(start_watching, "after_server_start")
        app.register_listener(stop_watching, "before_server_stop")
