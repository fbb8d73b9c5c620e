"""Backup and restore of a whole node: its database plus the files that make it this node.

One gzip'ed tar, format ``topmatch.backup/1`` (docs/operations.md, "Backup and restore")::

    manifest.json            format, node id, key id, time, database kind and schema
                             revision, and the SHA-256 and size of every other member
    node/node-key.pem        the Ed25519 signing key
    node/node-x25519.pem     the X25519 encryption key (when the node has one)
    node/cardbox.secret      the card-box secret
    node/node.json           the public descriptor
    node/topmatch.toml       the config file (when there is one)
    peers/<name>.json        the peers' descriptors
    roster/pinned.json       the federation roster the node pins (setting roster_file)
    roster/<version>.json    every later roster version the node accepted
    database/topmatch.db     SQLite: a consistent copy made with the online backup API, or
    database/topmatch.dump   PostgreSQL: ``pg_dump --format=custom``

The archive holds the private keys and the card-box secret, so it is written with mode
0600 and must be stored encrypted. The key passphrase is never in it. The hashes catch a
damaged or edited member; they do not authenticate the archive as a whole: whoever can
rewrite the archive can rewrite its manifest too.

Restore reads the whole archive and checks every hash before it writes anything, refuses
to replace an existing node unless forced, and migrates the restored database to the
current schema, so a backup made by an older version comes up to date.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import IO, Literal

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from topmatch import db
from topmatch.errors import ConfigurationError, ConflictError, InputError, input_error
from topmatch.identity import service as identity
from topmatch.identity.descriptor import PeerDescriptor
from topmatch.settings import Settings, config_file_path, load_settings

FORMAT = "topmatch.backup/1"
MANIFEST = "manifest.json"
MAX_MANIFEST_BYTES = 10_000_000
PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"

DatabaseKind = Literal["sqlite", "postgresql"]

SIGNING_KEY = "node/node-key.pem"
ENCRYPTION_KEY = "node/node-x25519.pem"
CARDBOX_FILE = "node/cardbox.secret"
DESCRIPTOR = "node/node.json"
CONFIG = "node/topmatch.toml"
NODE_FILES = (SIGNING_KEY, ENCRYPTION_KEY, CARDBOX_FILE, DESCRIPTOR, CONFIG)
REQUIRED = (SIGNING_KEY, CARDBOX_FILE, DESCRIPTOR)
DATABASE: dict[DatabaseKind, str] = {
    "sqlite": "database/topmatch.db",
    "postgresql": "database/topmatch.dump",
}
_PEER_FILE = re.compile(r"peers/[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.json")
ROSTER_PINNED = "roster/pinned.json"
_ROSTER_VERSION = re.compile(r"roster/[1-9][0-9]{0,9}\.json")

# A payload is held in memory (small files) or in a private temporary file (the database).
Payload = bytes | Path


def is_member_name(name: str) -> bool:
    """Whether ``name`` is one of the members a backup may hold (besides the manifest)."""
    return (
        name in NODE_FILES
        or name in DATABASE.values()
        or name == ROSTER_PINNED
        or bool(_PEER_FILE.fullmatch(name) or _ROSTER_VERSION.fullmatch(name))
    )


# --- the manifest ----------------------------------------------------------------------


class ManifestFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)

    @field_validator("name")
    @classmethod
    def _known_name(cls, value: str) -> str:
        if not is_member_name(value):
            raise ValueError(f"not a member a backup may hold: {value!r}")
        return value


class DatabaseInfo(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: DatabaseKind
    schema_revision: str | None = Field(description="The Alembic revision of the database.")
    dump_tool: str | None = Field(default=None, description="e.g. 'pg_dump (PostgreSQL) 16.4'")


class Manifest(BaseModel):
    """``manifest.json``: what the archive holds, with the SHA-256 of every other member."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["topmatch.backup/1"]
    node_id: str
    key_id: str
    created_at: datetime
    topmatch_version: str
    database: DatabaseInfo
    files: list[ManifestFile]

    def file(self, name: str) -> ManifestFile | None:
        return next((f for f in self.files if f.name == name), None)

    def problems(self) -> list[str]:
        """What makes this list of files unusable for a restore."""
        names = [f.name for f in self.files]
        problems = [f"{n} is listed twice" for n in sorted(set(names)) if names.count(n) > 1]
        needed = [*REQUIRED, DATABASE[self.database.kind]]
        problems += [f"{n} is missing" for n in needed if n not in names]
        other = DATABASE["postgresql" if self.database.kind == "sqlite" else "sqlite"]
        if other in names:
            problems.append(f"{other} does not fit a {self.database.kind} backup")
        return problems


