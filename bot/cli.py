"""The `kyr` command: ask the bot, predict a file of questions, check the knowledge base, serve."""

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, TextIO

from bot.kb.loader import DEFAULT_ROOT, validate
from bot.settings import load_settings


def _context(jurisdiction: Optional[str], language: Optional[str]) -> Dict[str, Any]:
    return {k: v for k, v in (("jurisdiction", jurisdiction), ("language", language)) if v}


def cmd_ask(args: argparse.Namespace) -> int:
    """Print the bot's reply to one message."""
    from bot.local_agent import LocalBot

    with LocalBot(load_settings().model) as bot:
        answer = bot.ask(args.text, _context(args.jurisdiction, args.language))
    if args.json:
        print(json.dumps({"text": answer.text, "intent": answer.intent, "confidence": answer.confidence, **answer.metadata}, ensure_ascii=False, indent=2))
    else:
        print(answer.text)
    return 0


def _read_jsonl(stream: TextIO) -> Iterator[Dict[str, Any]]:
    for number, line in enumerate(stream, 1):
        if line.strip():
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SystemExit(f"line {number}: not JSON: {exc}")
            if not isinstance(item, dict) or "text" not in item:
                raise SystemExit(f"line {number}: needs an object with at least \"text\"")
            yield item


def cmd_predict(args: argparse.Namespace) -> int:
    """Answer each line of a JSONL file as a new conversation; write one JSON line each."""
    from bot.local_agent import LocalBot

    with open(args.input, encoding="utf-8") as stream:
        items: List[Dict[str, Any]] = list(_read_jsonl(stream))
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout
    try:
        with LocalBot(load_settings().model) as bot:
            for number, item in enumerate(items, 1):
                answer = bot.ask(str(item["text"]), _context(item.get("jurisdiction"), item.get("language")))
                meta = answer.metadata
                row = {
                    "id": item.get("id", number),
                    "topic": meta.get("topic", "out_of_scope"),
                    "jurisdiction": meta.get("jurisdiction"),
                    "language": meta.get("language"),
                    "confidence": round(answer.confidence, 4),
                    "text": answer.text,
                    "sources": meta.get("sources", []),
                }
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


def cmd_sms(args: argparse.Namespace) -> int:
    """Text the running bot as Twilio would, signed with this machine's auth token."""
    import os

    from bot.sms.simulator import send, twilio_params

    settings = load_settings()
    server = args.server or f"http://127.0.0.1:{settings.rasa_port}"
    reply = send(server, os.environ["TWILIO_PUBLIC_BASE_URL"], os.environ["TWILIO_AUTH_TOKEN"], twilio_params(args.text, args.sender, args.to))
    if reply.status != 200:
        print(f"The webhook answered HTTP {reply.status}.", file=sys.stderr)
        return 1
    for message in reply.messages:
        print(message)
    if not reply.messages:
        print("(no reply: the bot stays silent, e.g. after STOP)")
    else:
        print(f"\n[{reply.segments} SMS segment(s), {reply.encoding}]")
    return 0


def cmd_kb_validate(args: argparse.Namespace) -> int:
    """Check the knowledge base; print every problem with its file and field."""
    kb, report = validate(Path(args.root))
    for warning in report.warnings:
        print(f"warning: {warning}")
    for error in report.errors:
        print(f"error: {error}", file=sys.stderr)
    if kb is None:
        print(f"The knowledge base has {len(report.errors)} error(s); the bot will not start until they are fixed.", file=sys.stderr)
        return 1
    facts = sum(len(j.facts) for j in kb.jurisdictions.values())
    print(f"Knowledge base OK: {len(kb.jurisdictions)} jurisdictions, {facts} facts, {len(kb.messages)} messages, languages {', '.join(kb.languages)}.")
    return 0


def cmd_kb_export(args: argparse.Namespace) -> int:
    """Write the published knowledge base (or one version of it) as YAML files."""
    from storage.kb_versions import export_documents, live

    store = live().store
    version, documents = store.documents(args.version)
    written = export_documents(documents, Path(args.out))
    print(f"Wrote knowledge-base version {version} to {args.out}/ ({len(written)} files). Review with `git diff` and commit.")
    return 0


