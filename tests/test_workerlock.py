"""One sync worker per node database: the worker lock, its takeover, and `topmatch worker`.

Run on SQLite (a lock file) and, when TOPMATCH_TEST_DATABASE_URL is set, on PostgreSQL
(an advisory lock): the tests take the lock through the same ``worker_lock``.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from tests.factories import FrozenClock
from topmatch import app as app_module
from topmatch import worker as worker_module
from topmatch import workerlock
from topmatch.cli import main
from topmatch.cli.ops import run_worker
from topmatch.federation.models import PeerSyncState
from topmatch.settings import Settings, load_settings

HOLDER = """
import sys, time
from sqlalchemy import create_engine
from topmatch import workerlock
url = sys.argv[1]
lock = workerlock.worker_lock(create_engine(url), url)
assert lock.acquire()
print("held", flush=True)
time.sleep(600)
"""


@pytest.fixture
def locks(engine: Engine, database_url: str) -> Iterator[list[workerlock.WorkerLock]]:
    made: list[workerlock.WorkerLock] = []
    yield made
    for lock in made:
        lock.release()


def _lock(engine: Engine, url: str, made: list[workerlock.WorkerLock]) -> workerlock.WorkerLock:
    lock = workerlock.worker_lock(engine, url)
    made.append(lock)
    return lock


def test_one_holder_at_a_time_and_the_other_takes_over_after_release(
    engine: Engine, database_url: str, locks: list[workerlock.WorkerLock]
) -> None:
    first, second = _lock(engine, database_url, locks), _lock(engine, database_url, locks)
    assert first.acquire()
    assert first.acquire()  # already ours: still ours
    assert not second.acquire()  # waits: serves requests only
    assert first.held()
    assert not second.held()
    first.release()
    assert not first.held()
    assert second.acquire()  # takes over
    assert not first.acquire()
    second.release()


def test_a_holder_that_dies_is_replaced(
    engine: Engine, database_url: str, locks: list[workerlock.WorkerLock]
) -> None:
    src = str(Path(__file__).resolve().parent.parent / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, database_url], stdout=subprocess.PIPE, env=env
    )
    with holder:
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == b"held"
            mine = _lock(engine, database_url, locks)
            assert not mine.acquire()
        finally:
            holder.kill()  # our own child: dies holding the lock
        holder.wait(timeout=30)
    # The kernel (flock) or the server (a closed session) frees the lock; PostgreSQL may
    # take a moment to notice the connection is gone.
    for _ in range(300):
        if mine.acquire():
            break
        time.sleep(0.1)
    assert mine.held()


def test_the_sqlite_lock_file_lies_next_to_the_database() -> None:
    assert workerlock.lock_file_for("sqlite:////var/lib/topmatch/topmatch.db") == (
        Path("/var/lib/topmatch/topmatch.db.worker-lock")
    )


# --- only the holder runs the worker --------------------------------------------------


def _stub_node(interval: float) -> worker_module.Node:
    node: worker_module.Node = SimpleNamespace(  # type: ignore[assignment] - only settings is read
        settings=SimpleNamespace(sync_interval_seconds=interval)
    )
    return node


async def _until(condition: object, what: str) -> None:
    for _ in range(3000):  # generous: the test ends by itself either way
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


def test_only_the_process_holding_the_lock_runs_the_worker_and_another_takes_over(
    engine: Engine,
    database_url: str,
    locks: list[workerlock.WorkerLock],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rounds: dict[str, int] = {"a": 0, "b": 0}
    nodes = {"a": _stub_node(0.01), "b": _stub_node(0.01)}

    async def counted(node: worker_module.Node) -> None:
        name = next(k for k, v in nodes.items() if v is node)
        rounds[name] += 1

    monkeypatch.setattr(worker_module, "sync_round", counted)

    supervise = worker_module.supervise_worker

    async def scenario() -> None:
        stop_a, stop_b = asyncio.Event(), asyncio.Event()
        lock_a, lock_b = _lock(engine, database_url, locks), _lock(engine, database_url, locks)
        a = asyncio.create_task(supervise(nodes["a"], lock_a, stop_a, retry=0.01))
        await _until(lambda: rounds["a"] >= 1, "a runs the worker")
        b = asyncio.create_task(supervise(nodes["b"], lock_b, stop_b, retry=0.01))
        start = rounds["a"]
        await _until(lambda: rounds["a"] >= start + 20, "a keeps running rounds")
        assert rounds["b"] == 0  # b only tried the lock
        stop_a.set()
        await a  # a ends its round and releases the lock
        await _until(lambda: rounds["b"] >= 1, "b takes over")
        stop_b.set()
        await b

    asyncio.run(asyncio.wait_for(scenario(), timeout=120))


# --- run_worker = never, and `topmatch worker` ----------------------------------------


def _node_settings(settings: Settings, **overrides: object) -> Settings:
    return load_settings(
        data_dir=settings.data_dir, database_url=settings.database_url, **overrides
    )


def test_a_serve_process_with_run_worker_never_leaves_the_lock_alone(
    settings: Settings,
    engine: Engine,
    clock: FrozenClock,
    database_url: str,
    locks: list[workerlock.WorkerLock],
) -> None:
    never = _node_settings(settings, sync_interval_seconds=0.01, run_worker="never")
    with TestClient(app_module.create_app(never, clock=clock, migrate=False)) as client:
        assert client.get("/healthz").status_code == 200
        assert _lock(engine, database_url, locks).acquire()  # nobody else holds it


def test_topmatch_worker_runs_the_rounds_without_http(
    settings: Settings, engine: Engine, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    stop = asyncio.Event()
    real_round = worker_module.sync_round

    async def once(node: worker_module.Node) -> None:
        await real_round(node)
        stop.set()

    monkeypatch.setattr(worker_module, "sync_round", once)
    worker = _node_settings(settings, sync_interval_seconds=30)
    application = app_module.create_app(worker, clock=clock, migrate=False)
    asyncio.run(asyncio.wait_for(run_worker(application, stop), timeout=120))
    with Session(engine) as session:  # the round mirrored our own feed
        assert session.get(PeerSyncState, "baanbrekers") is not None


def test_topmatch_worker_refuses_without_a_sync_interval(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TOPMATCH_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TOPMATCH_SYNC_INTERVAL_SECONDS", "0")
    assert main(["worker"]) == 1
    assert "no worker to run" in capsys.readouterr().err
