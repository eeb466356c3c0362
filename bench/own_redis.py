"""A Redis server of the bench's own on a free loopback port, so that a fault test can
stop it and start it again without touching the machine's shared Redis."""

import os
import subprocess
import time
from contextlib import contextmanager
from typing import Iterator, Optional

import redis

from bot import processes

START_SECONDS = 10.0


class OwnRedis:
    """redis-server on one port, empty each time it starts (no persistence), as the
    lock store it serves needs nothing to survive a restart."""

    def __init__(self, output: processes.Output = subprocess.DEVNULL) -> None:
        self.port = processes.free_port()
        self.output = output
        self.process: Optional[subprocess.Popen] = None

    def start(self) -> None:
        """Start it and wait until it answers PING."""
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=self.output, stderr=subprocess.STDOUT,
        )
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1)
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server on port {self.port} did not start")
                time.sleep(0.1)

    def stop(self) -> None:
        """Stop it: from now on connections to its port are refused."""
        processes.stop(self.process)


@contextmanager
def own_redis(output: processes.Output = subprocess.DEVNULL) -> Iterator[OwnRedis]:
    """A started OwnRedis, named in REDIS_HOST and REDIS_PORT for the servers started
    afterwards; stopped on exit."""
    server = OwnRedis(output)
    server.start()
    os.environ.update({"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(server.port), "REDIS_PASSWORD": ""})
    try:
        yield server
    finally:
        server.stop()
