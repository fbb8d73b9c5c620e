"""Search latency of the code now against a baseline commit, same machine, same run.

    .venv/bin/python -m bench.search_compare [--baseline ba23055 --bureaus 10
                                              --summaries 100000 --queries 200 --rounds 2]

Issue 15 made search read the query (a place and "NN uur" become filters, every word is
required with its synonyms and compounds, a labelled fallback) and promised that the p50
at 100,000 openings stays within 10 % of the search before it. This bench checks that
promise the only honest way: both versions answer the same queries over the same
database in one run.

- The database is the cached synthetic federation of :mod:`bench.search_bench`, given
  the node's statistics; both versions read the same copy (the replica tables did not
  change between them).
- The baseline's ``src/`` is taken from git (``git archive``) into a temporary folder;
  :mod:`bench.search_driver` runs in a fresh interpreter with that folder first on
  ``PYTHONPATH``, and with our ``src/`` for the code now, and refuses to time the wrong
  one.
- The two alternate, ``--rounds`` times each, the baseline first in odd rounds and last
  in even ones, so that drift in the machine's load falls on both.

Reported: each version's p50 over all its timed queries, the ratio now/baseline and the
issue's limit (1.10). Default baseline ``ba23055`` is the last commit before issue 15
touched matching. Results: ``bench/results/search_compare.json``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import common, search_bench, synthetic

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "ba23055"
LIMIT = 1.10
DRIVER = Path(__file__).resolve().parent / "search_driver.py"


def baseline_source(ref: str, folder: Path) -> Path:
    """``src/`` of commit ``ref``, unpacked into ``folder``; the folder that holds it."""
    archive = subprocess.run(  # noqa: S603 - git with our own arguments
        ["git", "archive", "--format=tar", ref, "src"],  # noqa: S607 - git from PATH
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def resolve(ref: str) -> str:
    return subprocess.run(  # noqa: S603
        ["git", "rev-parse", "--verify", f"{ref}^{{commit}}"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def drive(root: Path, database: Path, spec: Path, out: Path) -> list[float]:
    """One timed pass of the code under ``root`` (a folder holding ``src/``)."""
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    done = subprocess.run(  # noqa: S603 - our own driver script
        [sys.executable, str(DRIVER), str(database), str(spec), str(out), str(root)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"search driver failed under {root}:\n{done.stderr[-2000:]}")
    seconds: list[float] = json.loads(out.read_text())["seconds"]
    return seconds


def workload(count: int, warm_up: int, *, seed: int, names: dict[str, str]) -> dict[str, Any]:
    """The queries of :mod:`bench.search_bench` as plain fields both versions accept."""
    origins = frozenset(names)

    def fields(queries: Sequence[search_bench.Query]) -> list[dict[str, Any]]:
        made = []
        for query in queries:
            data = asdict(query.request)
            made.append({k: data[k] for k in ("q", "place", "radius_km", "hours", "isco08")})
        return made

    timed = search_bench.queries(count, seed=seed, origins=origins)
    warm = search_bench.queries(warm_up, seed=seed + 1000, origins=origins)
    return {
        "names": names,
        "timed": fields(timed),
        "kinds": [query.kind for query in timed],
        "warm": fields(warm),
    }


def run(
    *,
    baseline: str,
    bureaus: int,
    summaries: int,
    count: int,
    seed: int,
    rounds: int,
    cache: Path = synthetic.CACHE,
    warm_up: int = search_bench.WARM_UP,
) -> dict[str, Any]:
    names = {b.node_id: b.name for b in synthetic.bureaus_of(bureaus=bureaus, seed=seed)}
    full = synthetic.cached_database(bureaus=bureaus, summaries=summaries, seed=seed, cache=cache)
    commit = resolve(baseline)
    timings: dict[str, list[float]] = {"baseline": [], "now": []}
    per_round: dict[str, list[float]] = {"baseline": [], "now": []}
    with tempfile.TemporaryDirectory(prefix="topmatch-compare-") as tmp:
        folder = Path(tmp)
        database = search_bench.with_statistics(full, folder)
        old = baseline_source(commit, folder / "baseline")
        spec = folder / "queries.json"
        work = workload(count, warm_up, seed=seed, names=names)
        spec.write_text(json.dumps(work))
        roots = {"baseline": old, "now": ROOT}
        for number in range(rounds):
            order = ("baseline", "now") if number % 2 == 0 else ("now", "baseline")
            for side in order:
                seconds = drive(roots[side], database, spec, folder / f"{side}-{number}.json")
                timings[side] += seconds
                per_round[side].append(common.latency_ms(seconds)["p50_ms"])
    stats = {side: common.latency_ms(values) for side, values in timings.items()}
    kinds = work["kinds"] * rounds
    by_kind = {
        side: {
            kind: common.latency_ms([t for t, k in zip(values, kinds, strict=True) if k == kind])[
                "p50_ms"
            ]
            for kind in search_bench.KINDS
        }
        for side, values in timings.items()
    }
    params: dict[str, object] = {
        "baseline": baseline,
        "bureaus": bureaus,
        "summaries": summaries,
        "queries": count,
        "seed": seed,
        "rounds": rounds,
    }
    return {
        "title": f"search now against {baseline}: {summaries:,} openings, {count} queries",
        "command": common.command("bench.search_compare", params),
        "params": params,
        "baseline_commit": commit,
        "baseline": stats["baseline"],
        "now": stats["now"],
        "p50_by_round_ms": per_round,
        "p50_by_kind_ms": by_kind,
        "ratio_p50": round(stats["now"]["p50_ms"] / stats["baseline"]["p50_ms"], 3),
        "limit_ratio": LIMIT,
        "notes": (
            "ratio = p50 now / p50 of the baseline commit, both over the same database and "
            "queries in one run, alternating; below 1 means faster now"
        ),
    }


def report(payload: dict[str, Any], console: Console) -> None:
    table = Table(title=payload["title"])
    for name in ("code", "n", "p50 ms", "p95 ms", "max ms"):
        table.add_column(name, justify="left" if name == "code" else "right")
    for side, label in (("baseline", payload["baseline_commit"][:7]), ("now", "now")):
        stats = payload[side]
        table.add_row(
            label, str(stats["n"]), f"{stats['p50_ms']:.1f}", f"{stats['p95_ms']:.1f}",
            f"{stats['max_ms']:.1f}",
        )  # fmt: skip
    console.print(table)
    for kind in search_bench.KINDS:
        old, now = (payload["p50_by_kind_ms"][side][kind] for side in ("baseline", "now"))
        console.print(f"  {kind}: p50 {old:.1f} -> {now:.1f} ms")
    verdict = "within" if payload["ratio_p50"] <= payload["limit_ratio"] else "OVER"
    console.print(
        f"p50 now / baseline: [bold]{payload['ratio_p50']:.3f}[/] "
        f"({verdict} the limit {payload['limit_ratio']:.2f})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search_compare", description=__doc__)
    parser.add_argument("--baseline", default=BASELINE, help="the commit to compare with")
    parser.add_argument("--bureaus", type=int, default=10)
    parser.add_argument("--summaries", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2, help="timed passes of each version")
    search_bench.add_tiny_options(parser)
    args = parser.parse_args(argv)
    payload = run(
        baseline=args.baseline,
        bureaus=args.bureaus,
        summaries=args.summaries,
        count=args.queries,
        seed=args.seed,
        rounds=args.rounds,
        cache=args.cache_dir,
        warm_up=args.warm_up,
    )
    common.write_results("search_compare", payload, args.results_dir)
    report(payload, Console())
    return 0


if __name__ == "__main__":
    sys.exit(main())
