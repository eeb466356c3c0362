"""Correctness run of issue #7: many concurrent conversations against the replicated bot.

Starts the production topology (bot/processes.py: bot servers behind the
conversation-hashing balancer, action servers behind a round-robin one) with the
production stores when this machine's PostgreSQL and Redis answer (a scratch database
and Redis key prefix of its own, removed afterwards), else the embedded SQLite defaults.
Then every conversation starts at once, each sending its turns one after the other,
each turn waiting for its reply: half over the REST channel (language and jurisdiction
as channel metadata), half over the Twilio SMS webhook (signed as Twilio signs, to a
number bound to the conversation's language and jurisdiction). Turn k asks the k-th of
five policy topics (rotated per conversation) with a training example of data/nlu/ that
the running bot was first checked to understand, so a misunderstanding is not mistaken
for a crossed reply. bench/reply_check.py judges each reply; the tracker store is then
asked how many times each question was stored. Prints a markdown table, writes
bench/results/correctness.json, and exits 1 if any reply was duplicated, crossed or out
of order, or any question stored twice.

    make bench-cluster   # = .venv/bin/python -m bench.correctness [--conversations 200] [--turns 5]
"""

import argparse
import asyncio
import json
import os
import secrets
import sys
import tempfile
import time
import urllib.parse
import xml.etree.ElementTree as ElementTree
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any, Dict, FrozenSet, List, Mapping, Optional, Sequence, Set, Tuple

import aiohttp
import sqlalchemy as sa
import yaml
from twilio.request_validator import RequestValidator

from bench import reply_check, scratch_stores
from bench.load_report import machine
from bench.reply_check import APOLOGY_TOPIC, Answer, Conversation, Meta, Place
from bench.servers import kyr_env
from bench.traffic import REST_PATH
from bot import processes
from bot.compose import Composer, message_text
from bot.kb.model import KnowledgeBase
from bot.nlu_data import iter_examples
from bot.settings import ROOT
from bot.sms.encoding import encode
from bot.sms.paging import paginate
from bot.sms.privacy import sender_key
from bot.sms.simulator import WEBHOOK_PATH as SMS_PATH, twilio_params
from channels.answering import reply_payload
from storage.kb_versions import live_knowledge_base
from storage.retention import tracker_store_url

RESULTS = ROOT / "bench" / "results"
SERVER_LOG = RESULTS / "correctness-servers.log"
# Policy topics whose answers' first SMS page always tells the language and city apart
# (an SMS reply is known by its text; the REST channel's metadata names it), and for all
# but 49 of the 550 (language, city, topic) answers the topic too.
TOPICS = ("police_status_questions", "ice_detainers", "daca", "schools", "legal_help")
LOCAL_KINDS = ("city", "county")
CANDIDATES_PER_TOPIC = 12  # training examples tried per language and topic before giving up
# Longer than the balancer's own 60 s upstream deadline, so its 502 is what is seen.
REQUEST_TIMEOUT = 120.0


class Client:
    """Sends one turn over REST or signed SMS to the front balancer; times it."""

    def __init__(self, session: aiohttp.ClientSession, url: str, numbers: Mapping[Place, str]) -> None:
        self.session = session
        self.url = url
        self.numbers = numbers
        self.validator = RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])
        self.public_url = os.environ["TWILIO_PUBLIC_BASE_URL"] + SMS_PATH  # what the channel checks signatures against

    async def _post(self, path: str, body: bytes, headers: Dict[str, str]) -> Tuple[int, bytes, float]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            async with self.session.post(self.url + path, data=body, headers=headers) as answer:
                return answer.status, await answer.read(), loop.time() - started
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return 0, b"", loop.time() - started

    async def rest(self, sender: str, text: str, metadata: Dict[str, str]) -> Tuple[int, Any, float]:
        """Status, the parsed JSON answer (None if none) and the latency of a REST message."""
        body = json.dumps({"sender": sender, "message": text, "metadata": metadata}).encode("utf-8")
        status, payload, latency = await self._post(REST_PATH, body, {"Content-Type": "application/json"})
        try:
            return status, json.loads(payload) if status == 200 else None, latency
        except ValueError:
            return status, None, latency

    async def sms(self, sender: str, place: Place, text: str) -> Tuple[int, List[str], float]:
        """Status, the TwiML <Message> texts and the latency of an SMS to the place's number."""
        params = twilio_params(text, sender, self.numbers[place])
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": self.validator.compute_signature(self.public_url, params),
        }
        status, payload, latency = await self._post(SMS_PATH, urllib.parse.urlencode(params).encode("utf-8"), headers)
        try:
            return status, [m.text or "" for m in ElementTree.fromstring(payload).iter("Message")], latency
        except ElementTree.ParseError:
            return status, [], latency


