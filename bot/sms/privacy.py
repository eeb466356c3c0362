"""Keyed hashes of phone numbers: the only form in which a sender is ever kept."""

import hashlib
import hmac


def sender_key(secret: str, sender: str) -> str:
    """A stable conversation id for a sender that cannot be turned back into the number.

    HMAC-SHA256 with a secret from the environment: without the secret, nobody can
    test a phone number against stored ids.
    """
    digest = hmac.new(secret.encode("utf-8"), sender.strip().encode("utf-8"), hashlib.sha256).hexdigest()
    return f"sms-{digest[:40]}"
