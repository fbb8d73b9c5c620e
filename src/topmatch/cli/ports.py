"""Is a TCP port on 127.0.0.1 free, and if not, which process holds it?

Used by ``topmatch demo`` before it wipes or starts anything. The holder is looked up in
Linux's ``/proc`` (``/proc/net/tcp`` and ``tcp6`` give the listening socket's inode,
``/proc/<pid>/fd`` the process that holds it); elsewhere, or for another user's process,
the holder is simply unknown.
"""

from __future__ import annotations

import errno
import os
import socket
from dataclasses import dataclass
from pathlib import Path

LISTEN = "0A"  # TCP state LISTEN in /proc/net/tcp (include/net/tcp_states.h)


@dataclass(frozen=True)
class Holder:
    pid: int
    command: str

    def __str__(self) -> str:
        return f"proces {self.pid} ({self.command})"


def is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on ``host:port`` now (as uvicorn does: SO_REUSEADDR,
    so connections in TIME_WAIT from an earlier run do not count as taken)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as e:
            if e.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def holder(port: int, proc: Path = Path("/proc")) -> Holder | None:
    """The process listening on ``port``, when this user may see it; else ``None``."""
    inodes = _listening_inodes(port, proc)
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for fd_dir in proc.glob("[0-9]*/fd"):
        if wanted & _links(fd_dir):
            return Holder(int(fd_dir.parent.name), _command(fd_dir.parent))
    return None


def _links(fd_dir: Path) -> set[str]:
    """What a process's file descriptors point at; empty for another user's process."""
    try:
        fds = list(fd_dir.iterdir())
    except OSError:
        return set()
    links = set()
    for fd in fds:
        try:
            links.add(os.readlink(fd))
        except OSError:  # closed meanwhile (the listing's own descriptor, for one)
            continue
    return links


def _listening_inodes(port: int, proc: Path) -> set[str]:
    inodes: set[str] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (proc / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == LISTEN and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    return inodes


def _command(process_dir: Path) -> str:
    try:
        raw = (process_dir / "cmdline").read_bytes()
    except OSError:
        return "?"
    words = [w.decode(errors="replace") for w in raw.split(b"\0") if w]
    return " ".join(" ".join(words).split())[:200] or "?"
