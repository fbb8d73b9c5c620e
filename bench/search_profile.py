"""Where the time of :func:`service.search` goes: cProfile over the search benchmark's mix.

    .venv/bin/python -m bench.search_profile [--bureaus 10 --summaries 100000 --queries 200]

Runs the queries of :mod:`bench.search_bench` (after the same warm-up, on a copy of the
cached database given the same statistics, :func:`topmatch.db.refresh_statistics`) under
cProfile and prints the share of the total spent in a few places, then the top functions.
It writes no results file. Profiling
slows Python code down more than SQLite's C code, so read the shares as an upper bound for
Python and a lower bound for SQLite.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench import search_bench, synthetic
from topmatch import db

# (label, file suffix, function name): cumulative time of each, as a share of the total.
PLACES = [
    ("SQLite executes statements", "~", "<method 'execute' of 'sqlite3.Cursor' objects>"),
    ("SQLite hands over the rows", "~", "<method 'fetchall' of 'sqlite3.Cursor' objects>"),
    ("ORM builds mapped objects", "sqlalchemy/orm/loading.py", "_instance"),
    ("service._offered", "topmatch/matching/service.py", "_offered"),
    ("scoring.score", "topmatch/matching/scoring.py", "score"),
    ("text.stems, all callers", "topmatch/matching/text.py", "stems"),
    ("JSON decoding (skills, body columns)", "json/decoder.py", "decode"),
]


def shares(stats: pstats.Stats, total: float) -> list[tuple[str, float]]:
    table = stats.stats  # type: ignore[attr-defined]  # pstats keeps its data untyped
    found = []
    for label, suffix, name in PLACES:
        seconds = sum(
            value[3]
            for (path, _line, function), value in table.items()
            if function == name and (suffix == "~" or path.endswith(suffix))
        )
        found.append((label, seconds / total))
    return found


def profiled(
    path: Path,
    timed: Sequence[search_bench.Query],
    warm: Sequence[search_bench.Query],
    names: dict[str, str],
) -> cProfile.Profile:
    """``timed`` searched on ``path`` under cProfile, after ``warm`` searched without it."""
    engine = db.make_engine(f"sqlite:///{path}")
    profile = cProfile.Profile()
    try:
        for query in warm:
            search_bench.search_once(engine, query, names)
        profile.enable()
        for query in timed:
            search_bench.search_once(engine, query, names)
        profile.disable()
    finally:
        engine.dispose()
    return profile


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search_profile", description=__doc__)
    parser.add_argument("--bureaus", type=int, default=10)
    parser.add_argument("--summaries", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=synthetic.CACHE,
        help="where the synthetic database is built and kept (default: bench/.cache/)",
    )
    parser.add_argument("--warm-up", type=int, default=search_bench.WARM_UP)
    args = parser.parse_args(argv)
    names = {b.node_id: b.name for b in synthetic.bureaus_of(bureaus=args.bureaus, seed=args.seed)}
    origins = frozenset(names)
    cached = synthetic.cached_database(
        bureaus=args.bureaus, summaries=args.summaries, seed=args.seed, cache=args.cache_dir
    )
    timed = search_bench.queries(args.queries, seed=args.seed, origins=origins)
    warm = search_bench.queries(args.warm_up, seed=args.seed + 1000, origins=origins)
    with tempfile.TemporaryDirectory(prefix="topmatch-profile-") as tmp:
        # the statistics the benchmark (and the node) gives the replica, on a copy
        path = search_bench.with_statistics(cached, Path(tmp))
        profile = profiled(path, timed, warm, names)
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    total = stats.total_tt  # type: ignore[attr-defined]  # set by pstats, not declared
    each = total / len(timed) * 1000
    print(f"{len(timed)} searches, {total:.1f} s under cProfile ({each:.0f} ms each)")
    for label, share in shares(stats, total):
        print(f"  {share:6.1%}  {label}")
    stats.sort_stats("tottime").print_stats(15)
    print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
