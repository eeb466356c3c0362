"""Fingerprints of English texts, so a translation can say which English it came from."""

import hashlib


def text_hash(text: str) -> str:
    """Return a short, stable fingerprint of an English text.

    White space at the ends and runs of white space inside do not change it, so
    re-wrapping a YAML string does not mark every translation out of date.
    """
    normalised = " ".join(text.split())
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()[:10]


if __name__ == "__main__":  # pragma: no cover - convenience for translators
    import sys

    print(text_hash(sys.stdin.read()))
