"""Send a message to the running bot exactly as Twilio would: form-encoded and signed."""

import secrets
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from typing import Dict, List, Optional

from twilio.request_validator import RequestValidator

WEBHOOK_PATH = "/webhooks/twilio/webhook"


@dataclass
class SmsReply:
    """What the webhook answered: HTTP status, the messages, and their SMS cost."""

    status: int
    messages: List[str]
    segments: Optional[int]
    encoding: Optional[str]


def twilio_params(body: str, sender: str, to: str, sid: Optional[str] = None, media: int = 0) -> Dict[str, str]:
    """The form fields Twilio posts for an incoming message."""
    return {
        "MessageSid": sid or "SM" + secrets.token_hex(16),
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "To": to,
        "Body": body,
        "NumMedia": str(media),
    }


def send(
    server: str,
    public_base_url: str,
    auth_token: str,
    params: Dict[str, str],
    signature: Optional[str] = None,
) -> SmsReply:
    """POST signed params to the webhook on `server`; the signature is for the public URL."""
    public_url = public_base_url.rstrip("/") + WEBHOOK_PATH
    if signature is None:
        signature = RequestValidator(auth_token).compute_signature(public_url, params)
    request = urllib.request.Request(
        server.rstrip("/") + WEBHOOK_PATH,
        data=urllib.parse.urlencode(params).encode("utf-8"),
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            root = ElementTree.fromstring(answer.read())
            segments = answer.headers.get("X-SMS-Segments")
            return SmsReply(
                status=answer.status,
                messages=[m.text or "" for m in root.iter("Message")],
                segments=int(segments) if segments else None,
                encoding=answer.headers.get("X-SMS-Encoding"),
            )
    except urllib.error.HTTPError as error:
        return SmsReply(status=error.code, messages=[], segments=None, encoding=None)