def parse_manifest(raw: bytes) -> Manifest:
    """The manifest from its bytes, or :class:`InputError` saying what is wrong with it."""
    try:
        data = json.loads(raw)
    except ValueError as e:
        raise InputError(f"{MANIFEST} is not JSON: {e}") from e
    found = data.get("format") if isinstance(data, dict) else None
    if found != FORMAT:
        raise InputError(f"unsupported backup format {found!r}: this version reads {FORMAT}")
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as e:
        raise input_error(e, MANIFEST) from e
    if problems := manifest.problems():
        raise InputError(f"{MANIFEST}: " + "; ".join(problems))
    return manifest


# --- backup ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BackupReport:
    archive: Path
    manifest: Manifest
    sha256: str  # of the archive file itself, to note down beside it
    size: int


def create_backup(
    *, settings: Settings, config_file: Path, out: Path, now: datetime, force: bool
) -> BackupReport:
    """Write the node's database and files into one archive at ``out`` (mode 0600).

    ``config_file`` is the config file the settings were read from; it is included when it
    exists. The database is copied consistently while the node runs. An existing ``out`` is
    replaced only with ``force``; a failed backup leaves no partial archive behind.
    """
    if out.exists() and not force:
        raise ConflictError(f"{out} already exists; use --force to replace it")
    files = _node_files(settings, config_file)
    descriptor = _descriptor(files[DESCRIPTOR])
    out.parent.mkdir(parents=True, exist_ok=True)
    # Next to the archive, not in /tmp: the copy of the database can be large.
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".topmatch-backup-") as tmp:
        database, dump = _dump_database(settings.resolved_database_url(), Path(tmp))
        payloads: dict[str, Payload] = {**files, DATABASE[database.kind]: dump}
        manifest = Manifest(
            format=FORMAT,
            node_id=descriptor.node_id,
            key_id=descriptor.keys[-1].key_id,  # init and rotation append the current key
            created_at=now,
            topmatch_version=metadata.version("topmatch"),
            database=database,
            files=[_describe(name, payload) for name, payload in payloads.items()],
        )
        _write_archive(out, manifest, payloads, now)
    digest, size = _hash_file(out)
    return BackupReport(archive=out, manifest=manifest, sha256=digest, size=size)


def _node_files(settings: Settings, config_file: Path) -> dict[str, bytes]:
    found = {
        SIGNING_KEY: _read(settings.resolved_key_file(), required=True),
        ENCRYPTION_KEY: _read(identity.encryption_key_file(settings), required=False),
        CARDBOX_FILE: _read(settings.resolved_cardbox_secret_file(), required=True),
        DESCRIPTOR: _read(settings.descriptor_file(), required=True),
        CONFIG: _read(config_file, required=False),
    }
    files = {name: data for name, data in found.items() if data is not None}
    return files | _peer_files(settings.peers_dir) | _roster_files(settings)


def _read(path: Path, *, required: bool) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError as e:
        if not required:
            return None
        raise ConfigurationError(
            f"{path} does not exist: back up an initialised node (topmatch init), "
            "with the same settings the node runs with"
        ) from e
    except OSError as e:
        raise ConfigurationError(f"cannot read {path}: {e.strerror}") from e


