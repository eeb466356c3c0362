"""Twilio Messaging (SMS and WhatsApp) channel; see channels/twilio/channel.py."""

from channels.twilio.channel import TwilioInput

__all__ = ["TwilioInput"]