def cmd_kb_import(args: argparse.Namespace) -> int:
    """Publish the YAML files as a new version (after a change made in version control)."""
    from bot.kb.loader import KBError
    from storage.kb_versions import live

    try:
        version = live().store.import_files(Path(args.root), args.by)
    except KBError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 1
    print(f"Published {args.root}/ as knowledge-base version {version}; running bots pick it up within seconds.")
    return 0


def cmd_kb_history(args: argparse.Namespace) -> int:
    """List the published versions, newest first."""
    from storage.kb_versions import live

    for info in live().store.history(args.limit):
        reviewer = f"{info.reviewed_by} ({info.reviewer_credential})" if info.reviewer_credential else info.reviewed_by
        print(f"{info.id:>5}  {info.created_at:%Y-%m-%d %H:%M}  reviewed by {reviewer}: {info.summary}")
    return 0


def cmd_create_admin(args: argparse.Namespace) -> int:
    """Create an organizer admin account; print the TOTP secret to add to an authenticator app."""
    import getpass

    from organizer.admin_cli import create_admin
    from storage.organizer_db import engine

    password = os.environ.get("KYR_ADMIN_PASSWORD") or getpass.getpass("Password (at least 12 characters): ")
    try:
        secret = create_admin(engine(), args.username, args.name or args.username, password)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"Created admin {args.username!r}. Add this secret to an authenticator app (TOTP, 6 digits, 30 s); "
        f"it is shown only now:\n  {secret}"
    )
    return 0


def _published_problems() -> List[str]:
    """Problems of the published knowledge base under this version of the code (seeding it first)."""
    from storage.kb_versions import KnowledgeBaseStore
    from storage.organizer_db import engine

    store = KnowledgeBaseStore(engine())
    store.seed(DEFAULT_ROOT)
    return store.problems()


def _note_unpublished_files() -> None:
    """Say so when kb/ and the published knowledge base differ: the bot answers from the latter."""
    from bot.kb.loader import read_documents
    from storage.kb_versions import live

    store = live().store
    version, published = store.documents()
    if read_documents(DEFAULT_ROOT)[0] != published:
        print(
            f"Note: {DEFAULT_ROOT} differs from the published knowledge base (version {version}), which the bot "
            "answers from. Publish the files with `.venv/bin/kyr kb import --by NAME`, or write the published "
            "version into them with `.venv/bin/kyr kb export`."
        )


def cmd_nlu_export(args: argparse.Namespace) -> int:
    """Write the examples organizers added to data/nlu/<language>/organizer.yml."""
    from organizer.training import export
    from storage.organizer_db import engine

    load_settings()
    written = export(engine())
    print(f"Wrote {len(written)} file(s): {', '.join(str(p) for p in written) or 'no examples yet'}.")
    return 0


