"""Issue #7's fault tests: one fault at a time injected into the replicated bot under open-loop load.

Each scenario gets a fresh production topology (bot/processes.py: 2 bot servers behind
the conversation-hashing balancer, 2 action servers behind a round-robin one) on a
scratch PostgreSQL database (bench/scratch_stores.py) and a Redis of the bench's own on
a free port (bench/own_redis.py), so that it can be stopped. New conversations then
arrive at --rate messages/s (bench/schedule.py: Poisson arrivals, 3 turns about 4 s
apart), half over REST and half as Twilio-signed SMS, each message sent at its time
whatever happened to earlier ones, with the calibrated messages and reply checks of
bench/correctness.py. A third of the way in, the fault:

- replica: one bot server is killed (SIGKILL) and stays dead, at the first moment it
  holds a message (up to 5 s late), since killed idle it would lose nothing;
- postgres: this machine's PostgreSQL is restarted (pg_ctlcluster; needs root);
- actions: both action servers are killed, new ones start on their ports --outage s later;
- redis: the bench's Redis is stopped, and started again --outage s later.

Per scenario (bench/fault_analysis.py): messages answered, answered with the apology and
lost; for the replica, how many of the lost it held; p95 latency before, during and
after the fault; whether the bot recovered by itself and how fast; and whether every
answered message has its user message in the tracker store (apologies' messages are
counted too, but the apology asks the person to send again, so it acknowledges
nothing). Prints a markdown table, writes bench/results/faults.json, and exits 1 if an
answered message is missing from the tracker store, a reply was wrong (crossed,
duplicated, out of order), or a scenario did not recover.

    make bench-faults   # = .venv/bin/python -m bench.faults [--only NAME] [--rate 6] [--seconds 40]
"""

import argparse
import asyncio
import dataclasses
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any, Callable, Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Tuple

import aiohttp
import sqlalchemy as sa

from bench import fault_analysis, reply_check, scratch_stores
from bench.correctness import LOCAL_KINDS, TOPICS, Client, bind_numbers, calibrate, converse, sms_texts
from bench.fault_analysis import Fault, Message
from bench.load_report import machine
from bench.own_redis import OwnRedis, own_redis
from bench.reply_check import Conversation, Meta, Place
from bench.schedule import Slot, arrival_times, assign_people
from bench.servers import kyr_env
from balancer.ring import HashRing
from bot import processes
from bot.settings import ROOT
from bot.kb.model import KnowledgeBase
from bot.sms.privacy import sender_key
from storage import kb_versions, organizer_db

RESULTS = ROOT / "bench" / "results"
SERVER_LOG = RESULTS / "faults-servers.log"
POSTGRES_CONFIGS = Path("/etc/postgresql")
LEAD_SECONDS = 0.5  # between the last preparation and the first scheduled send
BUSY_WAIT_SECONDS = 5.0  # at most this long after its time, a replica kill waits for the replica to hold a message
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclasses.dataclass
class Cluster:
    """What a fault acts on (the running topology, the bench's Redis), the run's clock,
    and which conversations have a message on the way."""

    topology: processes.Topology
    redis: OwnRedis
    log: IO[bytes]
    outage: float  # seconds a stopped service stays stopped
    epoch: float = 0.0  # time.monotonic() of the run's first scheduled send
    pending: Counter = dataclasses.field(default_factory=Counter)  # conversation id -> messages sent, not answered

    def __post_init__(self) -> None:
        self.ring = HashRing([backend(p) for p in self.topology.bot_servers])
        self.victim = backend(self.topology.bot_servers[0])  # the bot server a replica kill kills

    def now(self) -> float:
        """Seconds since the start of the run."""
        return time.monotonic() - self.epoch

    def owner(self, conversation: str) -> str:
        """The bot server the balancer sends a conversation to while all are up."""
        return self.ring.order(conversation)[0]

    async def until_victim_busy(self, limit: float) -> None:
        """Wait, at most `limit` s, until the victim holds a message: killed idle, it would
        lose nothing, and the kill would show nothing."""
        deadline = self.now() + limit
        while self.now() < deadline and not any(self.owner(c) == self.victim for c in self.pending):
            await asyncio.sleep(0.005)


