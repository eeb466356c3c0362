"""Build the Sanic app the bot serves: what `rasa run` serves, minus Rasa's HTTP API,
plus the widget assets, health, readiness and metrics routes and security headers on
every response.

Rasa's own HTTP API (`--enable-api`) is never part of this app: the only public
routes are the channels of credentials.yml, /widget.js, the demo page, /health and
/ready (/metrics answers this machine or a bearer token only).
"""

import logging
from functools import partial
from pathlib import Path

from rasa.core.channels.channel import register
from rasa.core.run import close_resources, create_http_input_channels, load_agent_on_start
from rasa.core.utils import AvailableEndpoints
from sanic import Sanic

from server import serving_patches
from server.headers import add_security_headers
from server.model_watch import watch_model
from server.site import add_site_routes
from storage.tracker_store import harden

logger = logging.getLogger(__name__)


def build_app(model: Path, endpoints_file: Path, credentials_file: Path) -> Sanic:
    """The app, with the agent loaded from `model` when the server starts."""
    endpoints = AvailableEndpoints.read_endpoints(str(endpoints_file))
    serving_patches.install()
    app = Sanic("kyr", configure_logging=False)
    register(create_http_input_channels(None, str(credentials_file)), app, route="/webhooks/")
    add_site_routes(app)
    add_security_headers(app)
    app.register_listener(partial(load_agent_on_start, str(model), endpoints, None), "before_server_start")

    async def harden_tracker_store(running: Sanic, _: object) -> None:
        harden(running.ctx.agent.tracker_store)

    # Registered after the agent loader, so it runs once the agent exists.
    app.register_listener(harden_tracker_store, "before_server_start")

    async def build_dialogue(_: Sanic, __: object) -> None:
        # Its language detector is ready at start-up, not on the first person's message
        # (an apology while the action server is down needs it at once). Imported here,
        # after __main__ has configured logging: the knowledge base's modules log.
        from bot.dialogue import default_dialogue

        default_dialogue()

    app.register_listener(build_dialogue, "before_server_start")
    # A new model replaces only the agent's processor, so the hardened store stays in use.
    watch_model(app, model)
    app.register_listener(close_resources, "after_server_stop")
    return app
