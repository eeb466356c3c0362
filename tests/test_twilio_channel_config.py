"""The Twilio channel refuses unsafe configurations at start-up."""

from pathlib import Path

import pytest

from channels.twilio.channel import TwilioInput

BASE = {
    "auth_token": "token",
    "public_base_url": "https://bot.example.org",
    "sender_hmac_key": "key",
    "validate_signature": "true",
}


def build(tmp_path: Path, **changes):
    return TwilioInput.from_credentials({**BASE, "state_db": str(tmp_path / "state.db"), **changes})


def test_signature_checking_cannot_be_switched_off_off_loopback(tmp_path, monkeypatch):
    monkeypatch.setenv("KYR_BIND_HOST", "0.0.0.0")
    with pytest.raises(ValueError, match="only when the server listens on loopback"):
        build(tmp_path, validate_signature="false")


def test_signature_checking_off_on_loopback_warns_loudly(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("KYR_BIND_HOST", "127.0.0.1")
    channel = build(tmp_path, validate_signature="false")
    assert not channel.validate_signature
    assert "signature checking is OFF" in caplog.text


def test_missing_secrets_fail_fast(tmp_path):
    with pytest.raises(ValueError, match="KYR_SENDER_HMAC_KEY"):
        build(tmp_path, sender_hmac_key="")
    with pytest.raises(ValueError, match="TWILIO_AUTH_TOKEN"):
        build(tmp_path, auth_token="")