def port_of(process: subprocess.Popen) -> int:
    """The --port a server was started with (bot/processes.py passes it on the command line)."""
    args = [str(a) for a in process.args]
    return int(args[args.index("--port") + 1])


def backend(process: subprocess.Popen) -> str:
    """A bot server's URL as the balancer names it (bot/processes.py start_topology)."""
    return f"http://127.0.0.1:{port_of(process)}"


def kill_replica(cluster: Cluster) -> Fault:
    """SIGKILL the victim bot server; the balancer must carry on with the other."""
    victim = cluster.topology.bot_servers[0]
    at = cluster.now()
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    return Fault(at, at)


def restart_postgres(cluster: Cluster) -> Fault:
    """Restart this machine's PostgreSQL cluster (as tests/integration/test_production_stores.py does)."""
    version = sorted(os.listdir(POSTGRES_CONFIGS))[0]
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main"]
    started = cluster.now()
    try:
        subprocess.run([*command, "restart"], check=True, timeout=60, capture_output=True)
    finally:
        # Whatever went wrong, the machine's PostgreSQL is not left down: others use it too.
        if subprocess.run([*command, "status"], capture_output=True, timeout=10).returncode != 0:
            subprocess.run([*command, "start"], check=True, timeout=60, capture_output=True)
    return Fault(started, cluster.now())


def stop_action_servers(cluster: Cluster) -> Fault:
    """SIGKILL both action servers; after the outage start new ones on the same ports,
    which the action balancer's health check then finds again."""
    servers = cluster.topology.action_servers
    ports = [port_of(s) for s in servers]
    started = cluster.now()
    for server in servers:
        server.send_signal(signal.SIGKILL)
    for server in servers:
        server.wait(timeout=10)
    time.sleep(cluster.outage)
    # Both at once: one by one, the second would start only once the first is up and
    # busy with the backlog. In place, so that topology.stop() stops the new ones.
    with ThreadPoolExecutor(max_workers=len(ports)) as pool:
        servers[:] = list(pool.map(lambda port: processes.start_action_server(port, cluster.log), ports))
    return Fault(started, cluster.now())


def stop_redis(cluster: Cluster) -> Fault:
    """Stop the bench's Redis (the lock store) for the outage, then start it again, empty."""
    started = cluster.now()
    cluster.redis.stop()
    time.sleep(cluster.outage)
    cluster.redis.start()
    return Fault(started, cluster.now())


@dataclasses.dataclass(frozen=True)
class Scenario:
    """A fault: what the table calls it, and how it is injected (blocking; it returns
    when the fault was injected and undone)."""

    title: str
    inject: Callable[[Cluster], Fault]
    kills_victim: bool = False  # waits for Cluster.victim to hold a message, and counts what it held


SCENARIOS = {
    "replica": Scenario("bot replica killed (SIGKILL)", kill_replica, kills_victim=True),
    "postgres": Scenario("PostgreSQL restarted", restart_postgres),
    "actions": Scenario("both action servers killed, restarted after {outage:g} s", stop_action_servers),
    "redis": Scenario("Redis stopped for {outage:g} s", stop_redis),
}


def skip_reason(name: str) -> Optional[str]:
    """Why a scenario cannot run on this machine, or None."""
    if name != "postgres":
        return None
    if os.geteuid() != 0:
        return "restarting PostgreSQL with pg_ctlcluster needs root; run as root to include it"
    if os.environ.get("POSTGRES_HOST", "127.0.0.1") not in LOOPBACK or not POSTGRES_CONFIGS.is_dir():
        return "PostgreSQL is not a local pg_ctlcluster cluster"
    return None


def schedule(args: argparse.Namespace) -> List[Slot]:
    """When each message is due and which person (conversation) and turn it is."""
    times = arrival_times(args.rate, args.seconds, poisson=True, seed=args.seed)
    return assign_people(times, args.rate, args.turns, args.think)


def stored_as(conversation: Conversation) -> str:
    """A conversation's sender_id in the tracker store: an SMS one is keyed by its number's hash."""
    if conversation.channel == "sms":
        return sender_key(os.environ["KYR_SENDER_HMAC_KEY"], conversation.sender)
    return conversation.sender


