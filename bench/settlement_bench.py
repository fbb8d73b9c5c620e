"""Settlement at scale: how long do a period's statements and netting take, and in how much
memory, as the ledger grows from 10,000 to 1,000,000 entries?

    .venv/bin/python -m bench.settlement_bench [--sizes 10000,100000,1000000 | --quick]

What it does, for each size N:

1. Builds a synthetic ledger of N entries among 20 bureaus (``bureau-01`` .. ``bureau-20``)
   from ``--seed``, spread over 2026 and 2027. Each placement is between two bureaus drawn
   at random: a ``placement.started`` for the start part of the fee under one fee
   agreement of all 20 (EUR 3,000 or 4,500, half at the start, 21 % VAT). About 30 % of
   the placements are later retained (6 to 7 months after the start, the rest of the
   fee), about 3 % voided, 2 % disputed (half of those resolved later) and 2 % adjusted
   (a few hundred euros either way). Events past 2027 are left out. Every entry is kept
   only as canonical JSON bytes (what a node stores, without the signatures), in log
   order. A bureau's own ledger is the entries it is a party to: about 10 % of N.
2. One bureau, best of ``--repeat``: ``bureau-01`` parses its ledger with
   ``EntryBody.model_validate_json`` per entry (the baseline: the floor of reading the
   ledger at all), then ``statement.for_node`` computes its ``2026-Q4`` statement and the
   bilateral statement with each counterparty from those freshly parsed entries. The two
   are timed apart with ``time.perf_counter``, without tracemalloc, after a full garbage
   collection each. The parse is timed once more with the cyclic GC switched off, to show
   the GC's share. Then ``statement.report_sha256`` of the statement.
3. The federation: the same for all 20 bureaus in turn, each parsing its own ledger (so
   every entry is parsed twice, once per party) and computing its statement; parse and
   statement times are summed over the 20. Then the bilateral nets (both sides of each
   pair must name the same statement hash), ``netting.propose`` at its default
   ``exact_limit`` (15, so the greedy rule for 20 bureaus with a non-zero position) and
   with ``exact_limit=20`` (the exact method, 2^20 subsets), and the proposal's hash. Up
   to 100,000 entries the best of ``--repeat`` runs, above that one run.
4. Memory, in a separate pass under ``tracemalloc`` (which slows Python down two- to
   threefold, hence the separate pass): what bureau-01's parsed ledger holds, the peak of
   its statement above that, and what the statement and its bilaterals keep. The exact
   netting's peak is measured once, at the smallest size (it does not depend on N).

The ratio is statement time over parse time of the same entries. Growth factors compare
each size with the one before: about 10 for a tenfold size means linear. Results:
``bench/results/settlement.json``.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import itertools
import json
import random
import resource
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from rich.console import Console
from rich.table import Table

from bench import common
from topmatch.ledger.schemas import ENTRY_FORMAT, EntryBody, entry_id_for
from topmatch.settlement import agreement as pricing
from topmatch.settlement import netting
from topmatch.settlement import statement as statements
from topmatch.settlement.periods import Period, add_months, local_date, parse_period
from topmatch.settlement.schemas import (
    BilateralStatement,
    FeeAgreement,
    NettingProposal,
    Statement,
)

BUREAUS = tuple(f"bureau-{i:02d}" for i in range(1, 21))
NODE = BUREAUS[0]
PERIOD = "2026-Q4"
#: The same statement for an earlier and a later quarter: a statement reads the whole
#: ledger up to its period's end, so its cost follows the ledger's history.
OTHER_PERIODS = ("2026-Q1", "2027-Q4")
FIRST_DAY = date(2026, 1, 1)
DAYS = 730  # 2026 and 2027
HORIZON = datetime(2028, 1, 1, tzinfo=UTC)
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (10_000, 100_000)
#: Up to this size the federation is the best of --repeat runs; above it, one run.
REPEAT_UP_TO = 100_000

# Per placement. A retention comes 6 months after the start, so only placements that
# start before mid-2027 can have one inside the two years: 0.41 of all of them gives
# about 30 % overall.
P_RETAINED = 0.41
P_VOIDED = 0.03
P_DISPUTED = 0.02
P_RESOLVED = 0.5  # of the disputed
P_ADJUSTED = 0.02
CONTRACTS = ("tijdelijk", "vast")
AGREEMENT_VERSION = "2026-1"

T = TypeVar("T")


def agreement_document() -> dict[str, Any]:
    """The fee agreement of all 20 bureaus (as tests/factories.agreement_document)."""
    return {
        "format": "topmatch.fee-agreement/1",
        "version": AGREEMENT_VERSION,
        "title": "Topmatch vergoedingen 2026",
        "valid_from": "2026-01-01",
        "valid_to": "2027-12-31",
        "vat_rate_bp": 2100,
        "members": list(BUREAUS),
        "placement_fees": [
            {"contract_type": "tijdelijk", "min_hours": 0, "max_hours": 60, "fee_cents": 300_000},
            {"contract_type": "vast", "min_hours": 0, "max_hours": 23, "fee_cents": 300_000},
            {"contract_type": "vast", "min_hours": 24, "max_hours": 60, "fee_cents": 450_000},
        ],
        "start_share_bp": 5000,
        "retention_months": 6,
        "handover_fee_cents": 50_000,
        "licences": [],
    }


# --- the synthetic ledger --------------------------------------------------------------


@dataclass
class Ledger:
    """The federation's entries in log order, as canonical JSON bytes, and each node's share.

    Only bytes are held: each node parses its own share when it is measured, so the objects
    a statement walks are laid out as a node that read its ledger would have them, and the
    cyclic garbage collector sees only that node's objects.
    """

    blobs: list[bytes]
    own: dict[str, list[int]]  # node -> indices into blobs of its entries, in log order
    types: dict[str, int]
    in_period: int
    before_period_end: int

    def blobs_of(self, node: str) -> list[bytes]:
        return [self.blobs[i] for i in self.own[node]]


class Generator:
    """Placements and their events, as dicts of the entry's JSON, from one random stream."""

    def __init__(self, seed: int, terms: FeeAgreement) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - reproducible ledger, not security
        self.seed = seed
        self.terms = terms
        self.ref = {"version": terms.version, "sha256": pricing.sha256(terms)}

    def placement(self, i: int) -> list[dict[str, Any]]:
        rng = self.rng
        payer, payee = rng.sample(BUREAUS, 2)  # payer: the client's bureau
        start = datetime.combine(
            FIRST_DAY + timedelta(days=rng.randrange(DAYS)), datetime.min.time(), UTC
        ) + timedelta(seconds=rng.randrange(7 * 3600, 16 * 3600))
        contract = rng.choice(CONTRACTS)
        hours = rng.randrange(8, 41)
        fee = pricing.placement_fee(self.terms, contract, hours)
        introduction = f"intro-{self.seed}-{i:09d}"
        started = entry_id_for("placement.started", introduction)
        common_fields = {"format": ENTRY_FORMAT, "payer": payer, "payee": payee}
        entries = [
            {
                **common_fields,
                "entry_id": started,
                "type": "placement.started",
                "at": start,
                "proposer": rng.choice((payer, payee)),
                "amount_cents": pricing.start_part(self.terms, fee),
                "agreement": self.ref,
                "placement": {
                    "introduction_id": introduction,
                    "summary_id": f"v-{i:024d}",
                    "client_ref": hashlib.sha256(introduction.encode()).hexdigest(),
                    "start_date": local_date(start).isoformat(),
                    "contract_type": contract,
                    "hours_per_week": hours,
                },
            }
        ]

        def event(kind: str, key: str, at: datetime, **fields: Any) -> None:
            if at < HORIZON:
                entries.append(
                    {
                        **common_fields,
                        "entry_id": entry_id_for(kind, f"{started}:{key}", started),
                        "type": kind,
                        "refers_to": started,
                        "at": at,
                        "proposer": rng.choice((payer, payee)),
                        "amount_cents": 0,
                        **fields,
                    }
                )

        days = timedelta(days=1)
        voided = rng.random() < P_VOIDED
        if voided:
            event("placement.voided", "void", start + rng.randrange(1, 120) * days, reason="uitval")
        elif rng.random() < P_RETAINED:
            due = add_months(local_date(start), self.terms.retention_months)
            at = datetime.combine(due, start.timetz()) + rng.randrange(0, 31) * days
            event(
                "placement.retained",
                "6m",
                at,
                amount_cents=pricing.retention_part(self.terms, fee),
                agreement=self.ref,
                reason="na 6 maanden nog aan het werk (duurzame plaatsing)",
            )
        if rng.random() < P_DISPUTED:
            disputed = start + rng.randrange(5, 90) * days
            event("placement.disputed", "dispute", disputed, reason="uren betwist")
            if rng.random() < P_RESOLVED:
                resolved = disputed + rng.randrange(10, 120) * days
                event("placement.resolved", "resolve", resolved, reason="opgelost")
        if rng.random() < P_ADJUSTED:
            event(
                "placement.adjusted",
                "adjust",
                start + rng.randrange(1, 180) * days,
                amount_cents=rng.choice((-1, 1)) * rng.randrange(5_000, 50_000),
                agreement=self.ref,
                reason="correctie uren",
            )
        return entries


