"""Log output: one JSON object per line with the expected keys, the access line written
with the route template, and no name or BSN in any line, whatever the client sends."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.factories import BSNS, FrozenClock, client_data
from tests.test_serve import free_port, wait_healthy
from topmatch import logs
from topmatch.app import create_app
from topmatch.cli import main
from topmatch.settings import Settings

Headers = dict[str, str]
RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
# A client whose name and BSN a mistaken caller puts everywhere it can.
CANARY_NAME = "Zwanette"
CANARY_SURNAME = "Kwakkelsteijn"
CANARY_BSN = BSNS[1]
CANARIES = (CANARY_NAME, CANARY_SURNAME, CANARY_BSN)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure() changes process-wide loggers; put them back after the test."""
    names = [
        "",
        "uvicorn",
        "uvicorn.error",
        "uvicorn.asgi",
        "uvicorn.access",
        "httpx",
        "httpx2",
        "httpcore",
    ]
    saved = {n: (list(logging.getLogger(n).handlers), logging.getLogger(n).level) for n in names}
    propagate = {n: logging.getLogger(n).propagate for n in names}
    yield
    for name, (handlers, level) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate[name]


def configured(settings: Settings, log_format: str) -> tuple[Settings, io.StringIO]:
    chosen = settings.model_copy(update={"log_format": log_format})
    out = io.StringIO()
    logs.configure(chosen, stream=out)
    return chosen, out


def lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def access_lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [r for r in lines(out) if r["logger"] == "topmatch.access"]


@pytest.mark.usefixtures("restore_logging", "engine")
def test_json_lines_carry_time_level_logger_message_and_request_fields(
    settings: Settings, clock: FrozenClock, consultant: Headers
) -> None:
    chosen, out = configured(settings, "json")
    with TestClient(create_app(chosen, clock=clock, migrate=False)) as client:
        created = client.post("/api/v1/clients", json=client_data(), headers=consultant)
        client_id = created.json()["id"]
        response = client.get(f"/api/v1/clients/{client_id}", headers=consultant)
        logging.getLogger("topmatch.test").warning("outside any request")

    records = lines(out)
    access = access_lines(out)
    assert [(r["method"], r["route"], r["status"]) for r in access] == [
        ("POST", "/api/v1/clients", 201),
        ("GET", "/api/v1/clients/{client_id}", 200),
    ]
    read = access[1]
    assert list(read)[:4] == ["time", "level", "logger", "message"]
    assert RFC3339_UTC.match(read["time"])
    assert read["level"] == "INFO"
    assert read["message"].startswith("GET /api/v1/clients/{client_id} 200 ")
    assert isinstance(read["duration_ms"], float)
    assert read["request_id"] == response.headers["x-request-id"]
    assert client_id not in out.getvalue()
    plain = next(r for r in records if r["logger"] == "topmatch.test")
    assert plain["message"] == "outside any request"
    assert "request_id" not in plain


@pytest.mark.usefixtures("restore_logging", "engine")
def test_no_name_or_bsn_reaches_the_log(
    settings: Settings, clock: FrozenClock, consultant: Headers
) -> None:
    chosen, out = configured(settings, "json")
    logging.getLogger().setLevel(logging.DEBUG)  # the quiet lines too
    query = {"q": f"{CANARY_NAME} {CANARY_SURNAME}", "bsn": CANARY_BSN}
    person = client_data(first_name=CANARY_NAME, last_name=CANARY_SURNAME, bsn=CANARY_BSN)
    with TestClient(create_app(chosen, clock=clock, migrate=False)) as client:
        assert client.post("/api/v1/clients", json=person, headers=consultant).status_code == 201
        client.get("/api/v1/clients", params=query, headers=consultant)
        client.get(f"/api/v1/clients/{CANARY_BSN}", params=query, headers=consultant)
        client.post("/api/v1/clients/lookup", json={"bsn": CANARY_BSN}, headers=consultant)
        invalid = client.post(
            "/api/v1/clients", json={**person, "bsn": CANARY_BSN + "0"}, headers=consultant
        )
        assert invalid.status_code == 422
        client.get("/federation/v1/feed", params=query)  # refused: unsigned
        client.get("/healthz", params=query, headers={"X-Request-ID": CANARY_BSN})
        client.get("/no/such/page", params=query)

    text = out.getvalue()
    assert len(access_lines(out)) == 8
    for canary in CANARIES:
        assert canary not in text
    assert "?" not in "".join(r["route"] for r in access_lines(out))


