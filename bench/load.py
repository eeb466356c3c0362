"""Open-loop load benchmark of one bot replica, compared with a plain `rasa init` server.

Starts the bot itself on loopback (one bot server, one action server, the embedded
defaults: SQLite in a temp dir), warms it up, then drives it from a separate process
(bench/load_generator.py) at each offered rate: half Twilio-signed SMS, half widget
requests, questions from the held-out set in ten languages. Then the same for `rasa
init`'s assistant over its REST channel, at the same rates. Prints a table and writes
bench/results/load.json.

    make bench-load     # = .venv/bin/python -m bench.load [--rates 2 5 10] [--duration 20]
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any, Dict, List

from bench import load_report, reference
from bench.latency import sustained_rate
from bench.servers import LOAD_ORIGIN, Running, apologies, child_env, kyr_bot, memory
from bot.settings import ROOT

RESULTS = ROOT / "bench" / "results"
SERVER_LOG = RESULTS / "load-servers.log"
DEFAULT_RATES = (2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0)
P95_SUSTAINED_MS = 1000.0


def generate(running: Running, target: str, rate: float, duration: float, args: argparse.Namespace) -> Dict[str, Any]:
    """One run of the load generator in its own process; its JSON summary."""
    command = [
        sys.executable, "-m", "bench.load_generator", "--target", target, "--url", running.url,
        "--rate", str(rate), "--duration", str(duration), "--seed", str(args.seed), "--origin", LOAD_ORIGIN,
    ]
    if args.even:
        command.append("--even")
    done = subprocess.run(command, cwd=ROOT, env=child_env(running.env), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def measure(running: Running, target: str, args: argparse.Namespace) -> Dict[str, Any]:
    """Warm up, then every offered rate; start-up times, and memory after the run."""
    print(f"{target}: warming up for {args.warmup:.0f} s", flush=True)
    generate(running, target, min(args.rates), args.warmup, args)
    rows: List[Dict[str, Any]] = []
    for rate in args.rates:
        time.sleep(args.pause)
        before = apologies(running.url) if target == "kyr" else None
        result = generate(running, target, rate, args.duration, args)
        after = apologies(running.url) if target == "kyr" else None
        row = dict(result["all"])
        row["apologies"] = int(after - before) if before is not None and after is not None else None
        row["send_lag_p99_ms"] = result["send_lag_p99_ms"]
        row["p95_ms_by_kind"] = {kind: s["p95_ms"] for kind, s in result.items() if isinstance(s, dict) and kind != "all"}
        rows.append(row)
        print(f"{target}: {load_report.progress(row)}", flush=True)
    return {
        "startup_seconds": {s.name: s.startup_seconds for s in running.servers},
        "memory_mb": memory(running),
        "rates": rows,
        "sustained_rate": sustained_rate(rows, P95_SUSTAINED_MS),
    }


def parse_args() -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--rates", type=float, nargs="+", default=list(DEFAULT_RATES), help="offered messages per second")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of arrivals per rate")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds at the lowest rate before measuring")
    parser.add_argument("--pause", type=float, default=3.0, help="seconds of quiet between rates")
    parser.add_argument("--even", action="store_true", help="evenly spaced arrivals instead of Poisson")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "kyr.tar.gz")
    parser.add_argument("--no-reference", action="store_true", help="skip the `rasa init` comparison")
    parser.add_argument("--reference-dir", type=Path, default=reference.CACHE, help="the cached `rasa init` project")
    parser.add_argument("--out", type=Path, default=RESULTS / "load.json")
    args = parser.parse_args()
    args.rates = sorted(args.rates)
    return args


def run_target(target: str, args: argparse.Namespace, log: IO[bytes]) -> Dict[str, Any]:
    """Start one target's servers, measure them, stop them."""
    with ExitStack() as stack:
        if target == "kyr":
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kyr-load-")))
            running = stack.enter_context(kyr_bot(args.model, workdir, log))
        else:
            running = stack.enter_context(reference.reference_bot(args.reference_dir, log))
        print(f"{target}: up at {running.url}", flush=True)
        return measure(running, target, args)


def main() -> None:
    """Measure the bot and the reference; print the report and write the JSON."""
    args = parse_args()
    if not args.model.exists():
        sys.exit(f"no trained model at {args.model}: run `make train`")
    RESULTS.mkdir(parents=True, exist_ok=True)
    results: Dict[str, Any] = {}
    with open(SERVER_LOG, "wb") as log:
        if not args.no_reference:
            reference.prepare(args.reference_dir, log)
        results["kyr"] = run_target("kyr", args, log)
        if not args.no_reference:
            results["reference"] = run_target("reference", args, log)
    report = load_report.build(results, args)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(load_report.render(report))
    print(f"\nJSON: {args.out}; server output: {SERVER_LOG}")


if __name__ == "__main__":
    main()