def _canonical_bytes(entry: dict[str, Any]) -> bytes:
    """Sorted keys, no spaces: RFC 8785 for these ASCII strings and integers."""
    at: datetime = entry["at"]
    data = {**entry, "at": at.strftime("%Y-%m-%dT%H:%M:%SZ")}
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def build_ledger(count: int, seed: int, terms: FeeAgreement, period: Period) -> Ledger:
    """``count`` entries in log order (date, then entry id); every event's placement is in."""
    generator = Generator(seed, terms)
    rows: list[tuple[datetime, str, str, str, str, bytes]] = []
    i = 0
    while len(rows) < count:
        for e in generator.placement(i):
            row = (e["at"], e["entry_id"], e["type"], e["payer"], e["payee"], _canonical_bytes(e))
            rows.append(row)
        i += 1
    # A placement's events come after it in generation order, so cutting the tail keeps
    # every event's placement.
    del rows[count:]
    rows.sort()
    own: dict[str, list[int]] = {node: [] for node in BUREAUS}
    for index, (_, _, _, payer, payee, _) in enumerate(rows):
        own[payer].append(index)
        own[payee].append(index)
    days = [local_date(row[0]) for row in rows]
    return Ledger(
        blobs=[row[-1] for row in rows],
        own=own,
        types=dict(sorted(Counter(row[2] for row in rows).items())),
        in_period=sum(day in period for day in days),
        before_period_end=sum(day < period.end for day in days),
    )


