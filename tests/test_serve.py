"""A real node: `topmatch serve` in its own process, spoken to over loopback HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from tests.factories import client_data
from topmatch.cli import main

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"node exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"node at {url} not healthy within {timeout}s")


@pytest.fixture
def node_env(tmp_path: Path, database_url: str, engine: Engine) -> dict[str, str]:
    env = {
        **os.environ,
        "TOPMATCH_DATA_DIR": str(tmp_path / "node"),
        "TOPMATCH_DATABASE_URL": database_url,
    }
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        assert (
            main(
                ["init", "--node-id", "werkpad", "--name", "Werkpad", "--url", "http://127.0.0.1:1"]
            )
            == 0
        )
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return env


def _start(argv: list[str], env: dict[str, str], port: int) -> Iterator[str]:
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def served(node_env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    yield from _start(
        [sys.executable, "-m", "topmatch", "serve", "--port", str(port)], node_env, port
    )


def _token(env: dict[str, str]) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "topmatch", "users", "add", "anna", "--role", "consultant"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


def test_served_node_stores_and_returns_a_client(served: str, node_env: dict[str, str]) -> None:
    health = httpx.get(f"{served}/healthz").json()
    assert health["node_id"] == "werkpad"
    headers = {"Authorization": f"Bearer {_token(node_env)}"}
    created = httpx.post(f"{served}/api/v1/clients", json=client_data(), headers=headers)
    assert created.status_code == 201, created.text
    listed = httpx.get(f"{served}/api/v1/clients", headers=headers).json()
    assert listed["total"] == 1
    assert httpx.get(f"{served}/docs").status_code == 200


def test_uvicorn_factory_entry_point(node_env: dict[str, str]) -> None:
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "topmatch.app:app_from_env",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    for url in _start(argv, node_env, port):
        assert httpx.get(f"{url}/healthz").json()["status"] == "ok"


def test_serve_without_init_fails_with_a_message(tmp_path: Path) -> None:
    env = {**os.environ, "TOPMATCH_DATA_DIR": str(tmp_path / "empty")}
    result = subprocess.run(
        [sys.executable, "-m", "topmatch", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "topmatch init" in result.stderr


def test_serve_listens_on_the_port_of_the_nodes_own_url(
    tmp_path: Path, database_url: str, engine: Engine
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "TOPMATCH_DATA_DIR": str(tmp_path / "node"),
        "TOPMATCH_DATABASE_URL": database_url,
    }
    for name in ("TOPMATCH_PORT", "TOPMATCH_HOST"):
        env.pop(name, None)
    url = f"http://127.0.0.1:{port}"
    init = [sys.executable, "-m", "topmatch", "init", "--node-id", "werkpad", "--name", "W"]
    subprocess.run([*init, "--url", url], env=env, check=True, capture_output=True, timeout=60)
    process = subprocess.Popen(
        [sys.executable, "-m", "topmatch", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        wait_healthy(url, process)
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert f"Topmatch-node werkpad luistert op {url}" in output
