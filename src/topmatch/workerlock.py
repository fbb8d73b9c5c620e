"""One sync worker per node database: a lock that exactly one process holds.

Several processes may serve one database (``uvicorn --workers 4``), but the sync worker
(publishing, feed pulls, the ledger round) must run in one of them only. Whoever holds
this lock runs it; the others serve requests and try again now and then, so that when
the holder dies another process takes over.

- **PostgreSQL**: a session-level advisory lock (``pg_try_advisory_lock``) on a
  connection of its own, held for as long as the worker runs. The server releases it
  when that connection ends, also when the process is killed.
- **SQLite**: an exclusive ``flock`` on a lock file next to the database file
  (``topmatch.db.worker-lock``). The kernel releases it when the process ends.

``acquire`` never blocks: it says whether this process holds the lock now.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger("topmatch.worker")

#: the advisory lock's key: fixed, the same in every process and every version
ADVISORY_KEY = 0x2F0B_5E37_1C4D_6A81
LOCK_SUFFIX = ".worker-lock"


class WorkerLock(Protocol):
    def acquire(self) -> bool:
        """Take the lock if it is free (or already ours); True if this process holds it."""

    def held(self) -> bool:
        """Whether this process still holds the lock (a lost connection loses it)."""

    def release(self) -> None:
        """Give the lock up (nothing happens if it is not held)."""

    def describe(self) -> str:
        """What is locked, for the logs."""


class FileLock:
    """An exclusive ``flock`` on one file (SQLite)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # another process holds it
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def describe(self) -> str:
        return f"lock file {self.path}"


class AdvisoryLock:
    """A PostgreSQL session-level advisory lock on a connection of its own."""

    def __init__(self, engine: Engine, key: int = ADVISORY_KEY) -> None:
        self.engine = engine
        self.key = key
        self._connection: Connection | None = None

    def acquire(self) -> bool:
        if self._connection is not None:
            return self.held()
        try:
            connection = self.engine.connect()
        except SQLAlchemyError as e:
            log.warning("worker lock: cannot connect to the database: %s", type(e).__name__)
            return False
        try:
            got = bool(
                connection.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
                ).scalar()
            )
            connection.commit()  # the lock belongs to the session, not the transaction
        except SQLAlchemyError as e:
            log.warning("worker lock: %s", type(e).__name__)
            got = False
        if not got:
            connection.close()
            return False
        self._connection = connection
        return True

    def held(self) -> bool:
        if self._connection is None:
            return False
        try:
            self._connection.execute(text("SELECT 1"))
            self._connection.commit()
        except SQLAlchemyError:  # the connection is gone, and the lock with it
            self._drop()
            return False
        return True

    def release(self) -> None:
        if self._connection is None:
            return
        with contextlib.suppress(SQLAlchemyError):
            self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            self._connection.commit()
        self._drop()

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(SQLAlchemyError):
                connection.close()

    def describe(self) -> str:
        return f"PostgreSQL advisory lock {self.key}"


def lock_file_for(database_url: str) -> Path:
    """Where the SQLite lock file goes: next to the database file (in the working
    directory for an in-memory database)."""
    database = make_url(database_url).database
    if not database or database == ":memory:":
        return Path(f"topmatch-memory{LOCK_SUFFIX}")
    return Path(database + LOCK_SUFFIX)


def worker_lock(engine: Engine, database_url: str) -> WorkerLock:
    """The right lock for the node's database."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine)
    return FileLock(lock_file_for(database_url))
