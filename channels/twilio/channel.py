"""Twilio Messaging webhook for SMS and WhatsApp, built for people who may be undocumented.

- Every request must carry a valid X-Twilio-Signature for the configured public URL.
- The phone number never leaves this module: the conversation id is its keyed hash,
  and the reply goes back in the same HTTP response as TwiML.
- Long answers are paged (at most 3 SMS segments per reply, MORE for the rest);
  STOP silences the bot, HELP explains it, DELETE erases the conversation; a bare
  menu number picks that topic; a retried MessageSid is answered once.
"""

import logging
import os
from urllib.parse import parse_qsl
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Optional, Text

import yaml
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from bot.bidi import isolate_rtl
from bot.compose import language_direction, message_text
from bot.kb.model import ENGLISH, KnowledgeBase
from bot.sms.encoding import encode
from bot.sms.keywords import CommandReader
from bot.sms.paging import paginate
from bot.sms.privacy import sender_key
from channels.answering import Fallback, reply_payload, run_turn
from channels.erase import erase_conversation
from channels.metrics import metrics
from storage.kb_versions import live_knowledge_base
from channels.ratelimit import RateLimit
from channels.twilio.state import ChannelState

logger = logging.getLogger(__name__)

MAX_BODY = 1600  # Twilio's own limit for an inbound message body
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def _numbers(path: Optional[str]) -> Dict[str, Dict[str, str]]:
    """Default jurisdiction and language per Twilio number, from a YAML file."""
    if not path or not Path(path).exists():
        return {}
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return {str(number): dict(context or {}) for number, context in (doc.get("numbers") or {}).items()}


