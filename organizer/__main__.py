"""Run the organizer app: python -m organizer --port 5006 (kyr serve starts it)."""

import argparse
import logging

from aiohttp import web

from bot.kb.loader import DEFAULT_ROOT
from bot.settings import load_settings
from organizer import kb_pages, spreadsheet_pages, usage_pages
from organizer.app import build_app
from storage.kb_versions import KnowledgeBaseStore
from storage.organizer_db import engine


def main() -> None:
    """Serve the organizer app on loopback (put it behind HTTPS to reach it from elsewhere)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5006)
    args = parser.parse_args()
    load_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    database = engine()
    KnowledgeBaseStore(database).seed(DEFAULT_ROOT)
    app = build_app(database, extra_routes=[kb_pages.add_routes, spreadsheet_pages.add_routes, usage_pages.add_routes])
    # No access log: request lines would be the only place an organizer's actions leak
    # outside the audit log, and they add nothing to it.
    web.run_app(app, host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
