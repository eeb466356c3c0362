"""The web widget's channel: JSON from browsers on the sites the operator lists.

- CORS: a request is served only when its Origin is the bot's own site or one listed
  in `allowed_origins`; browsers always send Origin on these POSTs, so a request
  without one is not from a page and is refused too (scripts use the REST channel).
- Conversation ids come from the browser tab (random, kept in sessionStorage) and are
  stored as "web-<id>", so a widget can never address an SMS or REST conversation.
- Only the metadata the widget is meant to send (jurisdiction, language, a language
  picked from its menu) reaches the dialogue; a "/topic" quick reply must name a real
  topic, any other leading slash is dropped so typed text cannot trigger intents.
- Rate limits per conversation and, ten times as generous (a library's computers share
  one address), per client address; no message text in logs.
- `POST /erase` (the quick-exit button) deletes the conversation from the tracker store.
- When the bot cannot answer in time, the reply is an apology with the legal-help contact.
"""

import logging
import re
from typing import Any, Awaitable, Callable, Dict, FrozenSet, List, Optional, Text
from urllib.parse import urlsplit

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.kb.model import KnowledgeBase
from bot.text import MAX_MESSAGE_CHARS
from channels.answering import Fallback, as_collected, run_turn
from storage.kb_versions import live_knowledge_base
from channels.erase import erase_conversation
from channels.metrics import metrics
from channels.ratelimit import RateLimit

logger = logging.getLogger(__name__)

CONVERSATION_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
QUICK_REPLY = re.compile(r"^/([a-z_]+)$")
PREFIX = "web-"
MAX_BODY_BYTES = 16 * 1024
ADDRESS_FACTOR = 10
REPLY_FIELDS = ("topic", "language", "jurisdiction", "sources", "menu", "suggested_topic", "erase")


def parse_origins(value: Any) -> FrozenSet[str]:
    """Origins from a comma- or space-separated list, normalised to scheme://host[:port]."""
    origins = set()
    for item in re.split(r"[,\s]+", str(value or "")):
        parts = urlsplit(item.strip())
        if parts.scheme in ("http", "https") and parts.netloc:
            origins.add(f"{parts.scheme}://{parts.netloc.lower()}")
    return frozenset(origins)


def _client_address(request: Request) -> str:
    return str(request.remote_addr or request.ip or "unknown")


