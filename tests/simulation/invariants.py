"""What must hold after every schedule, once the network healed and the nodes caught up.

Each check returns the problems it found, as sentences that name the node and the record;
an empty list is a pass.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections import Counter
from itertools import combinations
from pathlib import Path
from typing import Any

from tests.simulation.harness import Federation, SimNode, node_settings
from tests.simulation.workload import World
from topmatch import db
from topmatch.federation.peers import PeerRegistry
from topmatch.identity import service as identity
from topmatch.identity.descriptor import PeerDescriptor
from topmatch.ledger import bundle, exporting, note
from topmatch.ledger import service as ledger

PERIOD = "2026-Q4"
#: a word boundary that no base64 or base64url alphabet character makes
WORD_START, WORD_END = rb"(?<![a-z0-9+/_-])", rb"(?![a-z0-9+/_-])"
DONE = {"accepted", "placed"}


async def check(fed: Federation, world: World) -> list[str]:
    """Every invariant, over every node (all of them are up again). Counts what there
    was to check in ``world.checked``."""
    views = {n: await _introductions(fed, node) for n, node in fed.nodes.items()}
    entries = {n: await _entries(fed, node) for n, node in fed.nodes.items()}
    states = Counter(
        r["state"] for rows in views.values() for r in rows if r["role"] == "requester"
    )
    world.checked = {
        **{f"introductions {k}": v for k, v in sorted(states.items())},
        "ledger entries": sum(map(len, entries.values())),
        "messages on the wire": len(fed.network.wire),
    }
    return [
        *introductions_agree(views, world),
        *placements_cosigned(entries, views, world),
        *await nothing_left_behind(fed),
        *[p for node in fed.nodes.values() for p in ledger_verifies(node, fed)],
        *await witnessed(fed, entries),
        *await statements_agree(fed),
        *no_personal_data(fed.network.wire, world),
    ]


async def _get(fed: Federation, node: SimNode, path: str, role: str = "admin") -> Any:
    response = await fed.call(node, "GET", path, role=role)
    assert response is not None, f"{node.node_id} is down after the catch-up"
    assert response.status_code == 200, f"{node.node_id} GET {path}: {response.text}"
    return response.json()


async def _introductions(fed: Federation, node: SimNode) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await _get(fed, node, "/api/v1/introductions", "consultant")
    return rows


async def _entries(fed: Federation, node: SimNode) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await _get(fed, node, "/api/v1/ledger/entries?limit=1000")
    return [r["entry"] for r in rows]


def introductions_agree(views: dict[str, list[dict[str, Any]]], world: World) -> list[str]:
    """Every introduction is known to both sides exactly once, in the same state; one
    introduction per idempotency key however often it was sent."""
    problems = []
    by_id: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for node, rows in views.items():
        for row in rows:
            by_id.setdefault(row["id"], {}).setdefault(node, []).append(row)
    for intro_id, sides in by_id.items():
        problems += _one_introduction(intro_id, sides)
    for node, rows in views.items():
        asked = sum(r["role"] == "requester" for r in rows)
        if asked > len(world.keys.get(node, ())):
            problems.append(
                f"{node} holds {asked} introductions it asked for, from "
                f"{len(world.keys.get(node, ()))} distinct idempotency keys"
            )
    return problems


def _one_introduction(intro_id: str, sides: dict[str, list[dict[str, Any]]]) -> list[str]:
    problems = [f"{node} lists introduction {intro_id} {len(r)} times" for node, r in
                sides.items() if len(r) != 1]  # fmt: skip
    rows = {node: r[0] for node, r in sides.items()}
    requester = next((n for n, r in rows.items() if r["role"] == "requester"), None)
    if requester is None:
        return [*problems, f"introduction {intro_id} has no requester: {sorted(rows)}"]
    peer = rows[requester]["peer"]
    state = rows[requester]["state"]
    if state == "cancelled":  # withdrawn while queued: the peer may not have heard of it,
        if peer in rows and rows[peer]["state"] in DONE:  # but must not have acted on it
            problems.append(f"introduction {intro_id}: cancelled at {requester}, "
                            f"{rows[peer]['state']} at {peer}")  # fmt: skip
        return problems
    if peer not in rows:
        return [*problems, f"introduction {intro_id} ({state}) of {requester} unknown to {peer}"]
    other = rows[peer]["state"]
    if (state in DONE) != (other in DONE) or (state not in DONE and state != other):
        problems.append(f"introduction {intro_id}: {state} at {requester}, {other} at {peer}")
    return problems


def placements_cosigned(
    entries: dict[str, list[dict[str, Any]]],
    views: dict[str, list[dict[str, Any]]],
    world: World,
) -> list[str]:
    """Every entry (a placement, an event after it) is in both parties' logs exactly
    once, signed by both; every placement a consultant saw accepted is there; every
    introduction marked placed has its placement."""
    problems = []
    copies: dict[str, Counter[str]] = {}
    parties: dict[str, set[str]] = {}
    placed = set()
    for node, log in entries.items():
        for entry in log:
            copies.setdefault(entry["entry_id"], Counter())[node] += 1
            parties[entry["entry_id"]] = {entry["payer"], entry["payee"]}
            problems += _signed_by_both(node, entry)
            if entry["type"] == "placement.started":
                placed.add(entry["placement"]["introduction_id"])
    for entry_id, logs in copies.items():
        problems += [f"{n} logs entry {entry_id[:12]} {c} times" for n, c in logs.items() if c != 1]
        if set(logs) != parties[entry_id]:
            problems.append(f"entry {entry_id[:12]} of {sorted(parties[entry_id])} is in "
                            f"the logs of {sorted(logs)}")  # fmt: skip
    problems += [f"placement for introduction {intro} was accepted but never logged"
                 for intro in world.placements if intro not in placed]  # fmt: skip
    problems += [f"{node}: introduction {row['id']} placed, but no ledger entry"
                 for node, rows in views.items() for row in rows
                 if row["state"] == "placed" and row["id"] not in placed]  # fmt: skip
    return problems


def _signed_by_both(node: str, entry: dict[str, Any]) -> list[str]:
    parties = {s["party"] for s in entry.get("signatures", [])}
    if parties != {entry["payer"], entry["payee"]}:
        return [f"{node}: entry {entry['entry_id']} signed by {sorted(parties)}"]
    return []


async def nothing_left_behind(fed: Federation) -> list[str]:
    """No message failed, no proposal still pending after the catch-up."""
    problems = []
    for name, node in fed.nodes.items():
        failed = await _get(fed, node, "/api/v1/outbox/failed")
        problems += [f"{name}: outbox message {m['kind']} to {m['peer']} failed: "
                     f"{m['detail']}" for m in failed]  # fmt: skip
        for p in await _get(fed, node, "/api/v1/ledger/proposals"):
            if p["status"] != "countersigned":
                problems.append(
                    f"{name}: proposal {p['entry_id'][:12]} to {p['counterparty']} is "
                    f"{p['status']}: {p['last_error']}"
                )
    return problems


def ledger_verifies(node: SimNode, fed: Federation) -> list[str]:
    """The node's audit bundle (as `topmatch ledger export` writes it) passes
    `topmatch ledger verify`, keys anchored in the nodes' own descriptors."""
    settings = node_settings(node.data_dir)
    origin = ledger.log_origin(node.node_id)
    signer = note.NoteSigner(origin, identity.load_identity(settings).private_key)
    own = PeerDescriptor.model_validate_json(settings.descriptor_file().read_text())
    peers = PeerRegistry(settings.peers_dir, own_node_id=node.node_id).all()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bundle"
        with db.transaction(node.engine()) as session:
            exporting.export_bundle(
                session, out, signer=signer, own=own, peers=peers, now=fed.clock()
            )
        report = bundle.verify(out, trusted=[own, *peers])
    return [] if report.ok else [f"{node.node_id}: ledger verify: {report.summary()}"]


