"""The second factor for reviewers and admins: six-digit TOTP codes from an authenticator app."""

import re
import threading
import time
from typing import Dict, Optional

import pyotp
from pyotp.utils import strings_equal

ISSUER = "kyr-bot"

# One 30-second step either side of now: the window pyotp's verify(valid_window=1)
# accepts, for phones whose clocks drift a little. Checked step by step here, so the
# step that matched is known and can be refused the next time.
VALID_WINDOW = 1

_CODE = re.compile(r"^\d{6}$")


def new_secret() -> str:
    """A new random base32 secret for one account."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    """The otpauth:// URI an authenticator app reads (as a QR code or typed in)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


class TotpVerifier:
    """Checks codes and refuses a code, or an older one, once a user has signed in with it.

    The last used time-step per user id lives in this object's memory, so a code seen
    over someone's shoulder cannot be replayed while it is still valid. One verifier
    per app process: with several processes, a code could be used once in each.
    """

    def __init__(self) -> None:
        self._last_step: Dict[int, int] = {}
        self._lock = threading.Lock()

    def verify(self, user_id: int, secret: str, code: str, at: Optional[float] = None) -> bool:
        """Whether `code` is valid for `secret` now (or at `at`, Unix time) and not used before."""
        code = code.replace(" ", "").strip()
        if not _CODE.match(code):
            return False
        totp = pyotp.TOTP(secret)
        current = totp.timecode(at if at is not None else time.time())
        matched = None
        for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
            if strings_equal(totp.generate_otp(step), code):
                matched = step
        if matched is None:
            return False
        with self._lock:
            if matched <= self._last_step.get(user_id, -1):
                return False
            self._last_step[user_id] = matched
        return True