class WidgetInput(InputChannel):
    """Browser chat widget (widget/widget.js) at /webhooks/widget/."""

    @classmethod
    def name(cls) -> Text:
        """Served at /webhooks/widget/webhook and /webhooks/widget/erase."""
        return "widget"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "WidgetInput":
        """Build from credentials.yml, whose values are ${ENV} references."""
        c = credentials or {}
        return cls(
            allowed_origins=parse_origins(c.get("allowed_origins")),
            rate_limit=RateLimit.parse(str(c.get("rate_limit") or "30/60")),
        )

    def __init__(self, allowed_origins: FrozenSet[str], rate_limit: RateLimit, kb: Optional[KnowledgeBase] = None) -> None:
        self.allowed_origins = allowed_origins
        self.rate_limit = rate_limit
        self.address_limit = RateLimit(rate_limit.limit * ADDRESS_FACTOR, rate_limit.window)
        self._kb = kb
        self.fallback = Fallback(self.name(), kb)

    @property
    def kb(self) -> KnowledgeBase:
        """The knowledge base it was given, else the newest published one (new places included)."""
        return self._kb or live_knowledge_base()

    def origin_allowed(self, request: Request) -> Optional[str]:
        """The request's Origin if it may use the widget channel, else None."""
        origin = (request.headers.get("origin") or "").strip().lower()
        if not origin:
            return None
        if origin in self.allowed_origins:
            return origin
        # The bot's own pages (the demo at /) are always allowed.
        own = urlsplit(origin)
        return origin if own.netloc and own.netloc == (request.host or "").lower() else None

    def _text(self, message: Any) -> str:
        text = message if isinstance(message, str) else ""
        chosen = QUICK_REPLY.match(text.strip())
        if chosen and chosen.group(1) in self.kb.topics:
            return text.strip()
        return text.lstrip().lstrip("/")[: MAX_MESSAGE_CHARS * 2]

    def _metadata(self, raw: Any) -> Dict[str, Any]:
        raw = raw if isinstance(raw, dict) else {}
        metadata: Dict[str, Any] = {}
        if raw.get("jurisdiction") in self.kb.jurisdictions:
            metadata["jurisdiction"] = raw["jurisdiction"]
        if raw.get("language") in self.kb.languages:
            metadata["language"] = raw["language"]
        if raw.get("chosen_language") in self.kb.languages:
            metadata["chosen_language"] = raw["chosen_language"]
        return metadata

    def _limited(self, request: Request, conversation: str) -> bool:
        by_conversation = self.rate_limit.check(conversation)
        by_address = self.address_limit.check(_client_address(request))
        limited = by_conversation != "ok" or by_address != "ok"
        if limited:
            metrics().limited(self.name())
        return limited

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Preflight, webhook and erase routes."""
        hook = Blueprint("kyr_widget", __name__)

        def cors(origin: str, reply: HTTPResponse) -> HTTPResponse:
            reply.headers.update({"Access-Control-Allow-Origin": origin, "Vary": "Origin"})
            return reply

        def refuse(status: int, error: str, origin: Optional[str] = None) -> HTTPResponse:
            reply = response.json({"error": error}, status=status)
            return cors(origin, reply) if origin else reply

        def checked(request: Request) -> Any:
            """(origin, conversation id, body) or an error response."""
            origin = self.origin_allowed(request)
            if origin is None:
                return refuse(403, "this site may not use the chat")
            if len(request.body or b"") > MAX_BODY_BYTES:
                return refuse(413, "message too large", origin)
            try:
                body = request.json
            except Exception:  # sanic raises its own InvalidUsage on bad JSON
                body = None
            if not isinstance(body, dict):
                return refuse(400, "send a JSON object", origin)
            sender = body.get("sender")
            if not isinstance(sender, str) or not CONVERSATION_ID.match(sender):
                return refuse(400, "'sender' must be 16-64 letters, digits, '-' or '_'", origin)
            conversation = PREFIX + sender
            if self._limited(request, conversation):
                return refuse(429, "rate_limited", origin)
            return origin, conversation, body

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["OPTIONS"])
        @hook.route("/erase", methods=["OPTIONS"], name="erase_preflight")
        async def preflight(request: Request) -> HTTPResponse:
            origin = self.origin_allowed(request)
            if origin is None:
                return response.empty(status=403)
            reply = response.empty(status=204)
            reply.headers.update(
                {
                    "Access-Control-Allow-Methods": "POST",
                    "Access-Control-Allow-Headers": "Content-Type",
                    "Access-Control-Max-Age": "600",
                }
            )
            return cors(origin, reply)

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            result = checked(request)
            if isinstance(result, HTTPResponse):
                return result
            origin, conversation, body = result
            collector = CollectingOutputChannel()
            message = UserMessage(
                self._text(body.get("message")),
                collector,
                conversation,
                input_channel=self.name(),
                metadata=self._metadata(body.get("metadata")),
            )
            collected = await run_turn(on_new_message, message, collector, self.name())
            if not collected:
                context = message.metadata or {}
                apology = self.fallback.apology(message.text or "", context.get("language"), context.get("jurisdiction"))
                collected = as_collected(apology, conversation)
            replies = widget_replies(collected)
            erased = any(r.get("erase") for r in replies)
            if erased:
                erase_conversation(request.app.ctx.agent.tracker_store, conversation)
            return cors(origin, response.json({"messages": replies, "erased": erased}))

        @hook.route("/erase", methods=["POST"])
        async def erase(request: Request) -> HTTPResponse:
            result = checked(request)
            if isinstance(result, HTTPResponse):
                return result
            origin, conversation, _ = result
            if not erase_conversation(request.app.ctx.agent.tracker_store, conversation):
                logger.error("widget channel: this tracker store does not support erasure")
                return refuse(500, "could not erase", origin)
            return cors(origin, response.empty(status=204))

        return hook


def widget_replies(collected: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Rasa's collected bot messages as the widget's replies: text with its metadata.

    Rasa's collecting channel splits a reply's text at blank lines and sends its JSON
    payload after the parts; the parts are joined again and the payload added.
    """
    replies: List[Dict[str, Any]] = []
    parts: List[str] = []
    for message in collected:
        if message.get("text"):
            parts.append(message["text"])
        custom = message.get("custom")
        if isinstance(custom, dict):
            reply: Dict[str, Any] = {"text": "\n\n".join(parts)}
            reply.update({key: custom[key] for key in REPLY_FIELDS if key in custom})
            replies.append(reply)
            parts = []
    if parts:
        replies.append({"text": "\n\n".join(parts)})
    return replies
