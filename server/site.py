"""The server's own pages: /widget.js, the demo page at /, /health (liveness), /ready
(readiness) and /metrics (Prometheus, for this machine or a bearer token only)."""

import asyncio
import hmac
import ipaddress
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, Optional

import sqlalchemy
from rasa.core.tracker_store import SQLTrackerStore
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from storage.kb_versions import live_knowledge_base
from channels.erase import innermost_store
from channels.metrics import CONTENT_TYPE, metrics
from server.model_watch import describe
from server.widget_bundle import WIDGET_DIR, Asset, asset, build_widget_js

logger = logging.getLogger(__name__)

# Host pages on other sites load the script; the demo's own files stay same-origin.
SCRIPT_HEADERS = {"Cross-Origin-Resource-Policy": "cross-origin", "Cache-Control": "public, max-age=300"}
PAGE_HEADERS = {"Cache-Control": "public, max-age=300"}
# A reverse proxy on this machine connects from loopback too; what it forwarded is not local.
FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")
READY_TIMEOUT = 3.0
# One thread for the readiness query: a database that hangs holds that thread only,
# and probes queued behind it are cancelled by their timeout.
_probe = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kyr-ready")


def is_loopback(ip: str) -> bool:
    """Whether an address is this machine's (127.0.0.0/8, ::1, or IPv4-mapped loopback)."""
    try:
        address = ipaddress.ip_address(ip.strip("[]"))
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def metrics_allowed(ip: str, authorization: Optional[str], proxied: bool, token: str) -> bool:
    """Whether a request may read /metrics: one with the bearer token (when a token is
    configured), or one made on this machine and not forwarded by a proxy."""
    if token and hmac.compare_digest((authorization or "").encode(), f"Bearer {token}".encode()):
        return True
    return not proxied and is_loopback(ip)


def _select_one(store: SQLTrackerStore) -> None:
    with store.engine.connect() as connection:
        connection.execute(sqlalchemy.text("SELECT 1"))


async def not_ready_because(app: Sanic) -> Optional[str]:
    """Why the server cannot answer messages yet, or None when it can: the agent must be
    loaded and, for an SQL tracker store, the database must answer `SELECT 1`."""
    agent = getattr(app.ctx, "agent", None)
    if agent is None or not agent.is_ready():
        return "model not loaded"
    store = innermost_store(agent.tracker_store)
    if isinstance(store, SQLTrackerStore):
        try:
            query = asyncio.get_running_loop().run_in_executor(_probe, _select_one, store)
            await asyncio.wait_for(query, READY_TIMEOUT)
        except Exception as error:
            # The type only: a driver's message can include the database URL.
            logger.warning("readiness: the tracker store did not answer (%s)", type(error).__name__)
            return "tracker store unavailable"
    return None


def _serve(request: Request, file: Asset, headers: Dict[str, str]) -> HTTPResponse:
    extra = {"ETag": file.etag, "Vary": "Accept-Encoding", **headers}
    if request.headers.get("if-none-match") == file.etag:
        return response.empty(status=304, headers=extra)
    if "gzip" in request.headers.get("accept-encoding", ""):
        return response.raw(file.gzipped, content_type=file.content_type, headers={**extra, "Content-Encoding": "gzip"})
    return response.raw(file.body, content_type=file.content_type, headers=extra)


def add_site_routes(app: Sanic) -> None:
    """Register the routes; the widget is built once, from the knowledge base's texts."""
    files = {
        "widget": asset(build_widget_js(live_knowledge_base()), "application/javascript; charset=utf-8"),
        "demo": asset((WIDGET_DIR / "demo.html").read_text(encoding="utf-8"), "text/html; charset=utf-8"),
        "demo_css": asset((WIDGET_DIR / "demo.css").read_text(encoding="utf-8"), "text/css; charset=utf-8"),
    }

    @app.get("/widget.js")
    async def widget(request: Request) -> HTTPResponse:
        return _serve(request, files["widget"], SCRIPT_HEADERS)

    @app.get("/")
    async def demo(request: Request) -> HTTPResponse:
        return _serve(request, files["demo"], PAGE_HEADERS)

    @app.get("/demo.css")
    async def demo_css(request: Request) -> HTTPResponse:
        return _serve(request, files["demo_css"], PAGE_HEADERS)

    @app.get("/health")
    async def health(request: Request) -> HTTPResponse:
        # Liveness: the process serves requests. Listeners load the agent before the
        # server accepts connections, so an answer here also means the model is loaded;
        # "model" says which one, since when, and whether a newer one is loading.
        return response.json({"status": "ok", "model": describe(request.app)})

    @app.get("/ready")
    async def ready(request: Request) -> HTTPResponse:
        reason = await not_ready_because(request.app)
        if reason:
            return response.json({"status": "not ready", "reason": reason}, status=503)
        return response.json({"status": "ready"})

    token = os.environ.get("KYR_METRICS_TOKEN", "")

    @app.get("/metrics")
    async def metrics_page(request: Request) -> HTTPResponse:
        proxied = any(name in request.headers for name in FORWARDING_HEADERS)
        if not metrics_allowed(request.ip, request.headers.get("authorization"), proxied, token):
            return response.text("forbidden", status=403)
        return response.raw(metrics().exposition(), content_type=CONTENT_TYPE)