def _peer_files(peers_dir: Path) -> dict[str, bytes]:
    """The descriptors the peer registry reads: ``*.json`` in the peers folder."""
    if not peers_dir.is_dir():
        return {}
    files: dict[str, bytes] = {}
    for path in sorted(peers_dir.glob("*.json")):
        name = f"peers/{path.name}"
        if not _PEER_FILE.fullmatch(name):
            raise ConfigurationError(
                f"cannot back up peer file {path}: rename it to <node id>.json"
            )
        if path.is_file():
            files[name] = path.read_bytes()
    return files


def _roster_files(settings: Settings) -> dict[str, bytes]:
    """The pinned roster (when ``roster_file`` is set) and the versions accepted after it
    (``<data_dir>/roster/<version>.json``): without them a restored node would fall back
    to its pinned version and refuse the updates it had taken."""
    files: dict[str, bytes] = {}
    if settings.roster_file is not None:
        try:
            files[ROSTER_PINNED] = settings.roster_file.read_bytes()
        except OSError as e:
            raise ConfigurationError(
                f"cannot read the pinned roster {settings.roster_file} (roster_file): "
                f"{e.strerror}; nothing was backed up"
            ) from e
    folder = settings.roster_dir()
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        name = f"roster/{path.name}"
        if _ROSTER_VERSION.fullmatch(name) and path.is_file():
            files[name] = path.read_bytes()
    return files


def _descriptor(raw: bytes) -> PeerDescriptor:
    try:
        return PeerDescriptor.model_validate_json(raw)
    except ValidationError as e:
        raise ConfigurationError(f"this node's descriptor (node.json) is invalid: {e}") from e


def _dump_database(url: str, tmp: Path) -> tuple[DatabaseInfo, Path]:
    parsed = _parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        copy = tmp / "topmatch.db"
        _sqlite_copy(_sqlite_file(parsed), copy)
        return DatabaseInfo(kind="sqlite", schema_revision=_revision(f"sqlite:///{copy}")), copy
    dump = tmp / "topmatch.dump"
    revision = _revision(url)
    tool = _pg_dump(parsed, dump)
    return DatabaseInfo(kind="postgresql", schema_revision=revision, dump_tool=tool), dump


def _sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy through SQLite's online backup API, also while the node writes."""
    if not source.is_file():
        raise ConfigurationError(f"no SQLite database at {source}: nothing to back up")
    try:
        with (
            closing(sqlite3.connect(source, timeout=30)) as src,
            closing(sqlite3.connect(target)) as dst,
        ):
            src.backup(dst)
            # One self-contained file: no -wal beside it to lose.
            dst.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error as e:
        raise ConfigurationError(f"cannot back up the SQLite database {source}: {e}") from e


def _revision(url: str) -> str | None:
    """The Alembic revision the database is at; ``None`` when it has no schema yet."""
    engine = create_engine(url) if url.startswith("sqlite") else db.make_engine(url)
    try:
        return _current_revision(engine)
    finally:
        engine.dispose()


def _current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as e:
        raise ConfigurationError(f"cannot read the database's schema revision: {e}") from e


def _describe(name: str, payload: Payload) -> ManifestFile:
    if isinstance(payload, bytes):
        return ManifestFile(
            name=name, sha256=hashlib.sha256(payload).hexdigest(), size=len(payload)
        )
    digest, size = _hash_file(payload)
    return ManifestFile(name=name, sha256=digest, size=size)


def _hash_file(path: Path) -> tuple[str, int]:
    with path.open("rb") as f:
        return _hash_stream(f)


