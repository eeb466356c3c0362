"""Random Unicode, control characters and lengths at the webhook: never a 500."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.sms.simulator import send, twilio_params
from tests.integration.conftest import PUBLIC_BASE_URL, TWILIO_TOKEN

pytestmark = pytest.mark.integration


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.text(min_size=0, max_size=2500), sender=st.from_regex(r"\+1[0-9]{10}", fullmatch=True))
def test_webhook_survives_any_text(rasa_url, body, sender):
    reply = send(rasa_url, PUBLIC_BASE_URL, TWILIO_TOKEN, twilio_params(body, sender, "+15555550100"))
    assert reply.status == 200 or 400 <= reply.status < 500
