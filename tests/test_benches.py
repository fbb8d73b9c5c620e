"""Every benchmark in bench/ runs at a tiny size, so none rots unnoticed.

Each test runs a bench's ``main(argv)`` with small sizes, writing its JSON into ``tmp_path``
(never ``bench/results/``) and building any synthetic database in a temporary cache, then
checks that the JSON has the shape ``bench.report`` and docs/benchmarks.md rely on: the
benchmark's name, the machine, the code measured, the command, and the ratio and its
baseline. No timing value is asserted: a tiny run on a busy machine measures nothing.

Benches that open SQLite files of their own (or start demo nodes, which use SQLite) run in
the SQLite pass only: on the PostgreSQL pass they would run exactly the same again.
"""

from __future__ import annotations

import gc
import json
import os
from pathlib import Path
from typing import Any

import pytest
from bench import (
    fanout_bench,
    ledger_bench,
    matching_eval,
    recall_eval,
    report,
    search_bench,
    search_compare,
    search_profile,
    settlement_bench,
    web_bench,
)

SQLITE_ONLY = pytest.mark.skipif(
    bool(os.environ.get("TOPMATCH_TEST_DATABASE_URL")),
    reason="this bench opens SQLite files of its own; the SQLite pass runs it",
)
LATENCY = {"n", "p50_ms", "p95_ms", "max_ms", "mean_ms"}
SEARCH_SIZE = ["--bureaus", "2", "--summaries", "200", "--seed", "1"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One synthetic-database cache for the search benches of this module."""
    return tmp_path_factory.mktemp("bench-cache")


def results(folder: Path, name: str, module: str) -> dict[str, Any]:
    """``folder/<name>.json``, checked for what every result holds and the provenance
    table of docs/benchmarks.md reads; the committed results are untouched."""
    data: dict[str, Any] = json.loads((folder / f"{name}.json").read_text())
    assert data["benchmark"] == name
    assert {"nproc", "cpu", "python", "platform", "sqlite", "loadavg_1_5_15"} <= set(
        data["machine"]
    )
    assert set(data["code"]) == {"commit", "src_uncommitted"}
    assert data["command"].startswith(f".venv/bin/python -m {module}")
    assert "--results-dir" not in data["command"]
    assert isinstance(data["run_at"], str)
    row = next(line for line in report.provenance(folder).splitlines() if f"`{name}.json`" in line)
    assert f"| {name} |" in row
    return data


@SQLITE_ONLY
def test_search_bench_tiny(tmp_path: Path, cache: Path) -> None:
    argv = [*SEARCH_SIZE, "--queries", "8", "--warm-up", "1", "--cache-dir", str(cache)]
    assert search_bench.main([*argv, "--results-dir", str(tmp_path)]) == 0
    data = results(tmp_path, "search", "bench.search_bench")
    assert data["params"] == {
        "bureaus": 2, "summaries": 200, "queries": 8, "seed": 1, "analyze": True
    }  # fmt: skip
    assert set(data["ours"]) == LATENCY
    assert data["ours"]["n"] == 8
    assert set(data["ours_by_kind"]) == set(search_bench.KINDS)
    assert data["naive"]["n"] == 8  # one loop per query,
    assert data["naive_per_request"]["n"] == 16  # of one request per bureau
    assert isinstance(data["ratio_p50"], float)
    assert "target_p50_ms" in data
    assert list(cache.glob("*.sqlite")), "the databases were built in the given cache"


@SQLITE_ONLY
def test_search_profile_tiny(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [*SEARCH_SIZE, "--queries", "4", "--warm-up", "1", "--cache-dir", str(cache)]
    assert search_profile.main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("4 searches, ")
    for label, _suffix, _name in search_profile.PLACES:
        assert label in out


@SQLITE_ONLY
def test_recall_eval_tiny(tmp_path: Path) -> None:
    argv = ["--clients", "5", "--background", "100", "--cache-dir", str(tmp_path / "cache")]
    assert recall_eval.main([*argv, "--results-dir", str(tmp_path)]) == 0
    data = results(tmp_path, "recall", "bench.recall_eval")
    assert data["params"]["clients"] == 5
    assert data["params"]["k"] == recall_eval.K
    assert set(data["recall_at_10"]) == {
        "ours", "ours_no_contract", "plain", "plain_place", "recency"
    }  # fmt: skip
    for key in ("ratio_ours_over_recency", "ratio_ours_over_plain_place", "ceiling_recall_at_10"):
        assert key in data


@SQLITE_ONLY
def test_ledger_bench_tiny(tmp_path: Path) -> None:
    argv = ["--entries", "20", "--checkpoints", "2", "--merkle-leaves", "64", "--proofs", "4"]
    # main exits with an error unless every entry appended and the bundle verified
    assert ledger_bench.main([*argv, "--profile", "--results-dir", str(tmp_path)]) == 0
    data = results(tmp_path, "ledger", "bench.ledger_bench")
    assert data["bundle"]["entries"] == 20
    assert data["bundle"]["parties"] == ["alfa", "bravo"]
    assert data["bundle"]["checkpoints"] == [10, 20]
    assert data["raw_ed25519"]["before_verify"]["signatures"] == 20  # two per entry, 10 entries
    assert data["raw_ed25519"]["after_audit"]["signatures"] == 20
    assert data["audit"]["entries_checked"] == 40  # both bundles hold every entry
    assert data["audit"]["checked"]["shared_entries"] == 20
    assert data["audit"]["summary"].startswith("CONSISTENT: 2 bundles")
    assert isinstance(data["audit"]["ratio"], float)
    for key in ("ratio", "physical_limit_entries_per_s", "target_ratio", "meets_target"):
        assert key in data
    assert data["merkle"]["leaves"] == 64
    assert data["merkle"]["proof_hashes"]["max"] == 6  # log2(64)
    assert data["profile"]["entries"] == 10
    # the generated section of docs/benchmarks.md renders from it
    assert "| ratio, audit |" in report.ledger(tmp_path)


def test_ledger_bench_entries_pass_the_node_checks() -> None:
    # what ledger.append refuses (schema, scrubbed reason, signatures) would fail the bench
    parties = {name: ledger_bench.Party.make(name) for name in ledger_bench.SECRET_KEYS}
    built = ledger_bench.build_entries(ledger_bench.RETAINED_EVERY, parties)
    retained = built.signed[-1]
    assert retained["type"] == "placement.retained"
    assert retained["refers_to"] == built.signed[0]["entry_id"]
    assert retained["agreement"] == built.signed[0]["agreement"]
    assert {e["type"] for e in built.signed[:-1]} == {"placement.started"}


def test_settlement_bench_tiny(tmp_path: Path) -> None:
    argv = ["--sizes", "1000", "--repeat", "1", "--exact-limit", "8"]
    # The bench collects garbage before each timing (54 times here); in a test process
    # every module of the app is loaded, so each collection would walk all of it. Frozen,
    # the objects that exist now are left out of those collections.
    gc.freeze()
    try:
        assert settlement_bench.main([*argv, "--results-dir", str(tmp_path)]) == 0
    finally:
        gc.unfreeze()
    data = results(tmp_path, "settlement", "bench.settlement_bench")
    assert data["command"].endswith("--exact-limit 8")
    assert data["setup"]["exact_limit"] == 8
    assert data["setup"]["bureaus"] == len(settlement_bench.BUREAUS)
    (size,) = data["sizes"]
    assert size["entries"] == 1000
    assert {"ratio", "parse_s", "statement_s"} <= set(size["one_bureau"])
    assert {"ratio", "parse_s", "statements_s", "propose_exact_s"} <= set(size["federation"])
    assert data["growth"] == []  # one size: nothing to compare with


def test_fanout_bench_tiny(tmp_path: Path) -> None:
    argv = ["--runs", "1", "--deadline", "0.4", "--short-deadline", "0.3", "--slow-seconds", "1"]
    assert fanout_bench.main([*argv, "--results-dir", str(tmp_path)]) == 0
    data = results(tmp_path, "fanout", "bench.fanout_bench")
    assert [s["deadline_s"] for s in data["summaries"]] == [0.4, 0.3]
    for summary in data["summaries"]:
        assert {"ratio_p50", "ratio_max", "within_deadline_plus_margin", "wall"} <= set(summary)
    assert set(data["answering_peer_alone"]) == LATENCY
    assert [set(run["statuses"]) for run in data["runs"]] == [{"alfa", "traag", "dood"}] * 2


def test_matching_eval_tiny(tmp_path: Path) -> None:
    assert (
        matching_eval.main(["--seekers", "1", "--queries", "1", "--results-dir", str(tmp_path)])
        == 0
    )
    data = results(tmp_path, "matching_eval", "bench.matching_eval")
    assert data["params"]["openings_for_client"] == 1
    # the generated section of docs/benchmarks.md renders from it
    assert "Ratio ours / BM25 on nDCG@10" in report.matching_eval(tmp_path)


@pytest.mark.slow
@SQLITE_ONLY
def test_web_bench_tiny(tmp_path: Path) -> None:
    # starts the three demo nodes (real processes on loopback), signs in through the form
    assert web_bench.main(["--rounds", "2", "--results-dir", str(tmp_path)]) == 0
    data = results(tmp_path, "web", "bench.web_bench")
    assert data["rounds"] == 2
    for kind in ("search_page", "search_api", "client_page", "client_matches_api"):
        assert data[kind]["n"] == 2
    for key in ("ratio_search_page_to_api_p50", "ratio_client_page_to_api_p50"):
        assert isinstance(data[key], float)


@SQLITE_ONLY
def test_search_compare_tiny(tmp_path: Path, cache: Path) -> None:
    """Both versions answer in one run; HEAD as the baseline, which every clone has."""
    argv = [*SEARCH_SIZE, "--queries", "8", "--warm-up", "1", "--rounds", "2"]
    argv += ["--baseline", "HEAD", "--cache-dir", str(cache), "--results-dir", str(tmp_path)]
    assert search_compare.main(argv) == 0
    data = results(tmp_path, "search_compare", "bench.search_compare")
    assert set(data["baseline"]) == set(data["now"]) == LATENCY
    assert data["now"]["n"] == data["baseline"]["n"] == 16  # 8 queries, 2 rounds each
    assert len(data["p50_by_round_ms"]["now"]) == 2
    assert set(data["p50_by_kind_ms"]["now"]) == set(search_bench.KINDS)
    assert isinstance(data["ratio_p50"], float)
    assert data["limit_ratio"] == 1.10
