"""``topmatch backup`` and ``topmatch restore``: a whole node (database, keys, secrets,
descriptor, config, peers) in one archive, and back (docs/operations.md, "Backup and
restore"); ``topmatch worker``: the sync worker without HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path
from typing import Annotated

import typer
from fastapi import FastAPI
from rich.markup import escape
from sqlalchemy import func
from sqlmodel import select

from topmatch import backup, logs
from topmatch.app import create_app
from topmatch.cli import _session, app, out, state
from topmatch.cli.formats import count, local_time
from topmatch.clock import system_clock
from topmatch.errors import ConfigurationError
from topmatch.ledger.models import LedgerEntry

STORAGE_WARNING = (
    "This archive holds the node's private keys and the card-box secret, which decrypts "
    "every stored BSN: store it encrypted (e.g. with age or gpg), never next to the node. "
    "The key passphrase is not in it: keep that apart."
)


@app.command("backup")
def backup_cmd(
    out_file: Annotated[Path, typer.Option("--out", help="The archive to write (.tar.gz).")],
    force: Annotated[bool, typer.Option(help="Replace an existing archive.")] = False,
) -> None:
    """Write the database, keys, secrets, descriptor, config and peers into one archive."""
    settings = state.settings()
    report = backup.create_backup(
        settings=settings,
        config_file=state.config_path(),
        out=out_file,
        now=system_clock(),
        force=force,
    )
    manifest = report.manifest
    out.print(
        f"backup of node [bold]{escape(manifest.node_id)}[/] written to "
        f"{escape(str(report.archive))} ({report.size} bytes, mode 0600)"
    )
    out.print(f"  key id:   {manifest.key_id}")
    out.print(
        f"  database: {manifest.database.kind}, schema revision "
        f"{manifest.database.schema_revision or 'none'}"
    )
    out.print(f"  files:    {', '.join(f.name for f in manifest.files)}")
    out.print(f"  sha256:   {report.sha256}")
    out.print(f"[bold yellow]{STORAGE_WARNING}[/]")


@app.command("restore")
def restore_cmd(
    archive: Annotated[Path, typer.Argument(help="An archive made by `topmatch backup`.")],
    data_dir: Annotated[
        Path | None, typer.Option(help="Restore into this data directory (default: settings).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing node (stop it first).")] = False,
) -> None:
    """Restore a node from a backup: check every hash, write, then migrate the database."""
    report = backup.restore_backup(
        archive=archive, config_file=state.config, data_dir=data_dir or state.data_dir, force=force
    )
    manifest = report.manifest
    with _session(report.settings) as session:
        entries = session.exec(select(func.count()).select_from(LedgerEntry)).one()
    out.print(
        f"restored node [bold]{escape(manifest.node_id)}[/] (key id {manifest.key_id}) "
        f"from the backup of {local_time(manifest.created_at, seconds=True, zone=True)}"
    )
    out.print(
        f"  database: {escape(report.database)}, schema revision "
        f"{manifest.database.schema_revision or 'none'} -> {report.schema_revision}, "
        f"{count(entries, 'ledger entry', 'ledger entries')}"
    )
    for path, mode in report.written:
        out.print(f"  wrote {escape(str(path))} (mode {mode:04o})")
    if report.kept_config is not None:
        out.print(
            f"  kept the config {escape(str(report.kept_config))}; the backup's config is "
            "beside it (.from-backup)"
        )
    out.print(
        "Tell your peers before you start the node if the backup is older than what they "
        "saw of it: feed and fee ledger go back too (docs/operations.md, Restore)."
    )


@app.command("worker")
def worker_cmd() -> None:
    """Run only the sync worker (publishing, feed pulls, the ledger round), no HTTP.

    For a node whose web processes run with TOPMATCH_RUN_WORKER=never. It takes the
    database's worker lock like any node process: if another process holds it, this one
    waits and takes over when that one stops. Stops on Ctrl-C or SIGTERM.
    """
    settings = state.settings()
    if settings.sync_interval_seconds <= 0:
        raise ConfigurationError(
            "sync_interval_seconds is 0: there is no worker to run "
            "(set TOPMATCH_SYNC_INTERVAL_SECONDS to the seconds between rounds)"
        )
    logs.configure(settings)
    application = create_app(settings.model_copy(update={"run_worker": "auto"}))
    logging.getLogger("topmatch.worker").info(
        "worker of node %s started (every %g s)", settings.node_id, settings.sync_interval_seconds
    )
    asyncio.run(run_worker(application, asyncio.Event()))


async def run_worker(application: FastAPI, stop: asyncio.Event) -> None:
    """Start the node's lifespan (database, peer client, the supervised worker) and keep it
    until ``stop`` is set, or SIGINT/SIGTERM arrives; then end it as a server would."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
            loop.add_signal_handler(signum, stop.set)
    async with application.router.lifespan_context(application):
        await stop.wait()
