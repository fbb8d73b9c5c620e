"""Write the figures in docs/benchmarks.md from the JSON results, never by hand.

Every figure section of docs/benchmarks.md sits between two markers::

    <!-- generated: NAME -->
    ...
    <!-- end generated: NAME -->

and is rendered here from ``bench/results/*.json``. Prose around the markers is written
by people; it must not quote a figure that a generated section holds.

    .venv/bin/python -m bench.report           rewrite the generated sections
    .venv/bin/python -m bench.report --check   exit 1 when they differ from the JSON

``tests/test_bench_report.py`` runs the check, so a result committed without its page,
or a page edited by hand, fails the test command.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.common import RESULTS

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
MARKER = re.compile(
    r"(<!-- generated: (?P<name>[a-z_]+) -->\n)(?P<body>.*?)(<!-- end generated: (?P=name) -->)",
    re.DOTALL,
)

Result = dict[str, Any]


def load(name: str, results: Path = RESULTS) -> Result:
    loaded: Result = json.loads((results / f"{name}.json").read_text())
    return loaded


def provenance(results: Path = RESULTS) -> str:
    """One row per result file: what was run, at which commit, when, and how loaded."""
    rows = [
        "| Results | Benchmark | Commit | Run at (UTC) | Load (1 min) | Cores "
        "| Uncommitted under src/ |",
        "|---|---|---|---|---:|---:|---|",
    ]
    for path in sorted(results.glob("*.json")):
        data = json.loads(path.read_text())
        code = data.get("code", {})
        machine = data.get("machine", {})
        load_1 = (machine.get("loadavg_1_5_15") or ["?"])[0]
        dirty = code.get("src_uncommitted") or []
        rows.append(
            f"| `{path.name}` | {data.get('benchmark', '?')} | `{code.get('commit', '?')[:7]}` "
            f"| {str(data.get('run_at', '?'))[:16].replace('T', ' ')} | {load_1} "
            f"| {machine.get('nproc', '?')} | {len(dirty)} file{'s' if len(dirty) != 1 else ''} |"
        )
    return "\n".join(rows) + "\n"


def _metric_row(label: str, figures: Result, *, bold: bool = False) -> str:
    cells = [
        f"{figures[k]:.3f}"
        for k in ("ndcg_at_10", "precision_at_5", "good_shown_top_50", "good_shown_at_all")
    ]
    if bold:
        label, cells[0], cells[1] = f"**{label}**", f"**{cells[0]}**", f"**{cells[1]}**"
    return f"| {label} | " + " | ".join(cells) + " |"


MATCHING_LABELS = {
    "ours": ("ours: `openings_for_client`", "ours: `search` with the text in `q`"),
    "bm25": ("BM25 on the text (occupations, skills, municipality)", "BM25 on the text"),
    "nearby_recency": ("within the travel limit, newest first", ""),
    "recency": ("every opening, newest first", "every opening, newest first"),
    "random": ("random (seed 1)", "random (seed 1)"),
}


def matching_eval(results: Path = RESULTS) -> str:
    """The judged-set tables: nDCG@10, precision@5 and good openings shown, per ranking."""
    data = load("matching_eval", results)
    params = data["params"]
    out = [
        f"Results at `{data['code']['commit'][:7]}` ({data['run_at'][:10]}, load "
        f"{data['machine']['loadavg_1_5_15'][0]}), `{data['command']}`:",
        "",
    ]
    for column, (part, count) in enumerate(
        (("openings_for_client", params["openings_for_client"]), ("search", params["search"]))
    ):
        heading = "Openings for a client" if part == "openings_for_client" else "Free-text search"
        out += [
            f"| {heading} ({count}) | nDCG@10 | precision@5 | good in top 50 | good shown at all |",
            "|---|---:|---:|---:|---:|",
        ]
        order = [k for k in MATCHING_LABELS if k in data[part]]
        order += sorted(k for k in data[part] if k not in MATCHING_LABELS)
        for key in order:
            figures = data[part][key]
            label = MATCHING_LABELS.get(key, (key, key))[column] or key
            out.append(_metric_row(label, figures, bold=key == "ours"))
        ours, bm25 = data[part]["ours"], data[part]["bm25"]
        out += [
            "",
            f"Ratio ours / BM25 on nDCG@10: **{ours['ndcg_at_10'] / bm25['ndcg_at_10']:.2f}x**; "
            f"good openings never shown: "
            f"{1 - ours['good_shown_at_all']:.1%}.".replace(".0%", "%"),
            "",
        ]
    return "\n".join(out)


def search_compare(results: Path = RESULTS) -> str:
    """Search now against the commit before issue 15: p50 per kind and the ratio."""
    data = load("search_compare", results)
    baseline = data["baseline_commit"][:7]
    out = [
        f"Results at `{data['code']['commit'][:7]}` ({data['run_at'][:10]}, load "
        f"{data['machine']['loadavg_1_5_15'][0]}), `{data['command']}`:",
        "",
        f"| p50 (ms) | `{baseline}` | now |",
        "|---|---:|---:|",
        f"| **all {data['now']['n']} timed searches** | **{data['baseline']['p50_ms']:.1f}** "
        f"| **{data['now']['p50_ms']:.1f}** |",
    ]
    for kind, old in data["p50_by_kind_ms"]["baseline"].items():
        out.append(f"| {kind} | {old:.1f} | {data['p50_by_kind_ms']['now'][kind]:.1f} |")
    verdict = "within" if data["ratio_p50"] <= data["limit_ratio"] else "**over**"
    out += [
        "",
        f"Ratio now / `{baseline}` on p50: **{data['ratio_p50']:.2f}** ({verdict} the "
        f"issue's limit of {data['limit_ratio']:.2f}).",
        "",
    ]
    return "\n".join(out)


def _thousands(value: float) -> str:
    return f"{value:,.0f}"


def _ledger_results(data: Result) -> list[str]:
    bundle, verify, audit = data["bundle"], data["verify"], data["audit"]
    raw = data["raw_ed25519"]
    limit = data["physical_limit_entries_per_s"]
    met = "met" if data["meets_target"] else "NOT met"
    return [
        "| | Result |",
        "|---|---:|",
        f"| `bundle.verify`, {_thousands(bundle['entries'])} entries and "
        f"{len(bundle['checkpoints'])} checkpoints | {verify['seconds']} s, "
        f"**{_thousands(verify['entries_per_s'])} entries/s** |",
        f"| `audit.run`, {audit['bundles']} bundles ({_thousands(audit['entries_checked'])} "
        f"entries, each bundle verified, then compared) | {audit['seconds']} s, "
        f"**{_thousands(audit['entries_per_s'])} entries/s** |",
        f"| raw Ed25519 verification, before verify / after audit | "
        f"{_thousands(raw['before_verify']['per_s'])} / {_thousands(raw['after_audit']['per_s'])} "
        f"signatures/s (drift {raw['drift']:.1%}) |",
        f"| physical limit ({_thousands(raw['per_s'])} / 2) | {_thousands(limit)} entries/s |",
        f"| **ratio, verify** | **{data['ratio']:.1%}** (target ≥ "
        f"{data['target_ratio']:.0%}: {met}) |",
        f"| ratio, audit | {audit['ratio']:.1%} |",
        "",
        f"The bundle is {bundle['bytes'] / 1e6:.0f} MB; an entry is {bundle['mean_entry_bytes']} "
        f"bytes on average, its signing bytes {bundle['mean_signing_bytes']}. The audit "
        f"compared {_thousands(audit['checked']['shared_entries'])} shared entries and "
        f"{audit['checked']['checkpoints_compared']} checkpoints: `{audit['summary']}`.",
        "",
    ]


def _ledger_build(data: Result) -> list[str]:
    built = data["build"]
    checkpoints = len(data["bundle"]["checkpoints"])
    return [
        "| Step | Time | Rate |",
        "|---|---:|---:|",
        f"| building each entry, `sign_entry` twice, keeping the signing bytes | "
        f"{built['sign_entry_s']} s | {_thousands(built['entries_signed_per_s'])} entries/s |",
        f"| `ledger.append` | {built['append_s']} s | "
        f"{_thousands(built['appends_per_s'])} entries/s |",
        f"| {checkpoints} × `ledger.checkpoint` | {built['checkpoint_s_total']} s | |",
        f"| `bundle.export` | {built['export_s']} s | |",
        "",
    ]


def _ledger_profile(data: Result) -> list[str]:
    profile = data.get("profile")
    if not profile:
        return ["No profile in this run (`--profile` was not given and the target was met).", ""]
    out = [
        f"`bundle.verify` under cProfile on the first {_thousands(profile['entries'])} entries "
        f"({profile['profiled_total_s']} s under the profiler), by own time:",
        "",
        "| Function | Calls | Own time | Share |",
        "|---|---:|---:|---:|",
    ]
    for row in profile["by_own_time"][:8]:
        name = row["function"].replace("|", "\\|")
        out.append(
            f"| `{name}` | {_thousands(row['calls'])} | {row['own_s']} s | {row['own_share']:.1%} |"
        )
    return [*out, ""]


def _ledger_merkle(data: Result) -> list[str]:
    tree, service = data["merkle"], data["service_at_bundle_size"]
    hashes = tree["proof_hashes"]
    return [
        f"Inclusion proofs at {_thousands(tree['leaves'])} leaves (`merkle.MerkleTree`), "
        f"{_thousands(tree['proofs'])} proofs:",
        "",
        "| | Result |",
        "|---|---:|",
        f"| building the tree (leaf hashes + appends) | {tree['tree_build_s']} s |",
        f"| root | {tree['root_us']} µs |",
        f"| proof size | {hashes['min']} to {hashes['max']} hashes (mean {hashes['mean']}), at "
        f"most {tree['proof_bytes_max']} bytes; {tree['proof_json_bytes_max']} bytes as the "
        "JSON of `GET /federation/v1/ledger/inclusion` |",
        f"| generation from the tree | p50 {tree['tree_generate_us']['p50']} µs, "
        f"p95 {tree['tree_generate_us']['p95']} µs |",
        f"| `merkle.verify_inclusion` | p50 {tree['verify_us']['p50']} µs, "
        f"p95 {tree['verify_us']['p95']} µs |",
        f"| generation with the list-based `merkle.inclusion_proof` | "
        f"{tree['list_generate_s']['mean']} s per proof (mean of {tree['list_generate_s']['n']}) |",
        "",
        f"On the benchmark's own database of {_thousands(service['entries'])} entries, timed once:",
        "",
        "| | Time |",
        "|---|---:|",
        f"| `ledger.inclusion` (`GET /federation/v1/ledger/inclusion`) | "
        f"{service['inclusion_s']} s |",
        f"| `ledger.checkpoint` when nothing changed (`GET /federation/v1/ledger/checkpoint`) | "
        f"{service['unchanged_checkpoint_s']} s |",
        "",
    ]


def ledger(results: Path = RESULTS) -> str:
    """The ledger bench: verify and audit against raw Ed25519, the build, the profile,
    inclusion proofs."""
    data = load("ledger", results)
    head = [
        f"Results at `{data['code']['commit'][:7]}` ({data['run_at'][:10]}, load "
        f"{data['machine']['loadavg_1_5_15'][0]}), `{data['command']}`:",
        "",
    ]
    parts = [_ledger_results, _ledger_build, _ledger_profile, _ledger_merkle]
    return "\n".join(head + [line for part in parts for line in part(data)])


SECTIONS: dict[str, Callable[[Path], str]] = {
    "provenance": provenance,
    "matching_eval": matching_eval,
    "search_compare": search_compare,
    "ledger": ledger,
}


def render(text: str, results: Path = RESULTS) -> str:
    """``text`` with every generated section rewritten from ``results``."""

    def fill(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in SECTIONS:
            raise SystemExit(f"docs/benchmarks.md: no generator for section {name!r}")
        return f"{match[1]}{SECTIONS[name](results)}{match[4]}"

    return MARKER.sub(fill, text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when the page is stale")
    args = parser.parse_args(argv)
    current = DOC.read_text()
    fresh = render(current)
    if args.check:
        if fresh != current:
            print(
                "docs/benchmarks.md differs from bench/results/*.json: "
                "run `.venv/bin/python -m bench.report`",
                file=sys.stderr,
            )
            return 1
        return 0
    DOC.write_text(fresh)
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