# --- what is measured ------------------------------------------------------------------


Agreements = dict[statements.AgreementKey, FeeAgreement]


def parse(blobs: Sequence[bytes]) -> list[EntryBody]:
    """The floor: reading a ledger's entries from their bytes."""
    return [EntryBody.model_validate_json(blob) for blob in blobs]


def node_statement(
    node: str, entries: Sequence[EntryBody], period: Period, agreements: Agreements
) -> tuple[Statement, dict[str, BilateralStatement]]:
    return statements.for_node(entries, node=node, period=period, agreements=agreements)


@dataclass
class Federation:
    made: dict[str, tuple[Statement, dict[str, BilateralStatement]]]
    nets: list[netting.BilateralNet]
    proposal: NettingProposal  # the exact method's
    default: NettingProposal  # at the default exact_limit: the greedy rule for 20 bureaus
    seconds: dict[str, float]


def federation(
    ledger: Ledger, period: Period, agreements: Agreements, exact_limit: int
) -> Federation:
    """Every node reads its own ledger and computes its statement (parse and statement
    timed apart, summed over the 20); then the nets and the netting proposals, the
    "exact" one at ``exact_limit`` (``--exact-limit``, the exact method unless lowered)."""
    seconds = {"parse_s": 0.0, "statements_s": 0.0}
    made = {}
    for node in BUREAUS:
        blobs = ledger.blobs_of(node)
        gc.collect()
        began = time.perf_counter()
        entries = parse(blobs)
        seconds["parse_s"] += time.perf_counter() - began
        gc.collect()
        began = time.perf_counter()
        made[node] = node_statement(node, entries, period, agreements)
        seconds["statements_s"] += time.perf_counter() - began
        del entries, blobs
    nets, seconds["nets_s"] = timed(lambda: bilateral_nets(made, period))
    proposal, seconds["propose_default_s"] = timed(lambda: netting.propose(period.name, nets))
    exact, seconds["propose_exact_s"] = timed(
        lambda: netting.propose(period.name, nets, exact_limit=exact_limit)
    )
    if exact.positions != proposal.positions:
        raise AssertionError("the two netting methods disagree on the positions")
    return Federation(made, nets, exact, proposal, seconds)


