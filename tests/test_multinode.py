"""Three real nodes (uvicorn processes on loopback), each with its own database and keys:
the end-to-end paths that only real processes exercise.

- the background worker syncing by itself (the real worker loop in a served app, on a
  real interval; the in-process harness runs no worker);
- a placement co-signed, logged, witnessed and audited, with ``topmatch ledger
  export/verify`` run as a real CLI against a served node, and outbox deliveries that run
  after the commit while a counterparty is down;
- settlement between real nodes.

They also run in the PostgreSQL pass against a database per node. Publishing and syncing,
tombstones, a node that goes down and comes back, a suspended peer and a key rotation run
in process (tests/test_federation_inprocess.py), in a fraction of the time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.factories import (
    BSNS,
    agreement_document,
    client_data,
    employer_data,
    run_cli_here,
    vacancy_data,
)
from tests.test_serve import free_port, wait_healthy

pytestmark = pytest.mark.slow

NODES = ("alfa", "bravo", "charlie")


@dataclass
class Node:
    node_id: str
    port: int
    env: dict[str, str]
    data_dir: Path
    token: str = ""
    process: subprocess.Popen[bytes] | None = None
    log: Path = field(default_factory=Path)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def cli(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "topmatch", *argv],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def setup(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """The CLI in this process (as ``cli`` does in a child): the set-up needs a dozen
        commands per federation, and a child's Python start-up costs more than the work."""
        return run_cli_here(self.env, argv)

    def start(self) -> None:
        self.launch()
        self.wait_started()

    def launch(self) -> None:
        self.log = self.data_dir / "server.log"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "topmatch", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_started(self) -> None:
        assert self.process is not None
        try:
            wait_healthy(self.url, self.process, timeout=90)
        except AssertionError as e:
            self.stop()
            tail = self.log.read_text()[-2000:]
            raise AssertionError(f"{self.node_id} did not start: {tail}") from e

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def get(self, path: str, **params: Any) -> Any:
        response = httpx.get(self.url + path, params=params, headers=self.headers, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, path: str, body: Any = None) -> Any:
        response = httpx.post(self.url + path, json=body, headers=self.headers, timeout=30)
        assert response.status_code in {200, 201, 202}, response.text
        return response.json()

    def patch(self, path: str, body: Any) -> Any:
        response = httpx.patch(self.url + path, json=body, headers=self.headers, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def sync(self) -> dict[str, Any]:
        return {r["node_id"]: r for r in self.post("/api/v1/peers/sync")}

    def openings(self) -> list[Any]:
        items: list[Any] = self.get("/api/v1/openings")["items"]
        return items


def _database_urls(database_url: str) -> Iterator[dict[str, str]]:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        yield {}
        return
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    names = {n: f"tm_{n}_{uuid.uuid4().hex[:8]}" for n in NODES}
    with admin.connect() as c:
        for name in names.values():
            c.execute(text(f'CREATE DATABASE "{name}"'))
    yield {n: url.set(database=db).render_as_string(hide_password=False) for n, db in names.items()}
    with admin.connect() as c:
        for name in names.values():
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def federation(tmp_path: Path, database_url: str) -> Iterator[dict[str, Node]]:
    urls_iter = _database_urls(database_url)
    urls = next(urls_iter)
    nodes: dict[str, Node] = {}
    for node_id in NODES:
        data_dir = tmp_path / node_id
        env = {
            **os.environ,
            "TOPMATCH_DATA_DIR": str(data_dir),
            "TOPMATCH_PEERS_DIR": str(data_dir / "peers"),
            "TOPMATCH_SYNC_INTERVAL_SECONDS": "0",
        }
        env.pop("TOPMATCH_TEST_DATABASE_URL", None)
        if node_id in urls:
            env["TOPMATCH_DATABASE_URL"] = urls[node_id]
        node = Node(node_id, free_port(), env, data_dir)
        assert (
            node.setup(
                "init", "--node-id", node_id, "--name", f"Bureau {node_id}", "--url", node.url
            ).returncode
            == 0
        )
        added = node.setup("users", "add", "admin", "--role", "admin")
        node.token = added.stdout.strip().splitlines()[-1]
        nodes[node_id] = node
    for node in nodes.values():
        for other in nodes.values():
            if other is not node:
                assert node.setup("peers", "add", str(other.data_dir / "node.json")).returncode == 0
    for node in nodes.values():
        node.launch()
    try:
        for node in nodes.values():
            node.wait_started()
        yield nodes
    finally:
        for node in nodes.values():
            node.stop()
        next(urls_iter, None)


def _publish(node: Node, title: str) -> Any:
    employer = node.post(
        "/api/v1/employers", employer_data(kvk_number=f"{abs(hash(title)) % 10**8:08d}")
    )
    return node.post("/api/v1/vacancies", vacancy_data(employer["id"], title=title, published=True))


def test_background_worker_syncs_by_itself(federation: dict[str, Node]) -> None:
    alfa, bravo = federation["alfa"], federation["bravo"]
    bravo.stop()
    bravo.env["TOPMATCH_SYNC_INTERVAL_SECONDS"] = "0.3"
    bravo.start()
    _publish(alfa, "Bakker")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if "Bakker" in {o["title"] for o in bravo.openings()}:
            return
        time.sleep(0.2)
    raise AssertionError("bravo did not pick up alfa's opening by itself")


def _placement(intro: str, **overrides: Any) -> dict[str, Any]:
    return {
        "counterparty": "bravo",
        "we_are": "payer",  # alfa's client was placed at bravo's opening: alfa pays
        "introduction_id": intro,
        "summary_id": "v-" + "a" * 24,
        "client_id": "c1",
        "start_date": "2026-05-04",
        "contract_type": "tijdelijk",
        "hours_per_week": 24,
        **overrides,
    }


def _agree(federation: dict[str, Node]) -> None:
    """Alfa proposes the fee agreement; bravo and charlie fetch and sign it; each round
    spreads the signatures until it is in force on every node."""
    alfa, bravo, charlie = (federation[n] for n in NODES)
    proposed = alfa.post("/api/v1/agreements", agreement_document())
    assert proposed["signed_by"] == ["alfa"]
    for node in (bravo, charlie):
        node.post("/api/v1/ledger/round")
        node.post("/api/v1/agreements/2026-1/signature")
    for node in (alfa, bravo, charlie):
        node.post("/api/v1/ledger/round")
    for node in (alfa, bravo, charlie):
        shown = node.get("/api/v1/agreements/2026-1")
        assert shown["in_force"], shown


def _introduce(alfa: Node, bravo: Node, n: int) -> str:
    """Alfa's client for bravo's opening: requested, accepted, handed over both ways."""
    employer = bravo.post(
        "/api/v1/employers", employer_data(kvk_number=f"7000000{n}", name=f"Werkgever {n} BV")
    )
    bravo.post(
        "/api/v1/vacancies", vacancy_data(employer["id"], title=f"Vacature {n}", published=True)
    )
    assert alfa.sync()[bravo.node_id]["ok"]
    summary = next(o for o in alfa.openings() if o["title"] == f"Vacature {n}")
    client = alfa.post("/api/v1/clients", client_data(bsn=BSNS[n], first_name=f"Kandidaat{n}"))
    sent = alfa.post(
        "/api/v1/introductions",
        {
            "peer": bravo.node_id,
            "kind": "client_for_opening",
            "summary_id": summary["id"],
            "client_id": client["id"],
            "note": "Past goed bij deze vacature.",
        },
    )
    # 202: recorded and queued; a background task delivers it right after the commit.
    assert sent["message"]["kind"] == "introduction.request", sent
    intro_id: str = sent["id"]
    asked = _eventually(
        lambda: {i["id"]: i for i in bravo.get("/api/v1/introductions")}.get(intro_id)
    )
    assert asked["role"] == "responder"
    assert f"Kandidaat{n}" not in json.dumps(asked)  # anonymised until accepted
    decided = bravo.post(f"/api/v1/introductions/{intro_id}/decision", {"accept": True})
    assert decided["state"] == "accepted", decided
    # Bravo's decision and its sealed part are queued and delivered in that order; then
    # alfa hands over its part (queued when the decision arrived).
    employer = _eventually(lambda: _handover(alfa, intro_id))
    assert employer["employer"] == f"Werkgever {n} BV"
    client_part = _eventually(lambda: _handover(bravo, intro_id))
    assert client_part["first_name"] == f"Kandidaat{n}"
    return intro_id


def _handover(node: Node, intro_id: str) -> dict[str, Any] | None:
    response = httpx.get(
        f"{node.url}/api/v1/introductions/{intro_id}/handover", headers=node.headers, timeout=10
    )
    return response.json() if response.status_code == 200 else None  # type: ignore[no-any-return]


def _eventually(probe: Any, seconds: float = 20) -> Any:
    """What ``probe`` returns once it is not None (outbox deliveries run after the commit)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        time.sleep(0.2)
    raise AssertionError("did not arrive in time")


def _signed(node: Node, proposed: dict[str, Any]) -> dict[str, Any]:
    """A proposal once the outbox delivered it and the peer answered: countersigned (with
    the entry) or refused. Proposing answers at once (202, pending); the delivery runs
    right after the commit."""
    assert proposed["status"] in {"pending", "countersigned"}, proposed

    def answered() -> dict[str, Any] | None:
        shown: dict[str, Any] = node.get(f"/api/v1/ledger/proposals/{proposed['entry_id']}")
        return None if shown["status"] == "pending" else shown

    result: dict[str, Any] = _eventually(answered)
    return result


def test_placement_cosigned_logged_witnessed_and_audited(
    federation: dict[str, Node], tmp_path: Path
) -> None:
    alfa, bravo, charlie = (federation[n] for n in NODES)
    _agree(federation)
    first, second = _introduce(alfa, bravo, 1), _introduce(alfa, bravo, 2)
    refused = httpx.post(
        f"{alfa.url}/api/v1/ledger/placements",
        headers=alfa.headers,
        json=_placement("intro-unknown"),
        timeout=30,
    )
    assert refused.status_code == 422
    result = _signed(alfa, alfa.post("/api/v1/ledger/placements", _placement(first)))
    assert result["status"] == "countersigned", result
    assert {s["party"] for s in result["entry"]["signatures"]} == {"alfa", "bravo"}
    entry_id = result["entry_id"]
    assert [e["entry"]["entry_id"] for e in bravo.get("/api/v1/ledger/entries")] == [entry_id]
    again = alfa.post("/api/v1/ledger/placements", _placement(first))
    assert again["status"] == "countersigned"
    assert len(alfa.get("/api/v1/ledger/entries")) == 1

    # A placement proposed while the counterparty is down stays queued, then is delivered.
    bravo.stop()
    pending = alfa.post("/api/v1/ledger/placements", _placement(second))
    assert pending["status"] == "pending"

    def tried() -> dict[str, Any] | None:
        shown: dict[str, Any] = alfa.get(f"/api/v1/ledger/proposals/{pending['entry_id']}")
        return shown if (shown["message"] or {}).get("last_error") else None

    waiting = _eventually(tried)
    assert waiting["message"]["state"] == "queued"
    assert f"bravo ({bravo.url}): onbereikbaar: " in waiting["message"]["last_error"]
    queued = {p["node_id"]: p["queued"] for p in alfa.get("/api/v1/peers")["peers"]}
    assert queued["bravo"] == 1
    bravo.start()
    delivered = alfa.post("/api/v1/outbox/deliver?peer=bravo")  # back: no need to wait
    assert [d["state"] for d in delivered] == ["answered"]
    proposals = {p["entry_id"]: p["status"] for p in alfa.get("/api/v1/ledger/proposals")}
    assert proposals[pending["entry_id"]] == "countersigned"
    assert len(bravo.get("/api/v1/ledger/entries")) == 2

    # Peers witness each other's logs: charlie cosigns alfa's and bravo's checkpoints.
    rounds = {r["node_id"]: r for r in charlie.post("/api/v1/ledger/round")}
    assert rounds["alfa"]["ok"], rounds
    assert rounds["bravo"]["ok"], rounds
    assert rounds["alfa"]["size"] == 2
    assert "charlie" in alfa.get("/api/v1/ledger/checkpoint")["witnessed_by"]
    assert all(r["ok"] for r in bravo.post("/api/v1/ledger/round")), "bravo witnesses too"
    assert alfa.get("/api/v1/ledger/alarms") == []

    # What happened next is a new co-signed entry referring to the placement.
    retained = alfa.post(
        "/api/v1/ledger/events",
        {
            "refers_to": entry_id,
            "type": "placement.retained",
            "reason": "na 6 maanden nog aan het werk (duurzame plaatsing)",
            "key": "6m",
        },
    )
    retained = _signed(alfa, retained)
    assert retained["status"] == "countersigned", retained
    assert retained["entry"]["refers_to"] == entry_id
    voided = bravo.post(
        "/api/v1/ledger/events",
        {
            "refers_to": pending["entry_id"],
            "type": "placement.voided",
            "amount_cents": 0,
            "reason": "niet gestart",
        },
    )
    voided = _signed(bravo, voided)
    assert voided["status"] == "countersigned", voided
    assert len(alfa.get("/api/v1/ledger/entries")) == 4

    bundle_dir = tmp_path / "audit"
    exported = alfa.cli("ledger", "export", "--out", str(bundle_dir))
    assert exported.returncode == 0, exported.stderr
    verified = alfa.cli(
        "ledger", "verify", str(bundle_dir), "--trusted-keys", _auditor_keys(federation, tmp_path)
    )
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.strip().splitlines()[-1].startswith("OK: 4 entries")


def _auditor_keys(federation: dict[str, Node], tmp_path: Path) -> str:
    """An auditor's folder of the bureaus' own descriptors (never the bundle's keys/)."""
    folder = tmp_path / "auditor-keys"
    folder.mkdir()
    for node in federation.values():
        shutil.copyfile(node.data_dir / "node.json", folder / f"{node.node_id}.json")
    return str(folder)


def _settle_view(node: Node, counterparty: str) -> dict[str, Any]:
    view = node.get("/api/v1/settlements/2026-Q4")
    sections = {s["counterparty"]: s for s in view["statement"]["counterparties"]}
    return {"report": view["report_sha256"], **sections[counterparty]}


def test_settlement_statements_agree_close_and_net(federation: dict[str, Node]) -> None:
    """Placements both ways, a retention and a void; each node's statement agrees with its
    counterparties'; a month later the period is closed by co-signed entries and netted."""
    alfa, bravo, charlie = (federation[n] for n in NODES)
    _agree(federation)
    one, two = _introduce(alfa, bravo, 1), _introduce(alfa, bravo, 2)
    three, four = _introduce(bravo, alfa, 3), _introduce(bravo, charlie, 4)
    placed = _signed(alfa, alfa.post("/api/v1/ledger/placements", _placement(one)))
    assert placed["entry"]["amount_cents"] == 150_000  # half of EUR 3,000 at the start
    voided = _signed(alfa, alfa.post("/api/v1/ledger/placements", _placement(two)))
    back = _signed(
        bravo,
        bravo.post(
            "/api/v1/ledger/placements",
            _placement(three, counterparty="alfa", contract_type="vast", hours_per_week=32),
        ),
    )
    assert back["entry"]["amount_cents"] == 225_000  # half of EUR 4,500
    onward = _signed(
        bravo, bravo.post("/api/v1/ledger/placements", _placement(four, counterparty="charlie"))
    )
    assert all(r["status"] == "countersigned" for r in (placed, voided, back, onward))
    retained = _signed(
        bravo,
        bravo.post(
            "/api/v1/ledger/events",
            {"refers_to": placed["entry_id"], "type": "placement.retained", "reason": "duurzaam"},
        ),
    )
    assert retained["entry"]["amount_cents"] == 150_000, retained
    gone = _signed(
        alfa,
        alfa.post(
            "/api/v1/ledger/events",
            {"refers_to": voided["entry_id"], "type": "placement.voided", "reason": "niet gestart"},
        ),
    )
    assert gone["status"] == "countersigned", gone
    licence = _signed(
        bravo,
        bravo.post(
            "/api/v1/ledger/licences",
            {
                "counterparty": "alfa",
                "method": "baanbrekers-training",
                "participants": 2,
                "reference": "cursus-7",
            },
        ),
    )
    assert (licence["status"], licence["entry"]["amount_cents"]) == ("countersigned", 25_000)
    handover = _signed(
        alfa,
        alfa.post(
            "/api/v1/ledger/handovers",
            {
                "counterparty": "charlie",
                "direction": "we_hand_over",
                "reference": "overdracht-1",
                "client_id": "c9",
                "handed_over_on": "2026-11-02",
            },
        ),
    )
    assert (handover["status"], handover["entry"]["amount_cents"]) == ("countersigned", 50_000)

    at_alfa, at_bravo = _settle_view(alfa, "bravo"), _settle_view(bravo, "alfa")
    assert at_alfa["statement_sha256"] == at_bravo["statement_sha256"]
    assert at_alfa["payable"]["amount_cents"] == 300_000  # start + retention of placement 1
    assert at_alfa["receivable"]["amount_cents"] == 225_000 + 25_000  # placement, licence
    assert at_alfa["payable"]["vat_cents"] == 63_000  # 21 %
    assert [x["state"] for x in at_alfa["excluded"]] == ["voided"]
    assert at_alfa["net"]["total_cents"] == -(50_000 + 10_500)
    assert (
        _settle_view(bravo, "charlie")["statement_sha256"]
        == (_settle_view(charlie, "bravo")["statement_sha256"])
    )
    early = httpx.post(
        f"{alfa.url}/api/v1/settlements/2026-Q4/close", headers=alfa.headers, timeout=30
    )
    assert early.status_code == 422
    assert "once it is over" in early.text

    # Forty days on, 2026-Q4 is over: the bureaus close it and net the federation.
    for node in federation.values():
        node.stop()
        node.env["TOPMATCH_CLOCK_OFFSET_DAYS"] = "40"
        node.start()
    closed = [_signed(alfa, r) for r in alfa.post("/api/v1/settlements/2026-Q4/close")]
    assert [r["status"] for r in closed] == ["countersigned", "countersigned"], closed
    closing = next(r["entry"] for r in closed if r["entry"]["payee"] == "bravo")
    assert (closing["payer"], closing["payee"], closing["amount_cents"]) == (
        "alfa",
        "bravo",
        60_500,
    )
    assert closing["statement_sha256"] == at_alfa["statement_sha256"]
    assert [
        _signed(bravo, r)["status"] for r in bravo.post("/api/v1/settlements/2026-Q4/close")
    ] == ["countersigned"]  # only charlie was left: alfa already closed with bravo
    nettings = [node.get("/api/v1/settlements/2026-Q4/netting") for node in federation.values()]
    assert len({n["proposal_sha256"] for n in nettings}) == 1
    proposal = nettings[0]["proposal"]
    assert len(proposal["based_on"]) == 3
    net = {p["node"]: p["net_cents"] for p in proposal["positions"]}
    assert sum(net.values()) == 0
    assert len(proposal["payments"]) <= 2  # three bureaus: at most two transfers
    assert proposal["moved_cents"] <= proposal["gross_cents"]

    _check_exports(alfa)
    # the statement of a closed period does not change
    assert _settle_view(alfa, "bravo")["statement_sha256"] == at_alfa["statement_sha256"]


def _check_exports(alfa: Node) -> None:
    csv_text = httpx.get(
        f"{alfa.url}/api/v1/settlements/2026-Q4/export.csv",
        headers=alfa.headers,
        params={"decimal_comma": "true"},
        timeout=30,
    ).text
    assert csv_text.splitlines()[0].startswith("periode;regel;datum")
    assert "1500,00" in csv_text
    html = httpx.get(
        f"{alfa.url}/api/v1/settlements/2026-Q4/statements/bravo.html",
        headers=alfa.headers,
        timeout=30,
    ).text
    assert "Bureau bravo" in html
    assert "Betaling na verrekening over alle bureaus" in html
    journal = alfa.data_dir / "2026-Q4.beancount"
    journal.write_bytes(
        httpx.get(
            f"{alfa.url}/api/v1/settlements/2026-Q4/export.beancount",
            headers=alfa.headers,
            timeout=30,
        ).content
    )
    checked = subprocess.run(
        [str(Path(sys.executable).with_name("bean-check")), str(journal)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