async def witnessed(fed: Federation, entries: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Every non-empty log's checkpoint at its full size is cosigned by a peer."""
    problems = []
    for name, node in fed.nodes.items():
        if not entries[name]:
            continue
        point = await _get(fed, node, "/api/v1/ledger/checkpoint")
        if point["size"] != len(entries[name]) or not point["witnessed_by"]:
            problems.append(
                f"{name}: checkpoint of size {point['size']} (log {len(entries[name])}) "
                f"witnessed by {point['witnessed_by']}"
            )
    return problems


async def statements_agree(fed: Federation) -> list[str]:
    """For each pair, both sides' statements of the period are the same bytes (hash)."""
    sections: dict[tuple[str, str], dict[str, Any]] = {}
    for name, node in fed.nodes.items():
        view = await _get(fed, node, f"/api/v1/settlements/{PERIOD}", "finance")
        for section in view["statement"]["counterparties"]:
            sections[name, section["counterparty"]] = section
    problems = []
    for a, b in combinations(sorted(fed.nodes), 2):
        ours, theirs = sections.get((a, b)), sections.get((b, a))
        if (ours is None) != (theirs is None) or (
            ours is not None and theirs is not None
            and ours["statement_sha256"] != theirs["statement_sha256"]
        ):  # fmt: skip
            problems.append(
                f"statements of {a} and {b} differ: {json.dumps(ours)[:300]} / "
                f"{json.dumps(theirs)[:300]}"
            )
    return problems


def no_personal_data(wire: list[bytes], world: World) -> list[str]:
    """No name, BSN, birth date, address, phone or e-mail of any card-box client in any
    byte that crossed the network (raw or JSON-escaped, any case), as a whole word: not
    inside a longer run of base64 or base64url characters (a signature, a nonce, a
    sealed handover), where a short name turns up by chance now and then."""
    haystack = b"\n".join(wire).lower()
    problems = []
    for who in world.people:
        for secret in who.secrets():
            forms = {secret.lower(), json.dumps(secret)[1:-1].lower()}
            pattern = b"|".join(re.escape(f.encode()) for f in forms)
            found = re.search(WORD_START + rb"(?:" + pattern + rb")" + WORD_END, haystack)
            if found:
                context = haystack[max(0, found.start() - 80) : found.end() + 40]
                shown = context.decode(errors="replace")
                problems.append(f"personal data {secret!r} on the wire: ...{shown}...")
    return problems