def bilateral_nets(
    made: dict[str, tuple[Statement, dict[str, BilateralStatement]]], period: Period
) -> list[netting.BilateralNet]:
    """One net per pair, as its settlement.closed entry would state it; both sides of each
    pair must have computed the same bilateral statement (the hash in their sections)."""
    hashes = {
        (node, s.counterparty): s.statement_sha256
        for node, (statement, _) in made.items()
        for s in statement.counterparties
    }
    nets = []
    for a in BUREAUS:
        for b, bilateral in sorted(made[a][1].items()):
            if b < a:
                continue
            if hashes[a, b] != hashes.get((b, a)):
                raise AssertionError(f"{a} and {b} computed different statements")
            net = bilateral.net
            nets.append(
                netting.BilateralNet(
                    entry_id_for("settlement.closed", f"{period.name}:{a}:{b}"),
                    net.payer,
                    net.payee,
                    net.total_cents,
                )
            )
    return nets


def timed(function: Callable[[], T]) -> tuple[T, float]:
    """(result, seconds), after a full collection so no earlier garbage is swept inside."""
    gc.collect()
    began = time.perf_counter()
    result = function()
    return result, time.perf_counter() - began


def traced(function: Callable[[], T]) -> tuple[T, int, int]:
    """(result, peak bytes above the start, bytes still held above the start)."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = function()
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak - before, held - before


def statement_shape(made: Statement, bilaterals: dict[str, BilateralStatement]) -> dict[str, Any]:
    lines = [x for s in made.counterparties for x in (*s.receivables, *s.payables)]
    return {
        "counterparties": len(made.counterparties),
        "lines": len(lines),
        "lines_by_type": dict(sorted(Counter(x.type for x in lines).items())),
        "released_after_dispute": sum(x.note == statements.RELEASED for x in lines),
        "reversals": sum(x.reverses is not None for x in lines),
        "excluded": sum(len(b.excluded) for b in bilaterals.values()),
        "net_cents": made.net.total_cents,
    }


def by_period(
    blobs: Sequence[bytes], agreements: Agreements, repeat: int
) -> dict[str, dict[str, Any]]:
    """bureau-01's statement for OTHER_PERIODS (best of ``repeat``), with how many of its
    entries fall before each period's end and how many lines it books; ``_this`` holds the
    counts for PERIOD, whose time is measured above."""
    entries = parse(blobs)
    days = [local_date(e.at) for e in entries]
    out: dict[str, dict[str, Any]] = {}
    for name in (*OTHER_PERIODS, PERIOD):
        period = parse_period(name)
        counts = {
            "entries_before_end": sum(day < period.end for day in days),
            "entries_in_period": sum(day in period for day in days),
        }
        if name == PERIOD:
            out["_this"] = counts
            continue
        seconds = []
        for _ in range(repeat):
            (made, _), took = timed(partial(node_statement, NODE, entries, period, agreements))
            seconds.append(took)
        lines = sum(len(s.receivables) + len(s.payables) for s in made.counterparties)
        out[name] = {"statement_s": round(min(seconds), 4), **counts, "lines": lines}
    return out


def measure_size(
    count: int, options: argparse.Namespace, terms: FeeAgreement, console: Console
) -> dict[str, Any]:
    period = parse_period(PERIOD)
    agreements = {(terms.version, pricing.sha256(terms)): terms}
    began = time.perf_counter()
    ledger = build_ledger(count, options.seed, terms, period)
    build_s = time.perf_counter() - began
    node_blobs = ledger.blobs_of(NODE)
    node_entries = len(node_blobs)
    all_node_entries = sum(len(v) for v in ledger.own.values())
    console.print(
        f"[bold]{count:,} entries[/]: built in {build_s:.1f} s; {NODE} holds {node_entries:,}"
    )

    # One bureau: parse (the baseline) and statement interleaved, best of --repeat.
    runs: dict[str, list[float]] = {"parse": [], "parse_without_gc": [], "statement": []}
    for _ in range(options.repeat):
        entries, seconds = timed(lambda: parse(node_blobs))
        runs["parse"].append(seconds)
        (made, bilaterals), seconds = timed(
            partial(node_statement, NODE, entries, period, agreements)
        )
        runs["statement"].append(seconds)
        del entries
        gc.disable()
        try:
            runs["parse_without_gc"].append(timed(lambda: parse(node_blobs))[1])
        finally:
            gc.enable()
    best = {k: min(v) for k, v in runs.items()}
    hash_statement = timed(lambda: statements.report_sha256(made))[1]
    hash_bilaterals = timed(lambda: [statements.report_sha256(b) for b in bilaterals.values()])[1]
    history = by_period(node_blobs, agreements, options.repeat)
    history[PERIOD] = {
        "statement_s": round(best["statement"], 4),
        **history.pop("_this"),
        "lines": statement_shape(made, bilaterals)["lines"],
    }

    # The federation: every bureau parses its own ledger and computes its statement.
    repeats = options.repeat if count <= REPEAT_UP_TO else 1
    feds = [federation(ledger, period, agreements, options.exact_limit) for _ in range(repeats)]
    fed = feds[-1]
    fed_best = {k: min(f.seconds[k] for f in feds) for k in fed.seconds}
    if fed.made[NODE][0] != made:
        raise AssertionError(f"{NODE}'s statement differs between the two runs")
    hash_netting = timed(lambda: statements.report_sha256(fed.proposal))[1]
    console.print(
        f"  times: parse {best['parse']:.3f} s, statement {best['statement']:.3f} s "
        f"(one bureau); parse {fed_best['parse_s']:.2f} s, statements "
        f"{fed_best['statements_s']:.2f} s (20 bureaus)"
    )

    # Memory, in a separate pass under tracemalloc.
    entries, parse_peak, parse_held = traced(lambda: parse(node_blobs))
    _, statement_peak, statement_held = traced(
        partial(node_statement, NODE, entries, period, agreements)
    )
    del entries
    exact_peak = None
    if count == options.sizes[0]:  # independent of N, and slow under tracemalloc
        _, exact_peak, _ = traced(
            lambda: netting.propose(period.name, fed.nets, exact_limit=options.exact_limit)
        )
    console.print(
        f"  memory: parsed ledger {parse_held / 2**20:.1f} MiB, "
        f"statement peak {statement_peak / 2**20:.1f} MiB"
    )

    positions = fed.proposal.positions
    return {
        "entries": count,
        "entries_by_type": ledger.types,
        "entries_in_period": ledger.in_period,
        "entries_before_period_end": ledger.before_period_end,
        "mean_entry_bytes": round(sum(map(len, ledger.blobs)) / count, 1),
        "node_entries": node_entries,
        "all_node_entries": all_node_entries,
        "build_s": round(build_s, 2),
        "one_bureau": {
            "repeats": options.repeat,
            "parse_s": round(best["parse"], 4),
            "statement_s": round(best["statement"], 4),
            "ratio": round(best["statement"] / best["parse"], 2),
            "ratio_to_parse_without_gc": round(best["statement"] / best["parse_without_gc"], 2),
            "parse_us_per_entry": round(best["parse"] / node_entries * 1e6, 2),
            "statement_us_per_entry": round(best["statement"] / node_entries * 1e6, 2),
            "parse_without_gc_s": round(best["parse_without_gc"], 4),
            "gc_share_of_parse": round(1 - best["parse_without_gc"] / best["parse"], 3),
            "bilateral_hashes_in_statement_s": round(hash_bilaterals, 4),
            "report_sha256_s": round(hash_statement, 4),
            "runs_s": {k: [round(x, 4) for x in v] for k, v in runs.items()},
            "statement": statement_shape(made, bilaterals),
            "by_period": dict(sorted(history.items())),
        },
        "federation": {
            "repeats": repeats,
            "parse_s": round(fed_best["parse_s"], 3),
            "statements_s": round(fed_best["statements_s"], 3),
            "ratio": round(fed_best["statements_s"] / fed_best["parse_s"], 2),
            "statements_us_per_node_entry": round(
                fed_best["statements_s"] / all_node_entries * 1e6, 2
            ),
            "nets": len(fed.nets),
            "nets_s": round(fed_best["nets_s"], 4),
            "propose_default_s": round(fed_best["propose_default_s"], 5),
            "propose_exact_s": round(fed_best["propose_exact_s"], 3),
            "netting_report_sha256_s": round(hash_netting, 5),
            "runs_s": {
                k: [round(f.seconds[k], 3) for f in feds] for k in ("parse_s", "statements_s")
            },
            "netting": {
                "method": fed.proposal.method,
                "nonzero_positions": sum(p.net_cents != 0 for p in positions),
                "payments": len(fed.proposal.payments),
                "payments_at_default_limit": len(fed.default.payments),
                "method_at_default_limit": fed.default.method,
                "gross_cents": fed.proposal.gross_cents,
                "moved_cents": fed.proposal.moved_cents,
            },
        },
        "memory_bytes": {
            "parsed_node_ledger": parse_held,
            "parsed_per_entry": round(parse_held / node_entries),
            "parse_peak": parse_peak,
            "statement_peak": statement_peak,
            "statement_result": statement_held,
            "propose_exact_peak": exact_peak,
        },
    }


def growth(sizes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each size against the one before: time and memory factors next to the size factor."""
    out = []
    for small, large in itertools.pairwise(sizes):

        def factor(
            path: tuple[str, str], s: dict[str, Any] = small, g: dict[str, Any] = large
        ) -> float:
            return round(float(g[path[0]][path[1]]) / float(s[path[0]][path[1]]), 2)

        out.append(
            {
                "from": small["entries"],
                "to": large["entries"],
                "entries": round(large["entries"] / small["entries"], 2),
                "statement_time": factor(("one_bureau", "statement_s")),
                "parse_time": factor(("one_bureau", "parse_s")),
                "federation_time": factor(("federation", "statements_s")),
                "statement_memory": factor(("memory_bytes", "statement_peak")),
                "parsed_ledger_memory": factor(("memory_bytes", "parsed_node_ledger")),
            }
        )
    return out


