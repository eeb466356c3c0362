"""`python -m server`: run the bot's web server (what `kyr serve` starts)."""

import argparse
import logging
from pathlib import Path

from bot.settings import ROOT, load_settings


def main() -> None:
    """Parse arguments, build the app and serve it until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m server", description=__doc__)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--endpoints", type=Path, help="default: KYR_ENDPOINTS (endpoints.yml)")
    parser.add_argument("--credentials", type=Path, default=ROOT / "credentials.yml")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5005)
    args = parser.parse_args()
    settings = load_settings()
    # Imported after the settings are in the environment: credentials.yml expands ${VAR}s.
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    from server.app import build_app

    # As `rasa run`: INFO, at which Rasa logs no message text (its DEBUG logs do).
    configure_logging_and_warnings(logging.INFO)
    configure_structlog(logging.INFO)
    # Rasa sets only its own logger's level; the project's (model reloads, knowledge-base
    # versions) log at INFO too, whatever a library did to the root logger on import.
    logging.basicConfig(format="%(asctime)s %(levelname)-8s %(name)s  - %(message)s", force=True)
    for package in ("server", "bot", "storage", "channels"):
        logging.getLogger(package).setLevel(logging.INFO)

    app = build_app(args.model, args.endpoints or settings.endpoints, args.credentials)
    app.run(host=args.host, port=args.port, workers=1, access_log=False)


if __name__ == "__main__":
    main()