async def calibrate(client: Client, languages: Sequence[str], tag: str) -> Dict[Tuple[str, str], str]:
    """Per (language, topic), the first training example the running bot understands as
    meant when sent with only its language as context (each in a fresh conversation)."""
    examples: Dict[Tuple[str, str], List[str]] = {}
    for language, intent, text in iter_examples():
        examples.setdefault((language, intent), []).append(text)

    async def pick(language: str, topic: str) -> Tuple[Tuple[str, str], Optional[str]]:
        for n, text in enumerate(examples.get((language, topic), [])[:CANDIDATES_PER_TOPIC]):
            status, body, _ = await client.rest(f"calibrate-{tag}-{language}-{topic}-{n}", text, {"language": language})
            if status == 200 and isinstance(body, list) and reply_check.calibrated(reply_payload(body), language, topic):
                return (language, topic), text
        return (language, topic), None

    picked = dict(await asyncio.gather(*(pick(language, topic) for language in languages for topic in TOPICS)))
    missing = sorted(key for key, text in picked.items() if text is None)
    if missing:
        raise RuntimeError(f"no training example the bot understands as meant for {missing}")
    return {key: text for key, text in picked.items() if text is not None}


async def converse(client: Client, conversation: Conversation, messages: Mapping[Tuple[str, str], str],
                   known: Mapping[str, FrozenSet[Meta]]) -> List[Answer]:
    """One conversation's turns, each sent when the previous one was answered."""
    answers = []
    for topic in conversation.topics:
        text = messages[(conversation.language, topic)]
        if conversation.channel == "sms":
            status, texts, latency = await client.sms(conversation.sender, conversation.place, text)
            answers.append(reply_check.sms_answer(status, texts, known, latency))
        else:
            context = {"language": conversation.language, "jurisdiction": conversation.jurisdiction}
            status, body, latency = await client.rest(conversation.sender, text, context)
            answers.append(reply_check.rest_answer(status, body, conversation.sender, latency))
    return answers


async def run(url: str, conversations: Sequence[Conversation], numbers: Mapping[Place, str],
              known: Mapping[str, FrozenSet[Meta]], tag: str) -> Tuple[Dict[Tuple[str, str], str], Dict[str, List[Answer]], float]:
    """Calibrate, then run every conversation at once; the messages used, the answers
    by sender, and the wall time of the conversations (s)."""
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        client = Client(session, url, numbers)
        messages = await calibrate(client, sorted({c.language for c in conversations}), tag)
        print(f"calibrated {len(messages)} messages; {len(conversations)} conversations start now", flush=True)
        began = time.monotonic()
        answers = await asyncio.gather(*(converse(client, c, messages, known) for c in conversations))
        wall = time.monotonic() - began
    return messages, {c.sender: a for c, a in zip(conversations, answers)}, wall


def sms_texts(kb: KnowledgeBase, places: Set[Place]) -> Dict[str, FrozenSet[Meta]]:
    """Every text the SMS channel can answer with in this run (the first page of each
    topic's answer, and the apology, for each place) -> what it is, composed here from
    the same published knowledge base the servers read."""
    composer = Composer(kb)
    known: Dict[str, Set[Meta]] = {}
    for language, jurisdiction in places:
        hint = message_text(kb, "sms_more_hint", language)
        for topic in TOPICS:
            page = paginate(composer.answer(topic, language, jurisdiction).text, hint)[0]
            known.setdefault(encode(page).text, set()).add(Meta(topic, language, jurisdiction))
        apology = composer.unavailable(language, jurisdiction).text
        known.setdefault(encode(apology).text, set()).add(Meta(APOLOGY_TOPIC, language, jurisdiction))
    return {text: frozenset(metas) for text, metas in known.items()}


def bind_numbers(places: Set[Place], path: Path) -> Dict[Place, str]:
    """A Twilio number per place, bound to its language and jurisdiction in a numbers
    file for the SMS channel (KYR_SMS_NUMBERS)."""
    numbers = {place: f"+1800555{i:04d}" for i, place in enumerate(sorted(places))}
    bound = {number: {"language": language, "jurisdiction": jurisdiction} for (language, jurisdiction), number in numbers.items()}
    path.write_text(yaml.safe_dump({"numbers": bound}), encoding="utf-8")
    return numbers


def stored_questions(conversations: Sequence[Conversation]) -> Dict[str, int]:
    """How many user messages the tracker store holds per conversation (by sender; an SMS
    conversation is stored under the keyed hash of its number)."""
    key = os.environ["KYR_SENDER_HMAC_KEY"]
    ids = {sender_key(key, c.sender) if c.channel == "sms" else c.sender: c.sender for c in conversations}
    url = tracker_store_url(ROOT / os.environ["KYR_ENDPOINTS"])
    assert url is not None, "the tracker store is not an SQL store"
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT sender_id, COUNT(*) FROM events WHERE type_name = 'user' GROUP BY sender_id"))
            return {ids[sender]: count for sender, count in rows if sender in ids}
    finally:
        engine.dispose()


