"""Which conversation a request belongs to, read from its body as the channels read it."""

import json
from typing import Optional
from urllib.parse import parse_qs


def conversation_key(content_type: str, body: bytes) -> Optional[str]:
    """The conversation's id: `sender` of a JSON body (REST, widget), `From` of a Twilio
    form; None when the request names no conversation."""
    if "json" in content_type:
        try:
            sender = json.loads(body or b"null").get("sender")
        except (ValueError, AttributeError):
            return None
        return str(sender) if isinstance(sender, (str, int)) and str(sender) else None
    if "x-www-form-urlencoded" in content_type:
        sender = parse_qs(body.decode("utf-8", "replace")).get("From")
        return sender[0] if sender and sender[0] else None
    return None
