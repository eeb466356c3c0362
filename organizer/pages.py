"""Rendering organizer pages from the Jinja2 templates in organizer/templates/."""

from pathlib import Path
from typing import Any

from aiohttp import web
from jinja2 import Environment, FileSystemLoader

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

# Autoescaping everywhere: organizers paste text from anywhere into the knowledge base.
ENVIRONMENT = Environment(
    loader=FileSystemLoader(str(TEMPLATES_DIR)),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(request: web.Request, template_name: str, *, status: int = 200, **context: Any) -> web.Response:
    """An HTML response from a template in organizer/templates/.

    Every template also gets `account` (the signed-in Account, or None) and
    `csrf_token` (to put in a hidden `csrf_token` field of every POST form); passing
    either in `context` is a TypeError.
    """
    html = ENVIRONMENT.get_template(template_name).render(
        account=request.get("account"), csrf_token=request.get("csrf_token", ""), **context
    )
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def error_page(request: web.Request, status: int, title: str, message: str) -> web.Response:
    """A plain page explaining a refusal (403, 404, 429, ...) in words an organizer understands."""
    return render(request, "error.html", status=status, title=title, message=message)
