"""What every benchmark reports alike: the machine, latency summaries, JSON results."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    """The facts a figure depends on: cores usable by this process, CPU, Python, SQLite."""
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        # Other work on the machine skews figures: the load when the run ended.
        "loadavg_1_5_15": [round(x, 2) for x in os.getloadavg()],
    }


def code() -> dict[str, Any]:
    """The commit measured, and the files under ``src/`` that differed from it."""
    root = Path(__file__).resolve().parent.parent

    def git(*argv: str) -> str:
        done = subprocess.run(  # noqa: S603 - fixed git arguments
            ["git", *argv],  # noqa: S607 - git from PATH, as a developer runs it
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout

    # porcelain lines are "XY path": two status letters (either may be a space), a space
    changed = [line[3:] for line in git("status", "--porcelain", "src").splitlines()]
    return {"commit": git("rev-parse", "HEAD").strip(), "src_uncommitted": changed}


def _cpu_model() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or "unknown"
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else platform.processor() or "unknown"


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile (0-100), linear between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    position = (len(ordered) - 1) * pct / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p95, max and mean of ``seconds``, in milliseconds (two decimals)."""
    return {
        "n": len(seconds),
        "p50_ms": round(percentile(seconds, 50) * 1000, 2),
        "p95_ms": round(percentile(seconds, 95) * 1000, 2),
        "max_ms": round(max(seconds) * 1000, 2),
        "mean_ms": round(statistics.fmean(seconds) * 1000, 2),
    }


def add_results_option(parser: argparse.ArgumentParser) -> None:
    """``--results-dir``: where the JSON goes (default ``bench/results/``); tests write
    elsewhere so that a tiny run never replaces a committed result."""
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=RESULTS,
        help="write <name>.json here (default: bench/results/)",
    )


def write_results(name: str, payload: dict[str, Any], results: Path = RESULTS) -> Path:
    """``<results>/<name>.json`` (``bench/results/`` unless told), with the machine, the
    code and the time of the run added."""
    results.mkdir(parents=True, exist_ok=True)
    path = results / f"{name}.json"
    stamped = {
        "benchmark": name,
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "code": code(),
        **payload,
    }
    path.write_text(json.dumps(stamped, indent=2, ensure_ascii=False) + "\n")
    return path


def command(module: str, options: dict[str, object]) -> str:
    """The command line that reproduces a run, options spelled out."""
    flags = " ".join(f"--{key.replace('_', '-')} {value}" for key, value in options.items())
    return f".venv/bin/python -m {module} {flags}".rstrip()