def cmd_retrain(args: argparse.Namespace) -> int:
    """Export the organizers' examples, check the training data, train; the running bot
    servers load the new model by themselves (they watch the model file)."""
    import subprocess

    from bot.settings import ROOT

    if cmd_nlu_export(args) != 0:
        return 1
    bin_dir = Path(sys.executable).parent
    # The Makefile's training cache, so retraining reuses every component whose data did not change.
    os.environ.setdefault("RASA_CACHE_DIRECTORY", str(Path.home() / ".cache" / "kyr-bot" / "rasa"))
    steps = (
        [str(bin_dir / "rasa"), "data", "validate", "--fail-on-warnings", "--quiet"],
        [str(bin_dir / "rasa"), "train", "--fixed-model-name", "kyr", "--out", "models", "--quiet"],
    )
    for step in steps:
        print(f"$ {' '.join(step[1:])}", flush=True)
        if subprocess.run(step, cwd=ROOT).returncode != 0:
            print("Retraining stopped: fix what is reported above; the running bot keeps its model.", file=sys.stderr)
            return 1
    print("Trained models/kyr.tar.gz; running bot servers load it within KYR_MODEL_WATCH_SECONDS (10) of it settling.")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Start the action server(s) and bot server(s) on localhost until interrupted."""
    from bot import processes

    from bot.settings import using_generated

    settings = load_settings()
    settings.tracker_sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    if using_generated("TWILIO_AUTH_TOKEN"):
        print("Note: TWILIO_AUTH_TOKEN is a locally generated one: `kyr sms` works, real Twilio requests get 403.")
    # Imported here: storage uses Rasa and SQLAlchemy, which bot/ must not load up front.
    from storage.database import ensure_database

    if ensure_database(settings.endpoints):
        print("Created the PostgreSQL database for conversations.")
    problems = _published_problems()
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        print(
            "The published knowledge base does not pass this version's checks, so the bot cannot answer from it. "
            "Publish kb/ (which does) with `.venv/bin/kyr kb import --by NAME`, or fix the above in the organizer app.",
            file=sys.stderr,
        )
        return 1
    _note_unpublished_files()
    topology = None
    try:
        topology = processes.start_topology(
            settings.model, settings.rasa_port, settings.action_port, args.replicas, args.actions,
            organizer_port=settings.organizer_port,
        )
        base = f"http://127.0.0.1:{settings.rasa_port}"
        if args.replicas > 1 or args.actions > 1:
            print(f"\n{args.replicas} bot server(s) and {args.actions} action server(s) behind balancer/ on {base}.")
        print(
            f"\nkyr-bot is up.\n  Demo page with the web widget: {base}/\n"
            f"  REST channel:   {base}/webhooks/rest/webhook\n"
            f"  SMS/WhatsApp:   {base}/webhooks/twilio/webhook  (try: .venv/bin/kyr sms \"hola\")\n"
            f"  Organizer app:  http://127.0.0.1:{settings.organizer_port}/organizer/  "
            "(first account: .venv/bin/kyr organizer create-admin <name>)\n"
            "Press Ctrl-C to stop.\n",
            flush=True,
        )
        topology.front.wait()
        return topology.front.returncode or 0
    except KeyboardInterrupt:
        return 0
    finally:
        if topology:
            topology.stop()


def cmd_retention(args: argparse.Namespace) -> int:
    """Delete conversations and SMS state older than the retention period; print counts only."""
    settings = load_settings()
    days = settings.retention_days if args.days is None else args.days
    if days < 1:
        print(f"The retention period must be at least 1 day, not {days}.", file=sys.stderr)
        return 2
    import warnings

    with warnings.catch_warnings():
        # Rasa's dependencies warn about their own deprecated APIs (and sanic turns such
        # warnings back on when imported, so a filter is not enough); a daily cron job
        # should mail only real problems.
        show = warnings.showwarning

        def show_unless_deprecation(message: Any, category: Any, *rest: Any, **kwargs: Any) -> None:
            if not issubclass(category, DeprecationWarning):
                show(message, category, *rest, **kwargs)

        warnings.showwarning = show_unless_deprecation
        # Imported here: storage uses Rasa and SQLAlchemy, which bot/ must not load up front.
        from storage.retention import RetentionError, run_retention

        try:
            report = run_retention(days, dry_run=args.dry_run, endpoints_file=settings.endpoints)
        except RetentionError as exc:
            print(f"Retention: {exc}.", file=sys.stderr)
            return 1
    done = "would delete" if report.dry_run else "deleted"
    print(f"Retention: {days} day(s)." + (" Dry run: nothing is deleted." if report.dry_run else ""))
    if report.tracker is None:
        print("Tracker store: none configured (conversations live in memory only).")
    else:
        t = report.tracker
        print(
            f"Tracker store ({t.dialect}): {done} {t.conversations} conversation(s) with no message for "
            f"{days} day(s), {t.events} event(s); {t.conversations_kept} conversation(s) kept."
        )
    if report.sms is None:
        print("SMS state: nothing stored.")
    else:
        s = report.sms
        print(
            f"SMS state: {done} {s.seen_messages} message id(s) and {s.pending_pages} pending page(s) "
            f"past their 24-hour window; {s.opt_outs_kept} opt-out(s) kept until START."
        )
    from storage import unanswered
    from storage.organizer_db import engine

    kept = unanswered.retention_days()
    if report.dry_run:
        print(f"Unanswered questions: kept {kept:g} day(s) (KYR_UNANSWERED_RETENTION_DAYS); not touched in a dry run.")
    else:
        removed = unanswered.delete_older_than(engine(), kept)
        print(f"Unanswered questions: deleted {removed} older than {kept:g} day(s) (KYR_UNANSWERED_RETENTION_DAYS).")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(prog="kyr", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    ask = sub.add_parser("ask", help="print the bot's reply to one message")
    ask.add_argument("text")
    ask.add_argument("--jurisdiction", help="context city id, e.g. orlando")
    ask.add_argument("--language", help="context language code, e.g. es")
    ask.add_argument("--json", action="store_true", help="print the reply with its metadata as JSON")
    ask.set_defaults(func=cmd_ask)

    predict = sub.add_parser("predict", help="answer each line of a JSONL file as a new conversation")
    predict.add_argument("input", help='JSONL lines {"id", "text", "jurisdiction"?, "language"?}')
    predict.add_argument("--out", help="write JSONL here instead of standard output")
    predict.set_defaults(func=cmd_predict)

    kb = sub.add_parser("kb", help="knowledge-base tools").add_subparsers(dest="kb_command", required=True)
    kb_validate = kb.add_parser("validate", help="check the knowledge base files")
    kb_validate.add_argument("--root", default=str(DEFAULT_ROOT), help="knowledge base folder")
    kb_validate.set_defaults(func=cmd_kb_validate)
    kb_export = kb.add_parser("export", help="write the published knowledge base to YAML files (for version control)")
    kb_export.add_argument("--out", default=str(DEFAULT_ROOT), help="folder to write (default: the repository's kb/)")
    kb_export.add_argument("--version", type=int, help="an earlier published version (default: the live one)")
    kb_export.set_defaults(func=cmd_kb_export)
    kb_import = kb.add_parser("import", help="publish the YAML files as a new knowledge-base version")
    kb_import.add_argument("--root", default=str(DEFAULT_ROOT), help="knowledge base folder")
    kb_import.add_argument("--by", required=True, help="your name, recorded as publisher and reviewer")
    kb_import.set_defaults(func=cmd_kb_import)
    kb_history = kb.add_parser("history", help="list published knowledge-base versions")
    kb_history.add_argument("--limit", type=int, default=20)
    kb_history.set_defaults(func=cmd_kb_history)

    nlu = sub.add_parser("nlu", help="training data tools").add_subparsers(dest="nlu_command", required=True)
    nlu_export = nlu.add_parser("export", help="write organizers' examples to data/nlu/<language>/organizer.yml")
    nlu_export.set_defaults(func=cmd_nlu_export)
    retrain = sub.add_parser("retrain", help="export organizers' examples, validate the data, train a new model")
    retrain.set_defaults(func=cmd_retrain)

    organizer = sub.add_parser("organizer", help="organizer app accounts").add_subparsers(dest="organizer_command", required=True)
    create_admin = organizer.add_parser("create-admin", help="create an admin account (asks for the password)")
    create_admin.add_argument("username")
    create_admin.add_argument("--name", help="display name (default: the username)")
    create_admin.set_defaults(func=cmd_create_admin)

    sms = sub.add_parser("sms", help="text the running bot as Twilio would (signed), and print the reply")
    sms.add_argument("text")
    sms.add_argument("--from", dest="sender", default="+15555550123", help="sender number (or whatsapp:+1...)")
    sms.add_argument("--to", default="+15555550100", help="your Twilio number the message is sent to")
    sms.add_argument("--server", help="base URL of the running Rasa server (default: this machine's)")
    sms.set_defaults(func=cmd_sms)

    serve = sub.add_parser("serve", help="start the Rasa server and the action server on localhost")
    serve.add_argument("--replicas", type=int, default=1, help="bot servers behind the balancer (default 1: no balancer)")
    serve.add_argument("--actions", type=int, default=1, help="action servers behind their balancer (default 1)")
    serve.set_defaults(func=cmd_serve)

    retention = sub.add_parser("retention", help="delete conversations and SMS state older than the retention period")
    retention.add_argument("--days", type=int, help="delete conversations with no message for N days (default: KYR_RETENTION_DAYS, 30)")
    retention.add_argument("--dry-run", action="store_true", help="print what would be deleted, delete nothing")
    retention.set_defaults(func=cmd_retention)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the `kyr` command."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
