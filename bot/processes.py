"""Start the action server and the Rasa server as child processes on localhost."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO, Callable, Dict, List, Optional, Union

from bot.settings import ROOT

BIN = Path(sys.executable).parent


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 180.0) -> None:
    """Poll a health URL until it answers 200; fail if the process exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with code {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


# Where a child's output goes: None inherits ours, or a file, or subprocess.DEVNULL.
Output = Optional[Union[int, IO[bytes]]]


def _start(args: List[str], env: Optional[Dict[str, str]], output: Output) -> subprocess.Popen:
    return subprocess.Popen(
        args, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=output, stderr=subprocess.STDOUT if output else None
    )


def start_action_server(port: int, output: Output = None, env: Optional[Dict[str, str]] = None) -> subprocess.Popen:
    """The rasa-sdk action server with the actions package, bound to loopback. `env` adds to ours."""
    process = _start(
        [str(BIN / "python"), "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)],
        env={"SANIC_HOST": "127.0.0.1", **(env or {})},
        output=output,
    )
    wait_until_up(f"http://127.0.0.1:{port}/health", process)
    return process


def start_rasa_server(
    model: Path, port: int, output: Output = None, host: str = "127.0.0.1", env: Optional[Dict[str, str]] = None
) -> subprocess.Popen:
    """The bot's web server (server/): Rasa's agent with the channels of credentials.yml,
    the widget and its demo page; Rasa's HTTP API is not part of it. `env` adds to ours."""
    process = _start(
        [str(BIN / "python"), "-m", "server", "--model", str(model), "--host", host, "--port", str(port)],
        env=env,
        output=output,
    )
    wait_until_up(f"http://127.0.0.1:{port}/health", process)
    return process


def start_balancer(port: int, backends: List[str], strategy: str, output: Output = None) -> subprocess.Popen:
    """The load balancer (balancer/) on loopback in front of `backends`."""
    args = [str(BIN / "python"), "-m", "balancer.proxy", "--port", str(port), "--strategy", strategy]
    for backend in backends:
        args += ["--backend", backend]
    process = _start(args, env=None, output=output)
    wait_until_up(f"http://127.0.0.1:{port}/balancer/health", process)
    return process


def start_organizer(port: int, output: Output = None, env: Optional[Dict[str, str]] = None) -> subprocess.Popen:
    """The organizer web app (organizer/) on loopback. `env` adds to ours."""
    process = _start([str(BIN / "python"), "-m", "organizer", "--port", str(port)], env=env, output=output)
    wait_until_up(f"http://127.0.0.1:{port}/organizer/login", process)
    return process


@dataclass
class Topology:
    """The processes of one running bot: servers, and balancers when there are replicas."""

    action_servers: List[subprocess.Popen] = field(default_factory=list)
    bot_servers: List[subprocess.Popen] = field(default_factory=list)
    balancers: List[subprocess.Popen] = field(default_factory=list)
    organizer: List[subprocess.Popen] = field(default_factory=list)

    @property
    def front(self) -> subprocess.Popen:
        """The process that serves the public port: a balancer, or the only bot server."""
        return self.balancers[-1] if len(self.bot_servers) > 1 else self.bot_servers[0]

    def stop(self) -> None:
        """Stop everything, the public side first."""
        stop(*self.organizer, *reversed(self.balancers), *self.bot_servers, *self.action_servers)


def start_topology(
    model: Path,
    rasa_port: int,
    action_port: int,
    replicas: int = 1,
    actions: int = 1,
    output: Output = None,
    organizer_port: Optional[int] = None,
) -> Topology:
    """Action servers and bot servers, with a balancer in front of each kind when there
    is more than one, so the public port and the action URL stay the same either way;
    and the organizer app if it has a port."""
    topology = Topology()
    try:
        if organizer_port:
            # First: it publishes the first knowledge-base version before the bot reads it.
            topology.organizer.append(start_organizer(organizer_port, output))
        if actions == 1:
            topology.action_servers.append(start_action_server(action_port, output))
        else:
            ports = [free_port() for _ in range(actions)]
            topology.action_servers += _in_parallel([lambda p=p: start_action_server(p, output) for p in ports])
            urls = [f"http://127.0.0.1:{p}" for p in ports]
            topology.balancers.append(start_balancer(action_port, urls, "round_robin", output))
        env = {"ACTION_ENDPOINT_URL": f"http://127.0.0.1:{action_port}/webhook"}
        if replicas == 1:
            topology.bot_servers.append(start_rasa_server(model, rasa_port, output, env=env))
        else:
            ports = [free_port() for _ in range(replicas)]
            topology.bot_servers += _in_parallel([lambda p=p: start_rasa_server(model, p, output, env=env) for p in ports])
            urls = [f"http://127.0.0.1:{p}" for p in ports]
            topology.balancers.append(start_balancer(rasa_port, urls, "conversation", output))
    except BaseException:
        topology.stop()
        raise
    return topology


def _in_parallel(starts: List[Callable[[], subprocess.Popen]]) -> List[subprocess.Popen]:
    """Run start functions at once (a bot server takes ~20 s to load its model)."""
    with ThreadPoolExecutor(max_workers=len(starts)) as pool:
        futures = [pool.submit(start) for start in starts]
    results, errors = [], []
    for future in futures:
        try:
            results.append(future.result())
        except Exception as error:
            errors.append(error)
    if errors:
        stop(*results)
        raise errors[0]
    return results


def stop(*processes: Optional[subprocess.Popen]) -> None:
    """Terminate child processes and wait for them."""
    for process in processes:
        if process and process.poll() is None:
            process.terminate()
    for process in processes:
        if process:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