def measure(options: argparse.Namespace, console: Console) -> dict[str, Any]:
    terms = FeeAgreement.model_validate_json(json.dumps(agreement_document()))
    sizes = []
    for count in options.sizes:
        sizes.append(measure_size(count, options, terms, console))
    flags: dict[str, object] = {
        "sizes": ",".join(str(n) for n in options.sizes),
        "repeat": options.repeat,
        "seed": options.seed,
    }
    if options.exact_limit != netting.MAX_EXACT_LIMIT:
        flags["exact_limit"] = options.exact_limit
    return {
        "title": "settlement statements and netting for 20 bureaus, against parsing the entries",
        "command": common.command("bench.settlement_bench", flags),
        "setup": {
            "bureaus": len(BUREAUS),
            "exact_limit": options.exact_limit,
            "node": NODE,
            "period": PERIOD,
            "dates": "2026-01-01 to 2027-12-31",
            "agreement": agreement_document(),
        },
        "sizes": sizes,
        "growth": growth(sizes),
        "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def report(payload: dict[str, Any], console: Console) -> None:
    times = Table(
        title="time (s), best of the runs; ratio = statement(s) / parsing the same entries"
    )
    for name in (
        "entries",
        "bureau-01 holds",
        "parse",
        "statement",
        "ratio",
        "µs/entry",
        "20 parses",
        "20 statements",
        "ratio",
        "netting exact",
    ):
        times.add_column(name, justify="right")
    memory = Table(title=f"{NODE}'s memory (MiB), tracemalloc, separate pass")
    for name in ("entries", "parsed ledger", "bytes/entry", "statement peak", "statement kept"):
        memory.add_column(name, justify="right")
    for s in payload["sizes"]:
        one, fed, mem = s["one_bureau"], s["federation"], s["memory_bytes"]
        times.add_row(
            f"{s['entries']:,}",
            f"{s['node_entries']:,}",
            f"{one['parse_s']:.3f}",
            f"{one['statement_s']:.3f}",
            f"{one['ratio']:.2f}",
            f"{one['statement_us_per_entry']:.1f}",
            f"{fed['parse_s']:.2f}",
            f"{fed['statements_s']:.2f}",
            f"{fed['ratio']:.2f}",
            f"{fed['propose_exact_s']:.2f}",
        )
        memory.add_row(
            f"{s['entries']:,}",
            f"{mem['parsed_node_ledger'] / 2**20:.1f}",
            f"{mem['parsed_per_entry']:,}",
            f"{mem['statement_peak'] / 2**20:.1f}",
            f"{mem['statement_result'] / 2**20:.1f}",
        )
    console.print(times)
    console.print(memory)
    for g in payload["growth"]:
        console.print(
            f"{g['from']:,} -> {g['to']:,} (x{g['entries']:g}): time x{g['statement_time']} "
            f"(statement), x{g['parse_time']} (parse), x{g['federation_time']} (20 statements); "
            f"memory x{g['statement_memory']} (statement), x{g['parsed_ledger_memory']} (parsed)"
        )
    for s in payload["sizes"]:
        one = s["one_bureau"]
        console.print(
            f"{s['entries']:,}: {one['gc_share_of_parse']:.0%} of the parse is the cyclic GC; "
            f"hashing the bilaterals is {one['bilateral_hashes_in_statement_s']:.3f} s "
            f"of the statement's {one['statement_s']:.3f} s; by period: "
            + ", ".join(
                f"{name} {p['statement_s']:.3f} s ({p['entries_before_end']:,} entries before "
                f"its end, {p['lines']:,} lines)"
                for name, p in one["by_period"].items()
            )
        )


def sizes_arg(text: str) -> tuple[int, ...]:
    sizes = tuple(int(part.replace("_", "")) for part in text.split(","))
    if not sizes or min(sizes) < 1_000:  # noqa: PLR2004
        raise argparse.ArgumentTypeError("sizes are comma-separated counts of at least 1000")
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.settlement_bench", description=__doc__)
    parser.add_argument("--sizes", type=sizes_arg, default=DEFAULT_SIZES)
    parser.add_argument("--quick", action="store_true", help="10,000 and 100,000 entries only")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--exact-limit",
        type=int,
        choices=range(netting.MAX_EXACT_LIMIT + 1),
        default=netting.MAX_EXACT_LIMIT,
        metavar=f"0..{netting.MAX_EXACT_LIMIT}",
        help="exact_limit of the 'exact' netting (default: the exact method, 2^20 subsets; "
        "lower it for a quick run)",
    )
    common.add_results_option(parser)
    options = parser.parse_args(argv)
    if options.quick:
        options.sizes = QUICK_SIZES
    options.sizes = tuple(sorted(options.sizes))
    # Wide enough for the tables when the output goes to a file or a pipe.
    console = Console() if sys.stdout.isatty() else Console(width=132)
    payload = measure(options, console)
    path = common.write_results("settlement", payload, options.results_dir)
    report(payload, console)
    console.print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
