"""The server's own pages: /widget.js, the demo page at /, and /health."""

from typing import Dict

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.kb.loader import load as load_kb
from server.widget_bundle import WIDGET_DIR, Asset, asset, build_widget_js

# Host pages on other sites load the script; the demo's own files stay same-origin.
SCRIPT_HEADERS = {"Cross-Origin-Resource-Policy": "cross-origin", "Cache-Control": "public, max-age=300"}
PAGE_HEADERS = {"Cache-Control": "public, max-age=300"}


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
        "widget": asset(build_widget_js(load_kb()), "application/javascript; charset=utf-8"),
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
    async def health(_: Request) -> HTTPResponse:
        # Listeners load the agent before the server accepts connections, so an
        # answer here means the model is loaded.
        return response.json({"status": "ok"})