class TwilioInput(InputChannel):
    """SMS and WhatsApp through one Twilio Messaging webhook."""

    @classmethod
    def name(cls) -> Text:
        """Served at /webhooks/twilio/webhook."""
        return "twilio"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "TwilioInput":
        """Build from credentials.yml, whose values are ${ENV} references."""
        c = credentials or {}
        return cls(
            auth_token=str(c.get("auth_token") or ""),
            public_base_url=str(c.get("public_base_url") or ""),
            sender_secret=str(c.get("sender_hmac_key") or ""),
            validate_signature=_truthy(c.get("validate_signature", "true")),
            numbers=_numbers(c.get("numbers_file")),
            operator_name=str(c.get("operator_name") or "a community organization"),
            operator_contact=str(c.get("operator_contact") or ""),
            state=ChannelState(Path(str(c.get("state_db") or "var/sms_state.db"))),
            rate_limit=RateLimit.parse(str(c.get("rate_limit") or "20/600")),
        )

    def __init__(
        self,
        auth_token: str,
        public_base_url: str,
        sender_secret: str,
        validate_signature: bool,
        numbers: Dict[str, Dict[str, str]],
        operator_name: str,
        operator_contact: str,
        state: ChannelState,
        rate_limit: RateLimit,
    ) -> None:
        if not sender_secret:
            raise ValueError("the Twilio channel needs KYR_SENDER_HMAC_KEY to hash phone numbers")
        if validate_signature and not auth_token:
            raise ValueError("the Twilio channel needs TWILIO_AUTH_TOKEN to check request signatures")
        if not validate_signature:
            if os.environ.get("KYR_BIND_HOST", "") not in LOOPBACK:
                raise ValueError("TWILIO_VALIDATE_SIGNATURE=false is allowed only when the server listens on loopback")
            logger.warning(
                "!!! Twilio signature checking is OFF (TWILIO_VALIDATE_SIGNATURE=false). Only requests from this "
                "machine are accepted. Never run like this where Twilio can reach the server. !!!"
            )
        self.validator = RequestValidator(auth_token) if auth_token else None
        self.public_base_url = public_base_url.rstrip("/")
        self.sender_secret = sender_secret
        self.validate_signature = validate_signature
        self.numbers = numbers
        self.operator_name = operator_name
        self.operator_contact = operator_contact
        self.state = state
        self.rate_limit = rate_limit
        self.signature_failures = 0
        self._kb: Optional[KnowledgeBase] = None
        self._commands: Optional[CommandReader] = None
        self._fallback: Optional[Fallback] = None

    # Knowledge base pieces are built on first use, not at import or start-up.
    @property
    def kb(self) -> KnowledgeBase:
        """The knowledge base (messages, keywords, menu)."""
        return self._kb or live_knowledge_base()

    @property
    def commands(self) -> CommandReader:
        """Keyword and menu-number recogniser."""
        kb = self.kb
        if self._commands is None or self._commands.kb is not kb:
            self._commands = CommandReader(kb)
        return self._commands

    @property
    def fallback(self) -> Fallback:
        """The channel's own replies: language guess and the apology."""
        if self._fallback is None:
            self._fallback = Fallback(self.name(), self._kb)
        return self._fallback

    def _signed(self, request: Request, params: Dict[str, str]) -> bool:
        if not self.validate_signature:
            return request.ip in LOOPBACK
        signature = request.headers.get("X-Twilio-Signature", "")
        url = self.public_base_url + request.path + (f"?{request.query_string}" if request.query_string else "")
        return bool(signature) and self.validator is not None and self.validator.validate(url, params, signature)

    def _text(self, key: str, language: str, **params: str) -> str:
        return message_text(self.kb, key, language, **params)

    @staticmethod
    def _twiml(body: Optional[str]) -> HTTPResponse:
        reply = MessagingResponse()
        headers = {}
        if body:
            encoded = encode(body)
            reply.message(encoded.text)
            headers = {"X-SMS-Segments": str(encoded.segments), "X-SMS-Encoding": encoded.encoding}
            logger.info("twilio reply: %d segment(s), %s", encoded.segments, encoded.encoding)
        return response.text(str(reply), content_type="application/xml", headers=headers)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Health route (with the signature-failure counter) and the webhook."""
        hook = Blueprint("kyr_twilio_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok", "signature_failures": self.signature_failures})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            # Twilio signs every field, empty ones too (a photo arrives with Body=""), which
            # Sanic's request.form drops: parse the form body keeping blank values.
            params = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
            if not self._signed(request, params):
                self.signature_failures += 1
                metrics().bad_signature()
                logger.warning("twilio webhook: rejected a request without a valid signature")
                return response.text("forbidden", status=403)
            sender, sid = params.get("From", ""), params.get("MessageSid", "")
            if not sender or not sid:
                return response.text("missing From or MessageSid", status=400)
            if not self.state.first_delivery(sid):
                return self._twiml(None)
            return await self._handle(request, params, sender_key(self.sender_secret, sender), on_new_message)

        return hook

    async def _handle(
        self, request: Request, params: Dict[str, str], key: str, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> HTTPResponse:
        context = self.numbers.get(params.get("To", ""), {})
        default_language = context.get("language", ENGLISH)
        # A leading "/" would let a person trigger intents directly; only menu numbers may.
        body = (params.get("Body") or "").replace("\x00", "")[:MAX_BODY].strip().lstrip("/").strip()
        command = self.commands.command(body)
        if self.state.opted_out(key):
            if command and command.action == "start":
                self.state.set_opted_out(key, False)
                return self._twiml(self._text("sms_started", command.language))
            return self._twiml(None)
        verdict = self.rate_limit.check(key)
        if verdict != "ok":
            metrics().limited(self.name())
            language = self.fallback.language_of(body, default_language)
            return self._twiml(self._text("sms_rate_limited", language) if verdict == "notice" else None)
        if not body:
            media = params.get("NumMedia", "0") not in ("", "0")
            return self._twiml(self._text("sms_text_only" if media else "empty_input", default_language))
        if command:
            return await self._command(request, command.action, command.language, key)
        choice = self.commands.menu_choice(body)
        text = f"/{choice}" if choice else body
        metadata = {k: v for k, v in (("jurisdiction", context.get("jurisdiction")), ("language", context.get("language"))) if v}
        metadata["channel"] = "whatsapp" if params.get("From", "").startswith("whatsapp:") else "sms"
        collector = CollectingOutputChannel()
        message = UserMessage(text, collector, key, input_channel=self.name(), metadata=metadata)
        replies = await run_turn(on_new_message, message, collector, self.name())
        if not replies:
            return self._twiml(self.fallback.apology(body, default_language, context.get("jurisdiction")).text)
        answer = "\n\n".join(m["text"] for m in replies if m.get("text"))
        custom = reply_payload(replies)
        if custom.get("erase"):
            self._erase(request, key)
            return self._twiml(answer)
        language = str(custom.get("language") or default_language)
        direction = language_direction(self.kb, language)
        # Paging breaks lines mid-sentence; each page's new lines need the RTL marks again.
        pages = [isolate_rtl(page, direction) for page in paginate(answer, self._text("sms_more_hint", language))] if answer else []
        self.state.save_pages(key, pages[1:])
        return self._twiml(pages[0] if pages else None)

    async def _command(self, request: Request, action: str, language: str, key: str) -> HTTPResponse:
        if action == "stop":
            self.state.set_opted_out(key, True)
            self._erase(request, key)
            return self._twiml(None)
        if action == "start":
            return self._twiml(self._text("sms_started", language))
        if action == "help":
            contact = self.operator_contact or self._text("legal_help_fallback", language)
            return self._twiml(self._text("sms_help", language, operator=self.operator_name, contact=contact))
        if action == "delete":
            self._erase(request, key)
            return self._twiml(self._text("delete_my_data", language))
        page = self.state.next_page(key)
        return self._twiml(page or self._text("sms_no_more", language))

    def _erase(self, request: Request, key: str) -> None:
        self.state.forget_pages(key)
        if not erase_conversation(request.app.ctx.agent.tracker_store, key):
            logger.error("twilio channel: this tracker store does not support erasure")
