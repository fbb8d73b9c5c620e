"""``GET /metrics``: request counts by route template, gauges read from the database at
scrape time, refused federation requests by reason, the optional bearer token, and the
multiprocess mode for several workers."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from prometheus_client import values
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from tests.factories import FrozenClock, client_data
from tests.fednodes import FakePeer
from tests.test_serve import free_port, wait_healthy
from topmatch import db
from topmatch.api.metrics import DatabaseCollector, Metrics
from topmatch.app import create_app
from topmatch.errors import ConfigurationError
from topmatch.federation.models import PeerSyncState
from topmatch.federation.peers import PeerRegistry
from topmatch.ledger.models import LedgerEntry, WitnessAlarm
from topmatch.settings import Settings, load_settings

Headers = dict[str, str]
TOKEN = "s3cret-metrics-token-0123456789"


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(update={"peers_dir": tmp_path / "peers"})


def scrape(client: TestClient, headers: Headers | None = None) -> str:
    response = client.get("/metrics", headers=headers or {})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def value(text: str, name: str, **labels: str) -> float | None:
    """The value of the one sample ``name{labels}`` (other labels ignored), or None."""
    found = [
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    ]
    assert len(found) <= 1, f"{name}{labels} is ambiguous: {found}"
    return found[0] if found else None


def test_requests_are_counted_by_route_template_never_by_path(
    client: TestClient, consultant: Headers
) -> None:
    created = client.post("/api/v1/clients", json=client_data(), headers=consultant)
    assert created.status_code == 201, created.text
    client_id = created.json()["id"]
    assert client.get(f"/api/v1/clients/{client_id}", headers=consultant).status_code == 200
    assert client.get(f"/api/v1/clients/{client_id}", headers=consultant).status_code == 200
    assert client.get("/api/v1/clients/no-such-client", headers=consultant).status_code == 404
    assert client.get("/no/such/path/111222333").status_code == 404

    text = scrape(client)
    route = "/api/v1/clients/{client_id}"
    total = "topmatch_http_requests_total"
    assert value(text, total, method="GET", route=route, status="200") == 2
    assert value(text, total, method="GET", route=route, status="404") == 1
    assert value(text, total, method="POST", route="/api/v1/clients", status="201") == 1
    assert value(text, total, method="GET", route="unmatched", status="404") == 1
    count = "topmatch_http_request_duration_seconds_count"
    assert value(text, count, method="GET", route=route, status="200") == 2
    for raw in (client_id, "no-such-client", "111222333", "/no/such/path"):
        assert raw not in text


def test_database_gauges_are_read_at_each_scrape(
    client: TestClient, engine: Engine, clock: FrozenClock
) -> None:
    text = scrape(client)
    assert value(text, "topmatch_ledger_entries") == 0
    assert value(text, "topmatch_witness_alarms") == 0
    assert value(text, "topmatch_database_up") == 1
    with db.transaction(engine) as session:
        session.add(
            LedgerEntry(
                seq=0,
                entry_id="e" * 64,
                type="placement.started",
                payer="werkpad",
                payee="baanbrekers",
                amount_cents=150_000,
                at=clock(),
                canonical=b"{}",
                leaf_hash="0" * 64,
                appended_at=clock(),
            )
        )
        session.add(
            WitnessAlarm(
                node_id="werkpad",
                kind="rollback",
                detail="checkpoint went from size 5 to 3",
                evidence=b"",
                raised_at=clock(),
            )
        )
    text = scrape(client)
    assert value(text, "topmatch_ledger_entries") == 1
    assert value(text, "topmatch_witness_alarms") == 1


def test_sync_lag_per_active_peer_comes_from_its_sync_state(
    client: TestClient, engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    FakePeer.make("werkpad", clock()).install(settings.peers_dir)
    text = scrape(client)
    assert value(text, "topmatch_peer_sync_lag_seconds", peer="werkpad") is None
    assert value(text, "topmatch_peer_sync_failures", peer="werkpad") == 0
    with db.transaction(engine) as session:
        session.add(
            PeerSyncState(
                node_id="werkpad",
                last_success_at=clock() - timedelta(seconds=90),
                failures=2,
            )
        )
        # A peer no longer in the registry: its lag would grow for ever, so it is left out.
        session.add(PeerSyncState(node_id="vertrokken", last_success_at=clock()))
    text = scrape(client)
    assert value(text, "topmatch_peer_sync_lag_seconds", peer="werkpad") == 90
    assert value(text, "topmatch_peer_sync_failures", peer="werkpad") == 2
    assert "vertrokken" not in text
    clock.advance(seconds=30)
    assert value(scrape(client), "topmatch_peer_sync_lag_seconds", peer="werkpad") == 120


def test_refused_federation_requests_are_counted_by_reason(
    client: TestClient, clock: FrozenClock, settings: Settings
) -> None:
    FakePeer.make("werkpad", clock()).install(settings.peers_dir)
    for _ in range(2):
        assert client.get("/federation/v1/feed?after=0").status_code == 401
    garbled = {"Signature-Input": "sig1=(", "Signature": "sig1=:AAAA:"}
    assert client.get("/federation/v1/feed", headers=garbled).status_code == 401

    text = scrape(client)
    errors = "topmatch_federation_errors_total"
    assert value(text, errors, direction="inbound", reason="missing_signature") == 2
    assert value(text, errors, direction="inbound", reason="malformed_signature") == 1


def test_refusals_outside_federation_are_not_federation_errors(client: TestClient) -> None:
    assert client.get("/api/v1/me").status_code == 401
    assert "topmatch_federation_errors_total{" not in scrape(client)


@respx.mock
def test_failed_calls_to_peers_in_a_ledger_round_are_counted(
    client: TestClient, clock: FrozenClock, settings: Settings, admin: Headers
) -> None:
    FakePeer.make("werkpad", clock()).install(settings.peers_dir)
    respx.route(host="werkpad.test").respond(503)
    response = client.post("/api/v1/ledger/round", headers=admin)
    assert response.status_code == 200, response.text
    assert [r["ok"] for r in response.json()] == [False]

    text = scrape(client)
    errors = "topmatch_federation_errors_total"
    assert value(text, errors, direction="outbound", reason="witness") == 1
    assert value(text, errors, direction="outbound", reason="fee_agreements") == 1


def test_a_metrics_token_is_required_when_set(
    settings: Settings, engine: Engine, clock: FrozenClock
) -> None:
    protected = load_settings(
        data_dir=settings.data_dir,
        database_url=settings.database_url,
        sync_interval_seconds=0,
        metrics_token=TOKEN,
    )
    with TestClient(create_app(protected, clock=clock, migrate=False)) as client:
        refused = client.get("/metrics")
        assert refused.status_code == 401
        assert refused.json()["code"] == "unauthenticated"
        assert refused.headers["www-authenticate"] == "Bearer"
        wrong = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}x"})
        assert wrong.status_code == 401
        text = scrape(client, {"Authorization": f"Bearer {TOKEN}"})
        assert value(text, "topmatch_http_requests_total", route="/metrics", status="401") == 2


def test_a_short_metrics_token_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="TOPMATCH_METRICS_TOKEN"):
        load_settings(data_dir=tmp_path, metrics_token="short")


def test_an_unreadable_database_is_reported_not_raised(tmp_path: Path, clock: FrozenClock) -> None:
    peers = PeerRegistry(tmp_path, own_node_id="x")
    broken = db.make_engine(f"sqlite:///{tmp_path / 'missing' / 'topmatch.db'}")
    try:
        for engine in (None, broken):
            collector = DatabaseCollector(engine=lambda e=engine: e, clock=clock, peers=peers)
            families = list(collector.collect())
            assert [(f.name, [s.value for s in f.samples]) for f in families] == [
                ("topmatch_database_up", [0])
            ]
    finally:
        broken.dispose()


@pytest.fixture
def multiprocess_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "prometheus"
    folder.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    saved = values.ValueClass
    yield folder
    values.ValueClass = saved
    values.close_all_multiprocess_files()


def test_several_workers_are_summed_in_multiprocess_mode(
    multiprocess_dir: Path, engine: Engine, clock: FrozenClock, tmp_path: Path
) -> None:
    """Two workers (process ids 101 and 102) share the folder; either one's scrape shows
    the requests of both, and the database gauges once."""
    workers = []
    for pid in (101, 102):
        # What prometheus_client chooses at import when the variable is set, per process.
        values.ValueClass = values.MultiProcessValue(lambda pid=pid: pid)  # type: ignore[misc]
        database = DatabaseCollector(
            engine=lambda: engine, clock=clock, peers=PeerRegistry(tmp_path, own_node_id="x")
        )
        worker = Metrics(database=database)
        assert worker.multiprocess
        worker.observe(method="GET", route="/healthz", status=200, seconds=0.01)
        workers.append(worker)
    workers[0].refused("replayed_nonce")

    body, content_type = workers[1].exposition(None)
    text = body.decode()
    assert content_type.startswith("text/plain")
    total = "topmatch_http_requests_total"
    assert value(text, total, method="GET", route="/healthz", status="200") == 2
    errors = "topmatch_federation_errors_total"
    assert value(text, errors, direction="inbound", reason="replayed_nonce") == 1
    assert value(text, "topmatch_ledger_entries") == 0
    assert sorted(p.name for p in multiprocess_dir.iterdir()) == [
        "counter_101.db",
        "counter_102.db",
        "histogram_101.db",
        "histogram_102.db",
    ]


@pytest.mark.slow
def test_uvicorn_workers_share_counts_through_the_multiprocess_folder(
    tmp_path: Path, database_url: str, engine: Engine
) -> None:
    """Two real uvicorn workers: whichever answers a scrape counts every worker's requests."""
    folder = tmp_path / "prometheus"
    folder.mkdir()
    env = {
        **os.environ,
        "TOPMATCH_DATA_DIR": str(tmp_path / "node"),
        "TOPMATCH_DATABASE_URL": database_url,
        "TOPMATCH_SYNC_INTERVAL_SECONDS": "0",
        "PROMETHEUS_MULTIPROC_DIR": str(folder),
    }
    init = ["init", "--node-id", "werkpad", "--name", "Werkpad", "--url", "http://127.0.0.1:1"]
    subprocess.run(
        [sys.executable, "-m", "topmatch", *init], env=env, check=True, capture_output=True
    )
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "--factory", "topmatch.app:app_from_env"]
    argv += ["--port", str(port), "--workers", "2"]
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process)
        sent = 0
        # New connections until both workers have served one (each then has its own file).
        while sent < 20 or (len(_pids(folder)) < 2 and sent < 500):
            assert httpx.get(f"{url}/api/v1/me").status_code == 401
            sent += 1
        scrapes = [httpx.get(f"{url}/metrics").text for _ in range(4)]
    finally:
        process.terminate()
        process.wait(timeout=20)
    assert len(_pids(folder)) == 2
    for text in scrapes:
        total = "topmatch_http_requests_total"
        assert value(text, total, method="GET", route="/api/v1/me", status="401") == sent
        assert value(text, "topmatch_ledger_entries") == 0


def _pids(folder: Path) -> set[str]:
    return {p.stem.rsplit("_", 1)[1] for p in folder.glob("counter_*.db")}
