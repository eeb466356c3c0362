"""Organizer passwords: argon2id hashes, and a minimum length people can understand."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12

# argon2-cffi's defaults are argon2id with the RFC 9106 "low memory" parameters.
_HASHER = PasswordHasher()


class PasswordTooShort(ValueError):
    """A new password below MIN_LENGTH; the message can be shown to the organizer as is."""


def check_length(password: str) -> None:
    """Raise PasswordTooShort unless the password has at least MIN_LENGTH characters."""
    if len(password) < MIN_LENGTH:
        raise PasswordTooShort(
            f"The password needs at least {MIN_LENGTH} characters (this one has {len(password)}). "
            "A few unrelated words in a row make a long password that is easy to remember."
        )


def hash_password(password: str) -> str:
    """The argon2id hash to store for a new password (refused when too short)."""
    check_length(password)
    return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether the password matches the stored hash; False for a damaged hash too."""
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's and should be redone."""
    return _HASHER.check_needs_rehash(stored_hash)
