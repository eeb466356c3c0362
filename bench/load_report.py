"""The load benchmark's report: ratios to the reference, the issue's targets, tables."""

import argparse
import os
import platform
from pathlib import Path
from typing import Any, Dict, List, Optional

# Issue 7's targets, at this offered rate to one replica.
TARGET_RATE = 10.0
TARGET_P95_MS = 300.0
TARGET_RATIO = 1.5


def machine() -> Dict[str, Any]:
    """Cores, CPU model and memory of this machine."""
    cpu = next((line.split(":", 1)[1].strip() for line in _lines("/proc/cpuinfo") if line.startswith("model name")), None)
    memory_kb = next((int(line.split()[1]) for line in _lines("/proc/meminfo") if line.startswith("MemTotal:")), 0)
    return {"cores": os.cpu_count(), "cpu": cpu, "memory_gb": round(memory_kb / 1024**2, 1), "python": platform.python_version()}


def _lines(path: str) -> List[str]:
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []


def ratio(ours: Optional[float], theirs: Optional[float]) -> Optional[float]:
    """ours / theirs, or None when either is missing or theirs is zero."""
    return round(ours / theirs, 2) if ours is not None and theirs else None


def build(results: Dict[str, Any], args: argparse.Namespace) -> Dict[str, Any]:
    """Results with the per-rate p95 ratios to the reference and the targets' verdicts."""
    ours = {r["offered_rate"]: r for r in results["kyr"]["rates"]}
    theirs = {r["offered_rate"]: r for r in results.get("reference", {}).get("rates", [])}
    comparison = [
        {"offered_rate": rate, "p95_ratio": ratio(row["p95_ms"], theirs.get(rate, {}).get("p95_ms")),
         "p50_ratio": ratio(row["p50_ms"], theirs.get(rate, {}).get("p50_ms"))}
        for rate, row in ours.items()
    ]
    at_target = ours.get(TARGET_RATE, {})
    target_ratio = next((c["p95_ratio"] for c in comparison if c["offered_rate"] == TARGET_RATE), None)
    p95 = at_target.get("p95_ms")
    return {
        "machine": machine(),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        **results,
        "comparison": comparison,
        "targets": {
            "rate": TARGET_RATE,
            "p95_ms": p95,
            "p95_met": None if p95 is None else p95 <= TARGET_P95_MS,
            "p95_ratio": target_ratio,
            "ratio_met": None if target_ratio is None else target_ratio <= TARGET_RATIO,
        },
    }


def progress(row: Dict[str, Any]) -> str:
    """One line for a finished rate."""
    errors = f"{row['errors']} {row['errors_by_status']}" if row["errors"] else "0"
    return (
        f"{row['offered_rate']:g} msg/s: {row['answered']}/{row['requests']} answered, p50 {_ms(row['p50_ms'])}, "
        f"p95 {_ms(row['p95_ms'])}, p99 {_ms(row['p99_ms'])}, {row['throughput']:g} msg/s, errors {errors}, "
        f"apologies {_n(row.get('apologies'))}"
    )


def render(report: Dict[str, Any]) -> str:
    """Markdown tables and the summary lines."""
    m = report["machine"]
    lines = [f"\nMachine: {m['cores']} cores, {m['cpu']}, {m['memory_gb']} GB.", ""]
    ratios = {c["offered_rate"]: c["p95_ratio"] for c in report["comparison"]}
    header = "| server | offered msg/s | requests | p50 ms | p95 ms | p99 ms | p95 ms by channel | achieved msg/s | errors | apologies | p95 / rasa init p95 |"
    lines += [header, "|---|---|---|---|---|---|---|---|---|---|---|"]
    for target, label in (("kyr", "kyr-bot"), ("reference", "rasa init")):
        for r in report.get(target, {}).get("rates", []):
            shown = _n(ratios.get(r["offered_rate"])) if target == "kyr" else ""
            lines.append(
                f"| {label} | {r['offered_rate']:g} | {r['requests']} | {_n(r['p50_ms'])} | {_n(r['p95_ms'])} | {_n(r['p99_ms'])} "
                f"| {_kinds(r.get('p95_ms_by_kind'))} | {r['throughput']:g} | {r['errors']} | {_n(r.get('apologies'))} | {shown} |"
            )
    lines.append("")
    for target, label in (("kyr", "kyr-bot"), ("reference", "rasa init")):
        if target not in report:
            continue
        t = report[target]
        processes = ", ".join(f"{name} {t['startup_seconds'][name]} s to /health, {mb} MB RSS" for name, mb in t["memory_mb"].items())
        lines.append(f"{label}: sustained (p95 < 1 s, <1% failed) up to {_n(t['sustained_rate'])} msg/s; {processes}")
    g = report["targets"]
    lines.append(
        f"Targets at {g['rate']:g} msg/s: p95 {_n(g['p95_ms'])} ms <= {TARGET_P95_MS:g} ms: {_verdict(g['p95_met'])}; "
        f"p95 ratio {_n(g['p95_ratio'])} <= {TARGET_RATIO}: {_verdict(g['ratio_met'])}"
    )
    return "\n".join(lines)


def _kinds(p95s: Optional[Dict[str, Any]]) -> str:
    return " / ".join(f"{kind} {_n(ms)}" for kind, ms in (p95s or {}).items())


def _verdict(met: Optional[bool]) -> str:
    return "not measured" if met is None else "met" if met else "NOT met"


def _n(value: Any) -> str:
    return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _ms(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:g} ms"
