"""Open-loop load on one server at one offered rate, from its own process.

Every request is sent at its scheduled time whether or not earlier ones were answered
(asyncio + aiohttp, no limit on open connections), and its latency is counted from that
scheduled time. Prints a JSON summary (bench/latency.py) on stdout.

    python -m bench.load_generator --target kyr --url http://127.0.0.1:5005 --rate 10 --duration 20

For --target kyr it signs SMS with TWILIO_AUTH_TOKEN for TWILIO_PUBLIC_BASE_URL (from
the environment) and sends widget requests with --origin.
"""

import argparse
import asyncio
import json
import os
import sys
from typing import Any, Dict, List, Tuple, Union

import aiohttp

from bench.latency import Outcome, by_kind, percentile
from bench.schedule import arrival_times, assign_people
from bench.servers import LOAD_ORIGIN
from bench.traffic import ANSWERED, KyrTraffic, MoodbotTraffic, Request

LEAD_SECONDS = 0.5  # between preparing the requests and the first scheduled send


def plan(args: argparse.Namespace) -> List[Request]:
    """Every request of the run, in schedule order."""
    times = arrival_times(args.rate, args.duration, poisson=not args.even, seed=args.seed)
    slots = assign_people(times, args.rate, args.turns, args.think)
    traffic: Union[KyrTraffic, MoodbotTraffic]
    if args.target == "kyr":
        traffic = KyrTraffic(os.environ["TWILIO_AUTH_TOKEN"], os.environ["TWILIO_PUBLIC_BASE_URL"], args.origin, args.seed)
    else:
        traffic = MoodbotTraffic(args.seed)
    return [traffic.request(slot) for slot in slots]


async def run(url: str, requests: List[Request], timeout: float) -> Tuple[Dict[str, Any], List[Outcome]]:
    """Send each request at its time and wait for every answer; also how late sends were."""
    loop = asyncio.get_running_loop()
    outcomes: List[Outcome] = []
    lags: List[float] = []
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout)) as session:

        async def send(request: Request, due: float) -> None:
            status, ok, error = 0, False, ""
            try:
                async with session.post(url + request.path, data=request.body, headers=request.headers) as answer:
                    status = answer.status
                    ok = status == 200 and ANSWERED[request.kind] in await answer.read()
            except (aiohttp.ClientError, asyncio.TimeoutError) as failure:
                error = type(failure).__name__
            outcomes.append(Outcome(request.kind, due, loop.time(), ok, status, error))

        start = loop.time() + LEAD_SECONDS
        tasks = []
        for request in requests:
            due = start + request.at
            await asyncio.sleep(max(0.0, due - loop.time()))
            lags.append(loop.time() - due)
            tasks.append(asyncio.create_task(send(request, due)))
        await asyncio.gather(*tasks)
    return {"send_lag_p99_ms": round(1000 * (percentile(lags, 99) or 0.0), 1)}, outcomes


def main() -> None:
    """Parse arguments, run the load, print the JSON summary."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.load_generator",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--target", choices=("kyr", "reference"), required=True)
    parser.add_argument("--url", required=True, help="the server, e.g. http://127.0.0.1:5005")
    parser.add_argument("--rate", type=float, required=True, help="offered messages per second")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of arrivals")
    parser.add_argument("--even", action="store_true", help="evenly spaced arrivals instead of Poisson")
    parser.add_argument("--turns", type=int, default=3, help="messages per simulated person")
    parser.add_argument("--think", type=float, default=4.0, help="seconds between a person's messages")
    parser.add_argument("--origin", default=LOAD_ORIGIN, help="Origin of widget requests")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds before a request counts as failed")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    requests = plan(args)
    extra, outcomes = asyncio.run(run(args.url.rstrip("/"), requests, args.timeout))
    json.dump({**by_kind(outcomes, args.rate), **extra}, sys.stdout)


if __name__ == "__main__":
    main()