def parse_args() -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.correctness", description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--conversations", type=int, default=200, help="conversations at once")
    parser.add_argument("--turns", type=int, default=5, help="messages per conversation")
    parser.add_argument("--replicas", type=int, default=2, help="bot servers behind the balancer")
    parser.add_argument("--actions", type=int, default=2, help="action servers behind the balancer")
    parser.add_argument("--channels", nargs="+", choices=("rest", "sms"), default=["rest", "sms"], help="conversations alternate between these")
    parser.add_argument("--stores", choices=("auto", "production", "embedded"), default="auto",
                        help="production: PostgreSQL + Redis (deploy/endpoints.production.yml); embedded: SQLite; auto: production if reachable")
    # The production default is 5 s. This run is about correctness, not latency: with
    # every conversation at once a 2-core machine answers in seconds, and an apology
    # would hide which reply was meant.
    parser.add_argument("--answer-timeout", type=float, default=30.0, help="KYR_ANSWER_TIMEOUT for the servers, s")
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "kyr.tar.gz")
    parser.add_argument("--out", type=Path, default=RESULTS / "correctness.json")
    return parser.parse_args()


def choose_stores(args: argparse.Namespace, tag: str, workdir: Path, stack: ExitStack) -> str:
    """Put the run's stores in place (settings in os.environ); say which they are."""
    if args.stores != "embedded":
        why = scratch_stores.unreachable()
        if why is None:
            settings = stack.enter_context(scratch_stores.production_stores(f"kyrcorrectness{tag}"))
            return f"production: PostgreSQL database {settings['POSTGRES_DB']}, Redis key prefix {settings['REDIS_KEY_PREFIX']}"
        if args.stores == "production":
            sys.exit(f"the production stores are not reachable: {why}")
        print(f"PostgreSQL or Redis not reachable ({why}); using the embedded SQLite stores", flush=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'kyr.db'}"
    return "embedded: SQLite tracker store and knowledge base in a temp dir, in-memory lock store"


def correctness_run(args: argparse.Namespace, log: IO[bytes]) -> Dict[str, Any]:
    """Start the topology on its stores, run the conversations, check them; the report."""
    tag = secrets.token_hex(4)
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kyr-correctness-")))
        os.environ.update({**kyr_env(workdir), "KYR_ANSWER_TIMEOUT": str(args.answer_timeout)})
        stores = choose_stores(args, tag, workdir, stack)
        # Read (and, in a fresh database, published) here before any server starts, so
        # the servers find it there and the SMS texts below come from the same version.
        kb = live_knowledge_base()
        places = sorted(j.id for j in kb.jurisdictions.values() if j.kind in LOCAL_KINDS)
        conversations = reply_check.plan(args.conversations, args.turns, args.channels, sorted(kb.languages), places, TOPICS, tag)
        used = {c.place for c in conversations}
        os.environ["KYR_SMS_NUMBERS"] = str(workdir / "numbers.yml")
        numbers = bind_numbers(used, workdir / "numbers.yml")
        known = sms_texts(kb, used)
        expected = [Meta(t, *c.place) for c in conversations if c.channel == "sms" for t in c.topics]
        shared = reply_check.shared_texts(known, expected)
        if shared:
            print(f"note: {shared} of the SMS answers expected share their text with another's, so a reply out of order among them would pass")
        print(f"stores: {stores}\nstarting {args.replicas} bot server(s) and {args.actions} action server(s)...", flush=True)
        front, action_port = processes.free_port(), processes.free_port()
        topology = processes.start_topology(args.model, front, action_port, args.replicas, args.actions, output=log)
        stack.callback(topology.stop)
        messages, answers, wall = asyncio.run(run(f"http://127.0.0.1:{front}", conversations, numbers, known, tag))
        results = reply_check.by_channel(conversations, answers, stored_questions(conversations), wall)
    return {
        "machine": machine(),
        "settings": {**{k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}, "stores": stores},
        "messages": {f"{language}/{topic}": text for (language, topic), text in sorted(messages.items())},
        "results": results,
    }


def main() -> None:
    """Run, print the table, write the JSON; exit 1 on any duplicated, crossed or out-of-order reply."""
    args = parse_args()
    if not args.model.exists():
        sys.exit(f"no trained model at {args.model}: run `make train`")
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(SERVER_LOG, "wb") as log:
        report = correctness_run(args, log)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    settings = report["settings"]
    print(f"\n{settings['conversations']} conversations x {settings['turns']} turns, {settings['replicas']} bot servers, "
          f"{settings['actions']} action servers; {settings['stores']}; KYR_ANSWER_TIMEOUT {settings['answer_timeout']:g} s\n")
    print(reply_check.render(report["results"]))
    print(f"\nJSON: {args.out}; server output: {SERVER_LOG}")
    if reply_check.failed(report["results"]["all"]):
        sys.exit("FAILED: duplicated, crossed or out-of-order replies, or questions stored twice")


if __name__ == "__main__":
    main()