def _hash_stream(stream: IO[bytes]) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(1 << 20):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def _write_archive(
    out: Path, manifest: Manifest, payloads: Mapping[str, Payload], now: datetime
) -> None:
    """Manifest first (``verify`` reads it before the members it describes), then the node
    files, the database last."""
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.unlink(missing_ok=True)
    # Created 0600 from the start: the archive holds private keys and the card-box secret.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    order = sorted(payloads, key=lambda name: (name.startswith("database/"), name))
    try:
        with os.fdopen(fd, "wb") as f, tarfile.open(fileobj=f, mode="w:gz", compresslevel=6) as tar:
            _add(tar, MANIFEST, manifest.model_dump_json(indent=2).encode(), now)
            for name in order:
                _add(tar, name, payloads[name], now)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _add(tar: tarfile.TarFile, name: str, payload: Payload, now: datetime) -> None:
    info = tarfile.TarInfo(name)
    info.mode = 0o600
    info.mtime = int(now.timestamp())
    if isinstance(payload, bytes):
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
        return
    info.size = payload.stat().st_size
    with payload.open("rb") as f:
        tar.addfile(info, f)


# --- reading and checking an archive ---------------------------------------------------


@contextmanager
def _open_archive(archive: Path) -> Iterator[tarfile.TarFile]:
    if not archive.is_file():
        raise InputError(f"no backup archive at {archive}")
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            yield tar
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise InputError(
            f"{archive} is not a readable backup archive ({e}); nothing was restored"
        ) from e


def check_member(member: tarfile.TarInfo) -> None:
    """Refuse what safe extraction must never see: absolute paths, ``..``, links, devices,
    and any name a backup does not hold."""
    name = member.name
    parts = PurePosixPath(name).parts
    if name.startswith(("/", "\\")) or ".." in parts or "\\" in name or ":" in name:
        raise InputError(f"unsafe member {name!r} in the archive; nothing was restored")
    if not member.isreg():
        raise InputError(
            f"member {name!r} is a link or special file, not a regular file; nothing was restored"
        )
    if name != MANIFEST and not is_member_name(name):
        raise InputError(f"unexpected member {name!r} in the archive; nothing was restored")


def verify(archive: Path) -> Manifest:
    """Read the whole archive and check every member against the manifest. Writes nothing.

    Raises :class:`InputError` for an archive that is damaged, changed, incomplete or
    unsafe to extract.
    """
    with _open_archive(archive) as tar:
        manifest: Manifest | None = None
        seen: set[str] = set()
        for member in tar:
            check_member(member)
            if manifest is None:
                manifest = _read_manifest(tar, member)
            else:
                _check_content(tar, member, manifest, seen)
    if manifest is None:
        raise InputError(f"{archive} is empty: it has no {MANIFEST}")
    if missing := sorted({f.name for f in manifest.files} - seen):
        raise InputError(
            f"the archive lacks {', '.join(missing)}, listed in its manifest; nothing was restored"
        )
    return manifest


def _read_manifest(tar: tarfile.TarFile, member: tarfile.TarInfo) -> Manifest:
    if member.name != MANIFEST:
        raise InputError(
            f"the archive does not start with {MANIFEST} (it starts with {member.name!r}): "
            "not a Topmatch backup"
        )
    if member.size > MAX_MANIFEST_BYTES:
        raise InputError(f"{MANIFEST} is {member.size} bytes: too large")
    return parse_manifest(_member_bytes(tar, member))