def stored_texts(senders: Iterable[str]) -> Dict[str, Counter]:
    """For these sender_ids, how many times each user message text is in the tracker store."""
    wanted = set(senders)
    found: Dict[str, Counter] = {}
    # scratch_stores points DATABASE_URL at the run's database, which holds the tracker store.
    engine = sa.create_engine(os.environ["DATABASE_URL"])
    try:
        with engine.connect() as connection:
            for sender, data in connection.execute(sa.text("SELECT sender_id, data FROM events WHERE type_name = 'user'")):
                if sender in wanted:
                    found.setdefault(sender, Counter())[str(json.loads(data).get("text") or "").strip()] += 1
    finally:
        engine.dispose()
    return found


def scenario_knowledge_base() -> KnowledgeBase:
    """The knowledge base published in this scenario's new database, here before any
    server starts: so the servers find its tables there (two creating them at once
    race), and the SMS texts the run expects are the servers' own."""
    # This process's view and engine are cached, on the previous scenario's database.
    kb_versions.live.cache_clear()
    organizer_db.engine.cache_clear()
    return kb_versions.live_knowledge_base()


async def drive(
    cluster: Cluster, scenario: Scenario, url: str, conversations: Sequence[Conversation], slots: Sequence[Slot],
    sms: Tuple[Mapping[Place, str], Mapping[str, FrozenSet[Meta]]], args: argparse.Namespace, tag: str,
) -> Tuple[List[Message], Fault]:
    """Calibrate (which also warms the servers up), then send every message at its time
    and inject the fault a third of the way in; the messages and the fault's times."""
    numbers, known = sms
    places = {c.place for c in conversations}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=args.timeout)) as session:
        client = Client(session, url, numbers)
        began = time.monotonic()
        texts = await calibrate(client, sorted({c.language for c in conversations}), tag)
        print(f"  calibrated {len(texts)} messages in {time.monotonic() - began:.0f} s; {len(slots)} messages start now", flush=True)

        async def send(conversation: Conversation, turn: int, due: float) -> Message:
            topic = conversation.topics[turn]
            cluster.pending[conversation.sender] += 1
            # converse() with this one turn: the same request and reply check as bench.correctness.
            answer = (await converse(client, dataclasses.replace(conversation, topics=(topic,)), texts, known))[0]
            cluster.pending -= Counter({conversation.sender: 1})
            return Message(
                conversation.sender, stored_as(conversation), texts[(conversation.language, topic)], due, cluster.now(),
                answer.status, reply_check.classify(conversation, turn, answer, places),
            )

        async def fault() -> Fault:
            await asyncio.sleep(max(0.0, args.seconds / 3 - cluster.now()))
            if scenario.kills_victim:
                await cluster.until_victim_busy(BUSY_WAIT_SECONDS)
            # In a thread: the sends go on meanwhile, on time.
            return await asyncio.to_thread(scenario.inject, cluster)

        cluster.epoch = time.monotonic() + LEAD_SECONDS
        injected = asyncio.create_task(fault())
        tasks = []
        for slot in slots:
            await asyncio.sleep(max(0.0, slot.at - cluster.now()))
            tasks.append(asyncio.create_task(send(conversations[slot.person], slot.turn, slot.at)))
        messages = await asyncio.gather(*tasks)
    return list(messages), await injected


