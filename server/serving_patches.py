"""What every process that answers with the model changes in Rasa 3.6, in one call.

The bot server and `kyr predict`/`kyr ask` (bot.local_agent) must behave the same, so
both install these together: action answers checked against a schema compiled once
(server.action_response) and DIET built for prediction only (server.quick_model_load).
"""

from server import action_response, quick_model_load


def install() -> None:
    """Install both patches in this process (idempotent)."""
    action_response.install()
    quick_model_load.install()