def _member_bytes(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    stream = tar.extractfile(member)
    if stream is None:  # pragma: no cover - check_member lets only regular files through
        raise InputError(f"member {member.name!r} has no content")
    with stream:
        return stream.read()


def _check_content(
    tar: tarfile.TarFile, member: tarfile.TarInfo, manifest: Manifest, seen: set[str]
) -> None:
    expected = manifest.file(member.name)
    if expected is None:
        raise InputError(f"member {member.name!r} is not in the manifest; nothing was restored")
    if member.name in seen:
        raise InputError(f"member {member.name!r} occurs twice; nothing was restored")
    stream = tar.extractfile(member)
    if stream is None:  # pragma: no cover - check_member lets only regular files through
        raise InputError(f"member {member.name!r} has no content")
    with stream:
        digest, size = _hash_stream(stream)
    _compare(member.name, expected, digest, size)
    seen.add(member.name)


def _compare(name: str, expected: ManifestFile, digest: str, size: int) -> None:
    if (digest, size) != (expected.sha256, expected.size):
        raise InputError(
            f"{name}: expected sha256 {expected.sha256[:16]}... ({expected.size} bytes), "
            f"got {digest[:16]}... ({size} bytes): the archive was changed or damaged; "
            "nothing was restored"
        )


def _extract(archive: Path, staging: Path, manifest: Manifest) -> None:
    """Unpack into ``staging``, checking each member again and each file's hash after."""
    with _open_archive(archive) as tar:
        members = tar.getmembers()
        for member in members:
            check_member(member)
        if hasattr(tarfile, "data_filter"):  # Python 3.11.4+: refuses links, devices, escapes
            tar.extractall(staging, members=members, filter="data")
        else:  # pragma: no cover - older Pythons: check_member above is the whole guard
            tar.extractall(staging, members=members)  # noqa: S202 - every member checked above
    for expected in manifest.files:  # the archive may have changed since verify() read it
        digest, size = _hash_file(staging / expected.name)
        _compare(expected.name, expected, digest, size)


# --- restore ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    source: Path  # the staged member
    path: Path  # where it goes
    mode: int


@dataclass(frozen=True)
class RestoreReport:
    manifest: Manifest
    settings: Settings  # as the restored node runs
    database: str  # its URL, password hidden
    schema_revision: str | None  # after migrating
    written: list[tuple[Path, int]]  # file, mode
    kept_config: Path | None  # an existing config left in place (the backup's is beside it)


def restore_backup(
    *, archive: Path, config_file: Path | None, data_dir: Path | None, force: bool
) -> RestoreReport:
    """Restore a node from ``archive`` into the node the settings describe.

    The settings are read as ``topmatch serve`` would read them after the restore (the
    backup's config file counts when there is none yet). Nothing is written unless every
    hash matches, the database kind fits and no node is there (``force`` replaces one; a
    PostgreSQL database must be empty even then). The database is migrated afterwards.
    """
    manifest = verify(archive)
    _check_revision_known(manifest.database.schema_revision)
    with tempfile.TemporaryDirectory(prefix="topmatch-restore-") as tmp:
        staging = Path(tmp)
        _extract(archive, staging, manifest)
        config_path = config_file_path(config_file, data_dir)
        staged_config = staging / CONFIG if manifest.file(CONFIG) else None
        settings = _target_settings(config_file, data_dir, config_path, staged_config)
        targets, kept = _plan(manifest, settings, staging, config_path)
        url = settings.resolved_database_url()
        _check_target(manifest, settings, targets, force=force)
        _restore_database(manifest.database.kind, staging / DATABASE[manifest.database.kind], url)
        for target in targets:
            _install(target)
    revision = _migrate(url)  # a backup from an older version comes up to date
    return RestoreReport(
        manifest=manifest,
        settings=settings,
        database=_shown(url),
        schema_revision=revision,
        written=[(t.path, t.mode) for t in targets],
        kept_config=kept,
    )


def _check_revision_known(revision: str | None) -> None:
    if revision is None:
        return
    config = Config()
    config.set_main_option("script_location", db.MIGRATIONS)
    try:
        ScriptDirectory.from_config(config).get_revision(revision)
    except CommandError as e:
        raise ConfigurationError(
            f"the backup's database is at schema revision {revision!r}, which this version "
            "of Topmatch does not know: restore it with the version that made it, or newer"
        ) from e


def _target_settings(
    config_file: Path | None, data_dir: Path | None, config_path: Path, staged: Path | None
) -> Settings:
    if config_path.is_file() or staged is None:
        return load_settings(config_file, data_dir=data_dir)
    # No config there yet: the backup's will be written there, so it counts already.
    return load_settings(staged, data_dir=data_dir)


def _plan(
    manifest: Manifest, settings: Settings, staging: Path, config_path: Path
) -> tuple[list[_Target], Path | None]:
    places = {
        SIGNING_KEY: (settings.resolved_key_file(), 0o600),
        ENCRYPTION_KEY: (identity.encryption_key_file(settings), 0o600),
        CARDBOX_FILE: (settings.resolved_cardbox_secret_file(), 0o600),
        DESCRIPTOR: (settings.descriptor_file(), 0o644),  # public: peers hold it
        CONFIG: (config_path, 0o600),  # may hold the database password
    }
    targets: list[_Target] = []
    kept: Path | None = None
    for f in manifest.files:
        if f.name.startswith("database/"):
            continue
        place = places.get(f.name) or _other_place(f.name, settings)
        if place is None:
            continue
        path, mode = place
        source = staging / f.name
        if f.name == CONFIG and path.is_file():
            if path.read_bytes() == source.read_bytes():
                continue
            # The config in place chose the database we restore into: keep it.
            kept, path = path, path.with_name(path.name + ".from-backup")
        targets.append(_Target(source=source, path=path, mode=mode))
    return targets, kept


def _other_place(name: str, settings: Settings) -> tuple[Path, int] | None:
    """Where a peer descriptor or a roster file goes (public documents: 0644); None for the
    pinned roster when the target node pins none (its config decides, and says where)."""
    base = PurePosixPath(name).name
    if name == ROSTER_PINNED:
        return None if settings.roster_file is None else (settings.roster_file, 0o644)
    if name.startswith("roster/"):
        return settings.roster_dir() / base, 0o644
    return settings.peers_dir / base, 0o644


def _check_target(
    manifest: Manifest, settings: Settings, targets: list[_Target], *, force: bool
) -> None:
    url = settings.resolved_database_url()
    kind = _parse_url(url).get_backend_name()
    if kind != manifest.database.kind:
        raise ConfigurationError(
            f"the backup holds a {manifest.database.kind} database, but this node is "
            f"configured for {kind} ({_shown(url)}): restore into the same kind of database "
            "(set TOPMATCH_DATABASE_URL); nothing was restored"
        )
    if kind == "postgresql":
        find_pg_tool("pg_restore")
    occupied = _has_tables(url)
    if occupied and kind == "postgresql":
        raise ConflictError(
            f"the database {_shown(url)} is not empty: a restore needs an empty PostgreSQL "
            "database, also with --force (drop and re-create it, or use a new one); "
            "nothing was restored"
        )
    problems = _existing(settings, targets)
    if occupied:
        problems.append(f"the database {_shown(url)} is not empty")
    if problems and not force:
        raise ConflictError(
            "a node is already there: " + "; ".join(problems) + ". Stop that node and use "
            "--force to replace it; nothing was restored"
        )


def _existing(settings: Settings, targets: list[_Target]) -> list[str]:
    key = settings.resolved_key_file()
    problems = [f"{key} exists"] if key.exists() else []
    for t in targets:
        if t.path != key and t.path.exists() and t.path.read_bytes() != t.source.read_bytes():
            problems.append(f"{t.path} exists with other content")
    return problems


def _has_tables(url: str) -> bool:
    parsed = _parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_file(parsed)
        if not path.exists():
            return False
        try:
            with closing(sqlite3.connect(path)) as connection:
                tables = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        except sqlite3.Error as e:
            raise ConfigurationError(f"cannot open the SQLite database {path}: {e}") from e
        return bool(tables)
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            count = connection.execute(
                text(
                    "SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
                    "ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') "
                    "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
                    "AND n.nspname NOT LIKE 'pg_toast%'"
                )
            ).scalar_one()
    except SQLAlchemyError as e:
        raise ConfigurationError(f"cannot open the database {_shown(url)}: {e}") from e
    finally:
        engine.dispose()
    return bool(count)


def _restore_database(kind: DatabaseKind, staged: Path, url: str) -> None:
    parsed = _parse_url(url)
    if kind == "sqlite":
        _replace_sqlite(staged, _sqlite_file(parsed))
        return
    conninfo, env = _libpq(parsed)
    _run(
        [
            str(find_pg_tool("pg_restore")),
            "--no-owner",  # the node's own role owns what it restores
            "--no-privileges",  # grants to roles the target server may not have
            "--single-transaction",  # all or nothing: a failed restore leaves it empty
            "--exit-on-error",
            f"--dbname={conninfo}",
            str(staged),
        ],
        env=env,
    )


def _replace_sqlite(staged: Path, target: Path) -> None:
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.restore-tmp")
    _copy_private(staged, tmp, 0o600)  # personal data in clear: the node's user only
    # A -wal or -shm left from another database would be replayed into this one.
    for suffix in ("-wal", "-shm", "-journal"):
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    os.replace(tmp, target)


def _install(target: _Target) -> None:
    target.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = target.path.with_name(f".{target.path.name}.restore-tmp")
    _copy_private(target.source, tmp, target.mode)
    os.replace(tmp, target.path)


def _copy_private(source: Path, path: Path, mode: int) -> None:
    """Copy to a new file created with ``mode``: a secret is never readable by others."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as out, source.open("rb") as src:
        shutil.copyfileobj(src, out)
        os.fchmod(out.fileno(), mode)  # exactly ``mode``, whatever the umask


def _migrate(url: str) -> str | None:
    engine = db.make_engine(url)
    try:
        db.upgrade(engine)
        return _current_revision(engine)
    finally:
        engine.dispose()


# --- databases and PostgreSQL's programs -----------------------------------------------


def _parse_url(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError as e:
        raise ConfigurationError(f"invalid database URL: {e}") from e


def _shown(url: str) -> str:
    return _parse_url(url).render_as_string(hide_password=True)


def _sqlite_file(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise ConfigurationError("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password, and an environment that carries it.

    The password goes in ``PGPASSWORD``, never on the command line, where other users of
    the machine could read it (``ps``).
    """
    conninfo = url.set(drivername="postgresql", password=None)
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    return conninfo.render_as_string(hide_password=False), env


def _pg_dump(url: URL, target: Path) -> str:
    tool = str(find_pg_tool("pg_dump"))
    conninfo, env = _libpq(url)
    _run([tool, "--format=custom", f"--file={target}", f"--dbname={conninfo}"], env=env)
    return _run([tool, "--version"], env=env).strip()


def _run(command: list[str], *, env: dict[str, str]) -> str:
    # A fixed program found by find_pg_tool, no shell; the arguments are our own.
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise ConfigurationError(
            f"{Path(command[0]).name} failed (exit {result.returncode}): "
            f"{result.stderr.strip() or 'no message'}"
        )
    return result.stdout


def find_pg_tool(name: str, *, bin_glob: str = PG_BIN_GLOB) -> Path:
    """``pg_dump`` or ``pg_restore``: on PATH, in ``pg_config --bindir``, or in the newest
    ``/usr/lib/postgresql/*/bin`` (Debian and Ubuntu install them there)."""
    on_path = shutil.which(name)
    if on_path:
        return Path(on_path)
    for directory in _pg_bindirs(bin_glob):
        candidate = directory / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise ConfigurationError(
        f"{name} not found on PATH, in `pg_config --bindir` or in {bin_glob}: install the "
        "PostgreSQL client programs of the server's major version or newer (Debian/Ubuntu: "
        f"apt-get install postgresql-client) or put {name} on PATH"
    )


def _pg_bindirs(bin_glob: str) -> list[Path]:
    dirs: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run(  # noqa: S603 - pg_config from PATH, fixed argument
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        )
        if result.returncode == 0 and result.stdout.strip():
            dirs.append(Path(result.stdout.strip()))
    # The newest first: a newer pg_dump reads older servers, not the other way round.
    found = [Path(d) for d in glob.glob(bin_glob)]
    return dirs + sorted(found, key=_major_version, reverse=True)


def _major_version(bindir: Path) -> int:
    digits = re.match(r"\d+", bindir.parent.name)
    return int(digits.group()) if digits else 0
