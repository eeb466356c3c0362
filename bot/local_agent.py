"""The trained Rasa model in this process, with the real action server beside it.

This is the Rasa-facing adapter behind `kyr ask` and `kyr predict`: the same model,
the same actions and the same dialogue code as `make run`, without HTTP in between
for the model. Rasa is imported only here, lazily, so the core stays light.
"""

import asyncio
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

from bot import processes


@dataclass
class BotAnswer:
    """What the bot said to one message, and how sure the NLU was of the topic."""

    text: str
    metadata: Dict[str, Any]
    intent: Optional[str]
    confidence: float


class LocalBot:
    """Load a model once; answer messages as new or continuing conversations."""

    def __init__(self, model: Path) -> None:
        self.model = model
        self._actions = None
        self._agent = None
        self._loop = asyncio.new_event_loop()

    def __enter__(self) -> "LocalBot":
        import logging

        from rasa.core.agent import load_agent
        from rasa.utils.log_utils import configure_structlog
        from rasa.utils.endpoints import EndpointConfig
        from rasa.core.utils import AvailableEndpoints

        from server import serving_patches

        if not self.model.exists():
            raise FileNotFoundError(f"No trained model at {self.model}: run `make train` first")
        # Rasa's debug logs carry message text; keep logs free of what people write.
        configure_structlog(logging.WARNING)
        # As the server does: otherwise Rasa re-checks its schema on every answer (~100 ms here)
        # and runs a training step to load DIET.
        serving_patches.install()
        port = processes.free_port()
        self._actions = processes.start_action_server(port, output=subprocess.DEVNULL)
        endpoints = AvailableEndpoints(action=EndpointConfig(url=f"http://127.0.0.1:{port}/webhook"))
        # No tracker store is configured, so conversations live in this process's memory only.
        self._agent = self._loop.run_until_complete(load_agent(model_path=str(self.model), endpoints=endpoints))
        return self

    def __exit__(self, *exc: Any) -> None:
        processes.stop(self._actions)
        self._loop.close()

    def ask(self, text: str, metadata: Optional[Dict[str, Any]] = None, sender_id: Optional[str] = None) -> BotAnswer:
        """Send one message; return the bot's reply and the NLU's topic confidence."""
        return self._loop.run_until_complete(self._ask(text, metadata or {}, sender_id or uuid.uuid4().hex))

    async def _ask(self, text: str, metadata: Dict[str, Any], sender_id: str) -> BotAnswer:
        from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

        collector = CollectingOutputChannel()
        await self._agent.handle_message(UserMessage(text, collector, sender_id, metadata=metadata))
        texts: List[str] = [m["text"] for m in collector.messages if m.get("text")]
        custom: Dict[str, Any] = next((m["custom"] for m in collector.messages if m.get("custom")), {})
        tracker = await self._agent.processor.tracker_store.retrieve(sender_id)
        intent = (tracker.latest_message.intent or {}) if tracker else {}
        return BotAnswer(
            text="\n\n".join(texts),
            metadata=custom,
            intent=intent.get("name"),
            confidence=float(intent.get("confidence") or 0.0),
        )