@pytest.mark.usefixtures("restore_logging", "engine")
def test_text_format_writes_the_same_access_line(
    settings: Settings, clock: FrozenClock, consultant: Headers
) -> None:
    chosen, out = configured(settings, "text")
    with TestClient(create_app(chosen, clock=clock, migrate=False)) as client:
        client.get("/api/v1/me", params={"q": CANARY_NAME}, headers=consultant)
    assert re.search(r" INFO topmatch\.access: GET /api/v1/me 200 [\d.]+ ms$", out.getvalue(), re.M)
    assert CANARY_NAME not in out.getvalue()


@pytest.mark.usefixtures("restore_logging")
def test_configure_routes_uvicorn_through_one_handler_and_silences_its_access_log(
    settings: Settings,
) -> None:
    configured(settings, "json")
    configured(settings, "json")  # twice: still one handler of ours
    ours = [h for h in logging.getLogger().handlers if h.get_name() == "topmatch"]
    assert len(ours) == 1
    assert not logging.getLogger("uvicorn.access").hasHandlers()
    assert logging.getLogger("uvicorn.error").propagate


@pytest.mark.usefixtures("engine")
def test_a_request_id_from_the_proxy_is_kept_only_in_a_safe_form(client: TestClient) -> None:
    forwarded = "7f3c2a90d1e84b5c9a6f0e2d4b8c1a37"
    assert (
        client.get("/healthz", headers={"X-Request-ID": forwarded}).headers["x-request-id"]
        == forwarded
    )
    replaced = client.get("/healthz", headers={"X-Request-ID": "Jan de Vries"})
    assert replaced.headers["x-request-id"] != "Jan de Vries"
    assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["x-request-id"])


# --- a real node -------------------------------------------------------------------------


@pytest.fixture
def node_env(tmp_path: Path, database_url: str, engine: Engine) -> dict[str, str]:
    env = {
        **os.environ,
        "TOPMATCH_DATA_DIR": str(tmp_path / "node"),
        "TOPMATCH_DATABASE_URL": database_url,
        "TOPMATCH_LOG_FORMAT": "json",
        "TOPMATCH_SYNC_INTERVAL_SECONDS": "0",
    }
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        argv = ["init", "--node-id", "werkpad", "--name", "Werkpad", "--url", "http://127.0.0.1:1"]
        assert main(argv) == 0
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return env


@pytest.mark.slow
@pytest.mark.parametrize("entry", ["serve", "uvicorn-factory"])
def test_a_served_node_logs_json_lines_without_query_strings(
    node_env: dict[str, str], entry: str
) -> None:
    port = free_port()
    argv = {
        "serve": [sys.executable, "-m", "topmatch", "serve", "--port", str(port)],
        "uvicorn-factory": [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "topmatch.app:app_from_env",
            "--port",
            str(port),
        ],
    }[entry]
    process = subprocess.Popen(
        argv, env=node_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, process)
        query = {"q": CANARY_SURNAME, "bsn": CANARY_BSN}
        assert httpx.get(f"{url}/api/v1/clients", params=query).status_code == 401
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=20)
    records = [json.loads(line) for line in stderr.splitlines()]
    assert {"uvicorn.error", "topmatch.access"} <= {r["logger"] for r in records}
    assert not [r for r in records if r["logger"] == "uvicorn.access"]
    access = [r for r in records if r["logger"] == "topmatch.access" and r["status"] == 401]
    assert [(r["method"], r["route"]) for r in access] == [("GET", "/api/v1/clients")]
    for canary in CANARIES:
        assert canary not in stderr
