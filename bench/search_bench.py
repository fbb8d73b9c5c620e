"""Search latency on our own replica, against asking every bureau live, one after another.

    .venv/bin/python -m bench.search_bench [--bureaus 10 --summaries 100000 --queries 200
                                            --seed 1] [--analyze]

Ours: :func:`topmatch.matching.service.search` over a replica holding every bureau's
openings (a cached synthetic federation, see :mod:`bench.synthetic`), one session per
query as the API opens one per request, timed per query with ``time.perf_counter`` after
a warm-up with other queries.

The naive alternative, measured in the same run: one real node (``python -m topmatch
serve`` on a free loopback port, its own temporary data dir, sync worker off) holding one
bureau's 1/N share as its replica, asked the same query N times in a row over HTTP
(``GET /api/v1/search`` with a consultant's bearer token, one kept-alive connection), as a
consultant would ask each of the N bureaus in turn. That is optimistic for the naive way:
all N "bureaus" are the same local node with 1/N of the data, there is no network latency,
no TLS, no second connection and no merging of N differently ranked lists.

The ratio reported is naive p50 / ours p50. Results: ``bench/results/search.json``.

The node runs SQLite's ``ANALYZE`` at start and after every sync round that changed the
replica (``topmatch.db.refresh_statistics``), so the benchmark does the same by default;
``--no-analyze`` shows what the planner does without statistics
(results: ``search-no-analyze.json``).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine
from sqlmodel import Session

from bench import common, synthetic
from topmatch import db
from topmatch.matching import service

KINDS = ("text+place+radius+hours", "occupation+place", "text", "place")
RADIUS_KM = 25.0
HOURS = [16, 20, 24, 32, 36, 40]
# What consultants type into the search box: occupations, tasks, certificates, sectors.
TEXTS = [
    "magazijn", "heftruck", "schoonmaak", "kok", "chauffeur", "orderpicken", "zorg",
    "kassa", "administratief medewerker", "productie", "receptie", "beveiliger", "bezorger",
    "horeca", "VCA", "lassen", "kinderopvang", "groen", "bakker", "klantenservice",
    "vrachtwagenchauffeur rijbewijs C", "verkoop", "callcenter", "schilder", "monteur",
]  # fmt: skip
WARM_UP = 20
NODE_ID = "bureau-00"  # the node of the naive run holds this bureau's share


@dataclass(frozen=True)
class Query:
    kind: str
    request: service.SearchRequest

    def params(self) -> dict[str, str | int | float]:
        """The same search as query parameters of ``GET /api/v1/search``."""
        r = self.request
        candidates: dict[str, str | int | float | None] = {
            "q": r.q,
            "place": r.place,
            "radius_km": r.radius_km,
            "hours": r.hours,
            "occupation": r.isco08,
            "limit": r.limit,
        }
        return {key: value for key, value in candidates.items() if value is not None}


def queries(count: int, *, seed: int, origins: frozenset[str]) -> list[Query]:
    """``count`` consultant searches, the four kinds in turn; places drawn by population."""
    generator = synthetic.Generator(seed)
    rnd = random.Random(seed)  # noqa: S311 - reproducible workload, not security
    made = []
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        place = generator.municipality().name
        text = rnd.choice(TEXTS)
        occupation = rnd.choice(synthetic.OCCUPATIONS)[1]
        by_kind: dict[str, dict[str, Any]] = {
            "text+place+radius+hours": {
                "q": text,
                "place": place,
                "radius_km": RADIUS_KM,
                "hours": rnd.choice(HOURS),
            },
            "occupation+place": {"isco08": occupation, "place": place},
            "text": {"q": text},
            "place": {"place": place},
        }
        made.append(Query(kind, service.SearchRequest(origins=origins, **by_kind[kind])))
    return made


# --- ours ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timed:
    query: Query
    seconds: float
    candidates: int
    hits: int


def search_once(engine: Engine, query: Query, names: dict[str, str]) -> Timed:
    started = time.perf_counter()
    with Session(engine) as session:
        result = service.search(session=session, request=query.request, bureau_names=names)
    elapsed = time.perf_counter() - started
    return Timed(query, elapsed, result.candidates, len(result.hits))


def analyse(database: Path) -> None:
    """Give ``database`` the statistics the node gives its replica at start and after each
    sync round (:func:`topmatch.db.refresh_statistics`): the planner then knows how
    selective each index is."""
    engine = db.make_engine(f"sqlite:///{database}")
    try:
        db.refresh_statistics(engine)
    finally:
        engine.dispose()


def with_statistics(path: Path, folder: Path) -> Path:
    """A copy of ``path`` in ``folder`` with the node's statistics; the cached database
    stays as replication left it."""
    copy = Path(shutil.copyfile(path, folder / path.name))
    analyse(copy)
    return copy


def measure_ours(
    path: Path,
    timed: Sequence[Query],
    warm: Sequence[Query],
    names: dict[str, str],
    *,
    analyze: bool,
) -> list[Timed]:
    with tempfile.TemporaryDirectory(prefix="topmatch-bench-") as tmp:
        if analyze:
            path = with_statistics(path, Path(tmp))
        engine = db.make_engine(f"sqlite:///{path}")
        try:
            for query in warm:
                search_once(engine, query, names)
            return [search_once(engine, query, names) for query in timed]
        finally:
            engine.dispose()


# --- the naive way: one real node, asked N times in a row ------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _cli(env: dict[str, str], *argv: str) -> str:
    done = subprocess.run(  # noqa: S603 - our own CLI, arguments built here
        [sys.executable, "-m", "topmatch", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"topmatch {argv[0]} failed ({done.returncode}): {done.stderr}")
    return done.stdout


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"node exited with {process.returncode} before it was healthy")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:  # noqa: PLR2004
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"node at {url} not healthy within {timeout} s")


@dataclass(frozen=True)
class Node:
    url: str
    token: str


@contextmanager
def served_node(share: Path, workdir: Path, *, analyze: bool) -> Iterator[Node]:
    """A real node on a free loopback port with ``share`` as its database; stopped on exit."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data_dir = workdir / "node"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOPMATCH_")}
    env |= {
        "TOPMATCH_DATA_DIR": str(data_dir),
        "TOPMATCH_PEERS_DIR": str(data_dir / "peers"),
        "TOPMATCH_SYNC_INTERVAL_SECONDS": "0",
    }
    _cli(env, "init", "--node-id", NODE_ID, "--name", "Bench Bureau", "--url", url)
    database = data_dir / "topmatch.db"
    shutil.copyfile(share, database)
    database.chmod(0o600)
    token = _cli(env, "users", "add", "consultant", "--role", "consultant").strip().splitlines()[-1]
    if analyze:  # after `users add`, which migrated the copy to the current schema
        analyse(database)
    with (workdir / "server.log").open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own CLI, arguments built here
            [sys.executable, "-m", "topmatch", "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_healthy(url, process)
        yield Node(url, token)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class Loop:
    seconds: float  # the whole loop
    each: list[float]  # every request
    hits: int  # hits in the last answer (all answers are the same)


def ask_each_bureau(http: httpx.Client, query: Query, bureaus: int) -> Loop:
    """The same search sent ``bureaus`` times in a row, each answer read in full."""
    each, hits = [], 0
    started = time.perf_counter()
    for _ in range(bureaus):
        sent = time.perf_counter()
        response = http.get("/api/v1/search", params=query.params())
        response.raise_for_status()
        hits = len(response.json()["hits"])
        each.append(time.perf_counter() - sent)
    return Loop(time.perf_counter() - started, each, hits)


def measure_naive(
    share: Path, timed: Sequence[Query], warm: Sequence[Query], bureaus: int, *, analyze: bool
) -> list[Loop]:
    with (
        tempfile.TemporaryDirectory(prefix="topmatch-bench-") as tmp,
        served_node(share, Path(tmp), analyze=analyze) as node,
        httpx.Client(
            base_url=node.url, headers={"Authorization": f"Bearer {node.token}"}, timeout=60
        ) as http,
    ):
        for query in warm:
            ask_each_bureau(http, query, 1)
        return [ask_each_bureau(http, query, bureaus) for query in timed]


# --- reporting -------------------------------------------------------------------------


def report(payload: dict[str, Any], console: Console) -> None:
    table = Table(title=payload["title"])
    for name in ("what", "n", "p50 ms", "p95 ms", "max ms"):
        table.add_column(name, justify="left" if name == "what" else "right")
    rows = [("ours: service.search, all bureaus", payload["ours"])]
    rows += [(f"  ours, {kind}", stats) for kind, stats in payload["ours_by_kind"].items()]
    rows += [
        (f"naive: {payload['params']['bureaus']} HTTP searches in a row", payload["naive"]),
        ("  naive, one HTTP search (1/N data)", payload["naive_per_request"]),
    ]
    for what, stats in rows:
        table.add_row(
            what, str(stats["n"]), f"{stats['p50_ms']:.1f}", f"{stats['p95_ms']:.1f}",
            f"{stats['max_ms']:.1f}",
        )  # fmt: skip
    console.print(table)
    console.print(f"ratio naive/ours (p50): [bold]{payload['ratio_p50']:.1f}×[/]")


def run(
    *,
    bureaus: int,
    summaries: int,
    count: int,
    seed: int,
    analyze: bool,
    cache: Path = synthetic.CACHE,
    warm_up: int = WARM_UP,
) -> dict[str, Any]:
    names = {b.node_id: b.name for b in synthetic.bureaus_of(bureaus=bureaus, seed=seed)}
    origins = frozenset(names)
    full = synthetic.cached_database(bureaus=bureaus, summaries=summaries, seed=seed, cache=cache)
    share = synthetic.cached_database(
        bureaus=bureaus, summaries=summaries, seed=seed, origin=NODE_ID, cache=cache
    )
    timed = queries(count, seed=seed, origins=origins)
    warm = queries(warm_up, seed=seed + 1000, origins=origins)
    ours = measure_ours(full, timed, warm, names, analyze=analyze)
    loops = measure_naive(share, timed, warm, bureaus, analyze=analyze)
    ours_stats = common.latency_ms([t.seconds for t in ours])
    naive_stats = common.latency_ms([loop.seconds for loop in loops])
    params: dict[str, object] = {
        "bureaus": bureaus,
        "summaries": summaries,
        "queries": count,
        "seed": seed,
    }
    flags = "" if analyze else " --no-analyze"
    return {
        "title": f"search: {summaries:,} openings of {bureaus} bureaus, {count} queries{flags}",
        "command": common.command("bench.search_bench", params) + flags,
        "params": {**params, "analyze": analyze},
        "ours": ours_stats,
        "ours_by_kind": {
            kind: common.latency_ms([t.seconds for t in ours if t.query.kind == kind])
            for kind in KINDS
        },
        "ours_candidates_mean": round(sum(t.candidates for t in ours) / len(ours), 1),
        "ours_hits_mean": round(sum(t.hits for t in ours) / len(ours), 1),
        "naive": naive_stats,
        "naive_per_request": common.latency_ms([s for loop in loops for s in loop.each]),
        "naive_hits_mean": round(sum(loop.hits for loop in loops) / len(loops), 1),
        "ratio_p50": round(naive_stats["p50_ms"] / ours_stats["p50_ms"], 2),
        "target_p50_ms": 20,
        "notes": (
            "naive = one local node holding 1/N of the openings, asked N times in a row over "
            "one kept-alive loopback connection: optimistic (no network latency, no TLS, no "
            "merging of N ranked lists)"
        ),
    }


def add_tiny_options(parser: argparse.ArgumentParser) -> None:
    """The options a test needs to run the benchmark small, away from the committed files."""
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=synthetic.CACHE,
        help="where the synthetic databases are built and kept (default: bench/.cache/)",
    )
    parser.add_argument("--warm-up", type=int, default=WARM_UP, help="untimed queries first")
    common.add_results_option(parser)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search_bench", description=__doc__)
    parser.add_argument("--bureaus", type=int, default=10)
    parser.add_argument("--summaries", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--analyze",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="give both databases SQLite's ANALYZE statistics, as the node does after each "
        "sync (default); --no-analyze shows the planner without them",
    )
    add_tiny_options(parser)
    args = parser.parse_args(argv)
    payload = run(
        bureaus=args.bureaus,
        summaries=args.summaries,
        count=args.queries,
        seed=args.seed,
        analyze=args.analyze,
        cache=args.cache_dir,
        warm_up=args.warm_up,
    )
    name = "search" if args.analyze else "search-no-analyze"
    path = common.write_results(name, payload, args.results_dir)
    console = Console()
    report(payload, console)
    console.print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
