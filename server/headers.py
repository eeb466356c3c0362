"""Security headers on every response the bot's server sends."""

from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse

# The demo page and anything else served here run only the bot's own script and talk
# only to the bot's own origin; nothing may frame them.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}


def add_security_headers(app: Sanic) -> None:
    """Add the headers to every response; conversations are never cached."""

    @app.middleware("response")
    async def secure(request: Request, response: HTTPResponse) -> None:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers.setdefault("Cache-Control", "no-store")
