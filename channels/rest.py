"""Rasa's REST channel, made safe for this bot's users.

Same URL and JSON as Rasa's own (`POST /webhooks/rest/webhook` with
`{"sender", "message", "metadata"}`), with four differences: malformed bodies get a
400 instead of an exception; message text is never written to logs, even on errors;
when a reply asks for erasure (the person said "delete my data"), the conversation is
deleted from the tracker store after the reply is collected; and when the bot cannot
answer in time, the person gets an apology with the legal-help contact.
"""

import logging
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.answering import Fallback, as_collected, run_turn
from channels.erase import erase_conversation

logger = logging.getLogger(__name__)

MAX_SENDER_LENGTH = 128


def _body(request: Request) -> Optional[Dict[str, Any]]:
    try:
        body = request.json
    except Exception:  # sanic raises its own InvalidUsage on bad JSON
        return None
    return body if isinstance(body, dict) else None


class KyrRestInput(RestInput):
    """REST channel that validates input, keeps text out of logs and honours erasure."""

    @classmethod
    def name(cls) -> Text:
        """Served at /webhooks/rest/, as Rasa's own REST channel."""
        return "rest"

    @property
    def fallback(self) -> Fallback:
        """The channel's own replies (the apology), built on first use."""
        if getattr(self, "_fallback", None) is None:
            self._fallback = Fallback(self.name())
        return self._fallback

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Health route and webhook."""
        hook = Blueprint("kyr_rest_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = _body(request)
            sender = body.get("sender") if body else None
            if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER_LENGTH:
                return response.json({"error": "send JSON with a 'sender' string (at most 128 characters)"}, status=400)
            message = body.get("message")
            text = message if isinstance(message, str) else ""
            metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else None
            collector = CollectingOutputChannel()
            message = UserMessage(text, collector, sender, input_channel=self.name(), metadata=metadata)
            replies = await run_turn(on_new_message, message, collector, self.name())
            if not replies:
                context = metadata or {}
                apology = self.fallback.apology(text, context.get("language"), context.get("jurisdiction"))
                return response.json(as_collected(apology, sender))
            if any((m.get("custom") or {}).get("erase") for m in replies):
                agent = request.app.ctx.agent
                if not erase_conversation(agent.tracker_store, sender):
                    logger.error("rest channel: this tracker store does not support erasure")
            return response.json(replies)

        return hook
