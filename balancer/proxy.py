"""The balancer: an aiohttp reverse proxy in front of bot server (or action server) replicas.

Why not nginx: the conversation id that must pick the replica is inside the request
body (the widget's and REST's JSON `sender`, Twilio's form field `From`), which nginx
cannot hash on without scripting modules. Routing every conversation to one replica
keeps its messages in order; Rasa's Redis lock store stays as the second guard.

- strategy "conversation": consistent hashing on the conversation id, failing over to
  the next replica on the ring when one is down; one request per conversation at a
  time, in arrival order; requests without an id (the widget script, the demo page)
  go round-robin.
- strategy "round_robin": for the stateless action servers.
A request is retried on another replica only when it could not be delivered
(connection refused or reset before sending), never after a replica took it, so no
message is processed twice. Replicas are health-checked every second. Only failures
are logged, as the replica and the error type: no paths with ids, no bodies, no numbers.
"""

import argparse
import asyncio
import itertools
import logging
import time
from typing import Dict, Iterable, List, Optional

import aiohttp
from aiohttp import web

from balancer.keys import conversation_key
from balancer.ring import HashRing

logger = logging.getLogger("kyr.balancer")

HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
    "transfer-encoding", "upgrade", "content-length", "host",
}
CHECK_EVERY = 1.0
DOWN_FOR = 5.0
MAX_BODY = 1024 * 1024


class Balancer:
    """Pick a replica per request and forward the request to it."""

    def __init__(self, backends: List[str], strategy: str = "conversation", timeout: float = 60.0) -> None:
        self.backends = [b.rstrip("/") for b in backends]
        self.strategy = strategy
        self.ring = HashRing(self.backends)
        self._rotation = itertools.cycle(self.backends)
        self._down_until: Dict[str, float] = {}
        # Per conversation: a FIFO lock and how many requests hold or wait for it.
        self._queues: Dict[str, list] = {}
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.session: Optional[aiohttp.ClientSession] = None

    def healthy(self, backend: str) -> bool:
        """False while a replica is marked down."""
        return self._down_until.get(backend, 0.0) <= time.monotonic()

    def mark_down(self, backend: str) -> None:
        """Skip a replica until its health check passes again (or DOWN_FOR elapses)."""
        self._down_until[backend] = time.monotonic() + DOWN_FOR

    def candidates(self, key: Optional[str]) -> List[str]:
        """Replicas to try, in order: healthy ones first, then the rest as a last resort."""
        if key is not None and self.strategy == "conversation":
            order = self.ring.order(key)
        else:
            first = next(self._rotation)
            start = self.backends.index(first)
            order = self.backends[start:] + self.backends[:start]
        return [b for b in order if self.healthy(b)] + [b for b in order if not self.healthy(b)]

    async def check_health(self) -> None:
        """Mark replicas up or down from their /health answer, forever."""
        assert self.session is not None
        while True:
            for backend in self.backends:
                try:
                    async with self.session.get(f"{backend}/health", timeout=aiohttp.ClientTimeout(total=2)) as r:
                        if r.status == 200:
                            self._down_until.pop(backend, None)
                        else:
                            self.mark_down(backend)
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    self.mark_down(backend)
            await asyncio.sleep(CHECK_EVERY)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Forward one request; a conversation's requests one at a time, in arrival order.

        Rasa's own lock makes a replica poll once a second for a busy conversation, so
        a burst of three messages would take seconds; queued here (FIFO), each goes out
        the moment the previous one is answered.
        """
        body = await request.read()
        key = conversation_key(request.headers.get("Content-Type", ""), body)
        if key is None or self.strategy != "conversation":
            return await self.forward(request, body, key)
        entry = self._queues.setdefault(key, [asyncio.Lock(), 0])
        entry[1] += 1
        try:
            async with entry[0]:
                return await self.forward(request, body, key)
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                del self._queues[key]

    async def forward(self, request: web.Request, body: bytes, key: Optional[str]) -> web.StreamResponse:
        """Send the request to the first replica that takes it; return its answer."""
        assert self.session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["Host"] = request.host
        headers["X-Forwarded-For"] = request.remote or ""
        for backend in self.candidates(key):
            try:
                async with self.session.request(
                    request.method, backend + request.rel_url.raw_path_qs, headers=headers, data=body,
                    allow_redirects=False, timeout=self.timeout,
                ) as upstream:
                    payload = await upstream.read()
                    reply_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP | {"content-encoding"}}
                    if upstream.headers.get("Content-Encoding"):
                        reply_headers["Content-Encoding"] = upstream.headers["Content-Encoding"]
                    return web.Response(status=upstream.status, body=payload, headers=reply_headers)
            except aiohttp.ClientConnectorError as error:
                # Not delivered: safe to give this request to the next replica.
                logger.warning("%s refused a request (%s); trying the next replica", backend, type(error).__name__)
                self.mark_down(backend)
                continue
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, asyncio.TimeoutError) as error:
                # Delivered, and the replica died or stalled while holding it.
                logger.warning("%s failed while holding a request (%s); marked down", backend, type(error).__name__)
                self.mark_down(backend)
                return web.json_response({"error": "the server could not answer; please try again"}, status=502)
        return web.json_response({"error": "no server behind this balancer is available"}, status=503)


def build_app(backends: Iterable[str], strategy: str) -> web.Application:
    """The aiohttp application for a balancer over `backends`."""
    balancer = Balancer(list(backends), strategy)
    app = web.Application(client_max_size=MAX_BODY)

    async def start(_: web.Application) -> None:
        # Decompression off: compressed bodies (widget.js) pass through as they are.
        # A new connection per request (a loopback connect costs well under a millisecond):
        # a request sent on a kept-alive connection to a replica that has just died fails
        # as "disconnected", which cannot be told from a replica dying while it held the
        # request, so it could not safely go to the next replica; a fresh connect to a
        # dead replica is refused, which is "not delivered", and fails over.
        connector = aiohttp.TCPConnector(force_close=True)
        balancer.session = aiohttp.ClientSession(connector=connector, auto_decompress=False)
        app["health"] = asyncio.create_task(balancer.check_health())

    async def stop(_: web.Application) -> None:
        app["health"].cancel()
        if balancer.session:
            await balancer.session.close()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_route("*", "/balancer/health", lambda _: web.json_response({"status": "ok"}))
    app.router.add_route("*", "/{path:.*}", balancer.handle)
    return app


def main() -> None:
    """`python -m balancer.proxy --port 5005 --backend URL --backend URL [--strategy ...]`."""
    parser = argparse.ArgumentParser(description="kyr-bot load balancer")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--backend", action="append", required=True)
    parser.add_argument("--strategy", choices=["conversation", "round_robin"], default="conversation")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    web.run_app(build_app(args.backend, args.strategy), host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