def run_scenario(name: str, args: argparse.Namespace, log: IO[bytes]) -> Dict[str, Any]:
    """One scenario on a fresh topology and stores; its settings and summary."""
    scenario = SCENARIOS[name]
    tag = secrets.token_hex(4)
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kyr-faults-")))
        os.environ.update({**kyr_env(workdir), "KYR_ANSWER_TIMEOUT": str(args.answer_timeout)})
        redis = stack.enter_context(own_redis(log))
        why = scratch_stores.unreachable()
        if why is not None:
            sys.exit(f"the fault tests need PostgreSQL: {why}")
        stores = stack.enter_context(scratch_stores.production_stores(f"kyrfaults{tag}"))
        kb = scenario_knowledge_base()
        places = sorted(j.id for j in kb.jurisdictions.values() if j.kind in LOCAL_KINDS)
        slots = schedule(args)
        people = max(s.person for s in slots) + 1
        conversations = reply_check.plan(people, args.turns, ["rest", "sms"], sorted(kb.languages), places, TOPICS, tag)
        used = {c.place for c in conversations}
        os.environ["KYR_SMS_NUMBERS"] = str(workdir / "numbers.yml")
        sms = bind_numbers(used, workdir / "numbers.yml"), sms_texts(kb, used)
        print(f"{name}: starting 2 bot servers and 2 action servers (database {stores['POSTGRES_DB']}, Redis port {redis.port})", flush=True)
        front, action_port = processes.free_port(), processes.free_port()
        began = time.monotonic()
        topology = processes.start_topology(args.model, front, action_port, replicas=2, actions=2, output=log)
        stack.callback(topology.stop)
        print(f"  up in {time.monotonic() - began:.0f} s", flush=True)
        cluster = Cluster(topology, redis, log, args.outage)
        messages, fault = asyncio.run(drive(cluster, scenario, f"http://127.0.0.1:{front}", conversations, slots, sms, args, tag))
        held = fault_analysis.in_flight(messages, fault.started, cluster.owner, cluster.victim) if scenario.kills_victim else None
        stored = stored_texts(stored_as(c) for c in conversations)
    summary = fault_analysis.summarize(messages, fault, stored, args.last, held)
    print(f"{name}: {summary}", flush=True)
    rows = [{**dataclasses.asdict(m), "window": fault.window(m.due), "in_flight": m in (held or ())} for m in messages]
    return {"name": name, "fault": scenario.title.format(outage=args.outage), "summary": summary, "messages": rows}


def parse_args() -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.faults", description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--only", choices=sorted(SCENARIOS), help="run this scenario only")
    # About what this 2-core machine answers on the cluster with room to spare, so that
    # what the table shows is the fault and not overload (see README, Measured speed).
    parser.add_argument("--rate", type=float, default=6.0, help="offered messages per second")
    parser.add_argument("--seconds", type=float, default=40.0, help="seconds of arrivals per scenario; the fault comes at a third")
    parser.add_argument("--outage", type=float, default=10.0, help="seconds Redis and the action servers stay stopped")
    parser.add_argument("--turns", type=int, default=3, help="messages per conversation")
    parser.add_argument("--think", type=float, default=4.0, help="seconds between a conversation's messages")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds before a request counts as lost")
    parser.add_argument("--answer-timeout", type=float, default=5.0, help="KYR_ANSWER_TIMEOUT for the servers (the production default)")
    parser.add_argument("--last", type=int, default=20, help="recovered: this many last messages, all after the fault, answered")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "kyr.tar.gz")
    parser.add_argument("--out", type=Path, default=RESULTS / "faults.json")
    return parser.parse_args()


def main() -> None:
    """Run the scenarios, print the table, write the JSON; exit 1 on a failed scenario."""
    args = parse_args()
    if not args.model.exists():
        sys.exit(f"no trained model at {args.model}: run `make train`")
    RESULTS.mkdir(parents=True, exist_ok=True)
    results, skipped = [], {}
    with open(SERVER_LOG, "wb") as log:
        for name in [args.only] if args.only else list(SCENARIOS):
            why = skip_reason(name)
            if why:
                print(f"{name}: SKIPPED: {why}", flush=True)
                skipped[name] = why
                continue
            results.append(run_scenario(name, args, log))
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    report = {"machine": machine(), "settings": settings, "scenarios": results, "skipped": skipped}
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"\n{args.rate:g} msg/s offered for {args.seconds:g} s per fault, 2 bot and 2 action servers, PostgreSQL + Redis, "
          f"KYR_ANSWER_TIMEOUT {args.answer_timeout:g} s, client timeout {args.timeout:g} s\n")
    print(fault_analysis.render([(r["fault"], r["summary"]) for r in results]))
    print(f"\nJSON: {args.out}; server output: {SERVER_LOG}")
    failed = {r["name"]: fault_analysis.failures(r["summary"]) for r in results}
    failed = {name: reasons for name, reasons in failed.items() if reasons}
    if failed:
        sys.exit("FAILED: " + "; ".join(f"{name}: {', '.join(reasons)}" for name, reasons in failed.items()))


if __name__ == "__main__":
    main()
