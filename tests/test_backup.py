"""``topmatch backup`` and ``topmatch restore`` through ``main(argv)``, on the test database.

The central test builds a node with a user, a card-box client and co-signed ledger entries,
backs it up, restores it into a fresh data dir and a fresh database, and checks that the
restored node is the same node: same key, same ledger (exported and verified offline),
same card-box secret (the client's BSN decrypts). The others show what restore refuses
before it writes anything.
"""

from __future__ import annotations

import io
import json
import os
import stat
import tarfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from tests.factories import BSNS, agreement_document, agreement_ref, client_data, signed_agreement
from tests.fednodes import FakePeer
from topmatch import backup
from topmatch import db as topmatch_db
from topmatch.audit.service import Actor
from topmatch.cardbox import service as cardbox
from topmatch.cardbox.crypto import BsnVault
from topmatch.cardbox.schemas import ClientCreate
from topmatch.cli import main
from topmatch.errors import ConfigurationError, InputError
from topmatch.identity import service as identity
from topmatch.identity.descriptor import PeerDescriptor
from topmatch.ledger import canonical
from topmatch.ledger import service as ledger
from topmatch.ledger.keybook import KeyBook
from topmatch.ledger.schemas import entry_id_for
from topmatch.settings import Settings, load_settings
from topmatch.settlement import service as settlement

Run = tuple[int, str, str]
NewDatabase = Callable[[], str | None]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> Run:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _head() -> str:
    config = Config()
    config.set_main_option("script_location", topmatch_db.MIGRATIONS)
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _use(monkeypatch: pytest.MonkeyPatch, data_dir: Path, database_url: str | None) -> None:
    """Point the CLI at a node: its data dir, its peers folder and its database."""
    monkeypatch.setenv("TOPMATCH_DATA_DIR", str(data_dir))
    monkeypatch.setenv("TOPMATCH_PEERS_DIR", str(data_dir / "peers"))
    if database_url is None:  # SQLite: the default file in the data dir
        monkeypatch.delenv("TOPMATCH_DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("TOPMATCH_DATABASE_URL", database_url)


# --- fixtures --------------------------------------------------------------------------


@pytest.fixture
def pg_tools(database_url: str) -> None:
    """pg_dump and pg_restore when the suite runs on PostgreSQL: missing fails on CI only,
    as scripts/test.sh treats a missing PostgreSQL server."""
    if make_url(database_url).get_backend_name() != "postgresql":
        return
    try:
        for tool in ("pg_dump", "pg_restore"):
            backup.find_pg_tool(tool)
    except ConfigurationError as e:
        if os.environ.get("CI") == "true":
            pytest.fail(f"backup tests on PostgreSQL need the client programs: {e.diagnostics()}")
        pytest.skip(f"PostgreSQL client programs unavailable: {e.diagnostics()}")


@pytest.fixture
def fresh_database(database_url: str) -> Iterator[NewDatabase]:
    """Makes an empty database for a restore target: a new PostgreSQL database on the test
    server, or ``None`` on SQLite (the default file in the target's data dir)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        yield lambda: None
        return
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    names: list[str] = []

    def new() -> str:
        name = f"tm_restore_{uuid.uuid4().hex[:8]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        names.append(name)
        return url.set(database=name).render_as_string(hide_password=False)

    yield new
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@dataclass
class Node:
    data_dir: Path
    bravo: FakePeer


@pytest.fixture
def node(
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    engine: Engine,
    capsys: pytest.CaptureFixture[str],
    pg_tools: None,
) -> Node:
    """An initialised node 'werkpad' on the test database, with peer 'bravo'."""
    data_dir = tmp_path / "node"
    _use(monkeypatch, data_dir, database_url)
    code, _, err = run(
        capsys, "init", "--node-id", "werkpad", "--name", "Werkpad", "--url", "https://w.example"
    )
    assert code == 0, err
    bravo = FakePeer.make("bravo", datetime.now(UTC))
    bravo.install(data_dir / "peers")
    return Node(data_dir=data_dir, bravo=bravo)


def _append_entries(engine: Engine, settings: Settings, bravo: FakePeer, count: int) -> None:
    """Co-signed placements under a fee agreement both signed, werkpad proposing and bravo
    countersigning."""
    now = datetime.now(UTC)
    me = identity.load_identity(settings)
    own = PeerDescriptor.model_validate_json(settings.descriptor_file().read_text())
    book = KeyBook([own, bravo.descriptor])
    terms = agreement_document(members=["werkpad", "bravo"], licences=[])
    with topmatch_db.transaction(engine) as session:
        settlement.propose_agreement(session, terms, me="werkpad", node=me, now=now)
        settlement.merge_agreement(
            session, signed_agreement(terms, bravo), me="werkpad", book=book, now=now
        )
    for n in range(count):
        intro = f"intro-{n:04d}"
        entry = {
            "format": "topmatch.ledger-entry/1",
            "entry_id": entry_id_for("placement.started", intro),
            "type": "placement.started",
            "at": now.isoformat(),
            "proposer": "werkpad",
            "payer": "bravo",
            "payee": "werkpad",
            "amount_cents": 225_000,  # half the fee for 32 hours vast
            "agreement": agreement_ref(terms),
            "placement": {
                "introduction_id": intro,
                "summary_id": "v-" + "a" * 24,
                "client_ref": "cd" * 32,
                "start_date": "2027-01-04",
                "contract_type": "vast",
                "hours_per_week": 32,
            },
        }
        entry = canonical.sign_entry(entry, key=me.private_key, key_id=me.key_id, party="werkpad")
        entry = canonical.sign_entry(
            entry, key=bravo.identity.private_key, key_id=bravo.identity.key_id, party="bravo"
        )
        with topmatch_db.transaction(engine) as session:
            ledger.append(session, entry, me="werkpad", book=book, now=now)


def _add_client(engine: Engine, settings: Settings) -> str:
    vault = BsnVault(identity.load_cardbox_secret(settings))
    with topmatch_db.transaction(engine) as session:
        client = cardbox.create_client(
            session=session,
            vault=vault,
            data=ClientCreate.model_validate(client_data()),
            actor=Actor(name="test"),
            now=datetime.now(UTC),
        )
        return client.id


def _bsn_and_lookup(settings: Settings, client_id: str) -> tuple[str, str | None]:
    """The client's BSN as the node decrypts it, and whom the blind index finds for it."""
    engine = topmatch_db.make_engine(settings.resolved_database_url())
    vault = BsnVault(identity.load_cardbox_secret(settings))
    actor, now = Actor(name="test"), datetime.now(UTC)
    try:
        with topmatch_db.transaction(engine) as session:
            client = cardbox.read_client(
                session=session, vault=vault, client_id=client_id, actor=actor, now=now
            )
            found = cardbox.find_client_by_bsn(
                session=session, vault=vault, bsn=client.bsn, actor=actor, now=now
            )
    finally:
        engine.dispose()
    return client.bsn, found.id if found else None


def _backup(capsys: pytest.CaptureFixture[str], archive: Path) -> str:
    code, out, err = run(capsys, "backup", "--out", str(archive))
    assert code == 0, err
    return out


def _rewrite(
    archive: Path,
    target: Path,
    *,
    change: Callable[[str, bytes], bytes | None] = lambda _, data: data,
    extra: tuple[tuple[tarfile.TarInfo, bytes], ...] = (),
) -> Path:
    """A copy of ``archive`` with members changed, dropped (``change`` returns ``None``) or
    added, its manifest left as it was."""
    with tarfile.open(archive, "r:gz") as src, tarfile.open(target, "w:gz") as dst:
        for member in src.getmembers():
            stream = src.extractfile(member)
            assert stream is not None
            data = change(member.name, stream.read())
            if data is not None:
                dst.addfile(member, io.BytesIO(data))
        for info, data in extra:
            dst.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return target


# --- backup, restore, and the restored node is the same node ---------------------------


def test_restored_node_has_the_same_keys_ledger_and_cardbox(
    node: Node,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    engine: Engine,
    fresh_database: NewDatabase,
) -> None:
    settings = load_settings()
    key_id = identity.load_identity(settings).key_id
    _append_entries(engine, settings, node.bravo, count=2)
    client_id = _add_client(engine, settings)
    assert run(capsys, "users", "add", "anna", "--role", "consultant")[0] == 0
    assert run(capsys, "ledger", "checkpoint")[0] == 0
    code, _, err = run(capsys, "ledger", "export", "--out", str(tmp_path / "before"))
    assert code == 0, err

    # a roster version the node accepted (the bytes are only copied, never read here)
    (node.data_dir / "roster").mkdir()
    (node.data_dir / "roster" / "2.json").write_bytes(b'{"accepted": 2}\n')
    archive = tmp_path / "backups" / "werkpad.tar.gz"
    out = _backup(capsys, archive)
    assert "store it encrypted" in out
    assert _mode(archive) == 0o600
    manifest = backup.verify(archive)
    assert (manifest.format, manifest.node_id, manifest.key_id) == (
        "topmatch.backup/1",
        "werkpad",
        key_id,
    )
    assert manifest.database.schema_revision == _head()
    assert {f.name for f in manifest.files} >= {
        "node/node-key.pem",
        "node/node-x25519.pem",
        "node/cardbox.secret",
        "node/node.json",
        "node/topmatch.toml",
        "peers/bravo.json",
        "roster/2.json",
        backup.DATABASE[manifest.database.kind],
    }

    # Restore into a new data dir and a new, empty database (the old node stays as it is).
    target = tmp_path / "restored"
    _use(monkeypatch, tmp_path / "elsewhere", fresh_database())
    monkeypatch.delenv("TOPMATCH_DATA_DIR")
    monkeypatch.setenv("TOPMATCH_PEERS_DIR", str(target / "peers"))
    code, out, err = run(capsys, "restore", str(archive), "--data-dir", str(target))
    assert code == 0, err
    assert f"restored node werkpad (key id {key_id})" in out
    assert f"-> {_head()}, 2 ledger entries" in out
    monkeypatch.setenv("TOPMATCH_DATA_DIR", str(target))
    restored = load_settings()

    for secret in ("node-key.pem", "node-x25519.pem", "cardbox.secret", "topmatch.toml"):
        assert _mode(target / secret) == 0o600, secret
    if manifest.database.kind == "sqlite":
        assert _mode(target / "topmatch.db") == 0o600
    assert identity.load_identity(restored).key_id == key_id
    assert (target / "peers" / "bravo.json").read_bytes() == (
        node.data_dir / "peers" / "bravo.json"
    ).read_bytes()
    assert restored.roster_dir() == target / "roster"
    assert (target / "roster" / "2.json").read_bytes() == b'{"accepted": 2}\n'

    # The ledger: exported from the restored node, verified offline, the same entries.
    code, _, err = run(capsys, "ledger", "export", "--out", str(tmp_path / "after"))
    assert code == 0, err
    anchor = tmp_path / "auditor-keys"  # the descriptors, as an auditor obtained them
    anchor.mkdir()
    for name in ("node.json", "peers/bravo.json"):
        source = node.data_dir / name
        (
            anchor / f"{PeerDescriptor.model_validate_json(source.read_bytes()).node_id}.json"
        ).write_bytes(source.read_bytes())
    code, out, err = run(
        capsys, "ledger", "verify", str(tmp_path / "after"), "--trusted-keys", str(anchor)
    )
    assert code == 0, err
    assert out.strip().splitlines()[-1].startswith("OK: 2 entries")
    assert (tmp_path / "after" / "entries.jsonl").read_bytes() == (
        tmp_path / "before" / "entries.jsonl"
    ).read_bytes()

    # The card-box: the restored secret decrypts the BSN stored before the backup.
    code, out, _ = run(capsys, "users", "list")
    assert "anna" in out
    assert _bsn_and_lookup(restored, client_id) == (BSNS[0], client_id)


def test_restore_migrates_a_backup_from_an_older_schema(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fresh_database: NewDatabase,
    pg_tools: None,
) -> None:
    _use(monkeypatch, tmp_path / "old", fresh_database())
    run(capsys, "init", "--node-id", "werkpad", "--name", "W", "--url", "https://w.example")
    assert run(capsys, "db", "upgrade", "0006")[0] == 0
    archive = tmp_path / "old.tar.gz"
    _backup(capsys, archive)
    assert backup.verify(archive).database.schema_revision == "0006"

    _use(monkeypatch, tmp_path / "new", fresh_database())
    code, out, err = run(capsys, "restore", str(archive))
    assert code == 0, err
    assert f"schema revision 0006 -> {_head()}" in out
    engine = topmatch_db.make_engine(load_settings().resolved_database_url())
    try:
        assert backup._current_revision(engine) == _head()
    finally:
        engine.dispose()


# --- what backup and restore refuse ----------------------------------------------------


def test_backup_does_not_overwrite_without_force(
    node: Node, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    archive = tmp_path / "b.tar.gz"
    archive.write_text("an older archive")
    archive.chmod(0o644)
    code, _, err = run(capsys, "backup", "--out", str(archive))
    assert code == 1
    assert "already exists; use --force" in err
    assert archive.read_text() == "an older archive"
    assert run(capsys, "backup", "--out", str(archive), "--force")[0] == 0
    assert _mode(archive) == 0o600
    backup.verify(archive)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no leftovers


def test_a_tampered_member_is_refused_and_nothing_written(
    node: Node,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fresh_database: NewDatabase,
) -> None:
    archive = tmp_path / "b.tar.gz"
    _backup(capsys, archive)

    def flip(name: str, data: bytes) -> bytes:
        if name != "node/cardbox.secret":
            return data
        return bytes([data[0] ^ 1]) + data[1:]

    tampered = _rewrite(archive, tmp_path / "tampered.tar.gz", change=flip)
    target = tmp_path / "target"
    fresh = fresh_database()
    _use(monkeypatch, target, fresh)
    code, _, err = run(capsys, "restore", str(tampered))
    assert code == 1
    assert "node/cardbox.secret: expected sha256" in err
    assert "changed or damaged" in err
    assert not target.exists()
    if fresh is not None:  # the new PostgreSQL database is still empty
        assert not backup._has_tables(fresh)


def test_a_damaged_archive_is_refused(
    node: Node,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    archive = tmp_path / "b.tar.gz"
    _backup(capsys, archive)
    raw = bytearray(archive.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    archive.write_bytes(bytes(raw))
    target = tmp_path / "target"
    _use(monkeypatch, target, None)
    code, _, err = run(capsys, "restore", str(archive))
    assert code == 1
    assert "nothing was restored" in err
    assert not target.exists()


def test_restore_over_an_existing_node_needs_force(
    node: Node,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fresh_database: NewDatabase,
) -> None:
    archive = tmp_path / "b.tar.gz"
    _backup(capsys, archive)
    key = (node.data_dir / "node-key.pem").read_bytes()
    # Onto the node itself: its key is there and its database is in use.
    code, _, err = run(capsys, "restore", str(archive))
    assert code == 1
    assert "not empty" in err
    assert "--force" in err
    assert (node.data_dir / "node-key.pem").read_bytes() == key

    # Onto a node restored before: refused; with --force replaced (SQLite), while a
    # PostgreSQL database must be emptied by hand first.
    fresh = fresh_database()
    _use(monkeypatch, tmp_path / "again", fresh)
    assert run(capsys, "restore", str(archive))[0] == 0
    code, _, err = run(capsys, "restore", str(archive))
    assert code == 1
    assert "node-key.pem exists" in err or "a restore needs an empty PostgreSQL" in err
    code, _, err = run(capsys, "restore", str(archive), "--force")
    if fresh is None:
        assert code == 0, err
    else:
        assert code == 1
        assert "also with --force" in err


def test_a_missing_member_is_refused(
    node: Node, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    archive = tmp_path / "b.tar.gz"
    _backup(capsys, archive)

    def drop_peer(name: str, data: bytes) -> bytes | None:
        return None if name == "peers/bravo.json" else data

    partial = _rewrite(archive, tmp_path / "partial.tar.gz", change=drop_peer)
    code, _, err = run(capsys, "restore", str(partial), "--data-dir", str(tmp_path / "t"))
    assert code == 1
    assert "the archive lacks peers/bravo.json" in err
    assert not (tmp_path / "t").exists()


def test_restore_keeps_an_existing_config_and_puts_the_backups_beside_it(
    node: Node,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fresh_database: NewDatabase,
) -> None:
    archive = tmp_path / "b.tar.gz"
    _backup(capsys, archive)
    target = tmp_path / "target"
    target.mkdir()
    (target / "topmatch.toml").write_text('display_name = "Werkpad (hersteld)"\n')
    _use(monkeypatch, target, fresh_database())
    code, out, err = run(capsys, "restore", str(archive))
    assert code == 0, err
    assert f"kept the config {target / 'topmatch.toml'}" in out
    assert (target / "topmatch.toml").read_text() == 'display_name = "Werkpad (hersteld)"\n'
    beside = target / "topmatch.toml.from-backup"
    assert beside.read_bytes() == (node.data_dir / "topmatch.toml").read_bytes()
    assert _mode(beside) == 0o600
    assert load_settings().display_name == "Werkpad (hersteld)"


def test_backup_of_a_node_without_key_names_the_missing_file(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
) -> None:
    _use(monkeypatch, tmp_path / "empty", database_url)
    (tmp_path / "empty").mkdir()  # a data folder, but no key in it
    code, _, err = run(capsys, "backup", "--out", str(tmp_path / "b.tar.gz"))
    assert code == 1
    assert f"{tmp_path / 'empty' / 'node-key.pem'} does not exist" in err
    assert not (tmp_path / "b.tar.gz").exists()


def test_manifest_problems_are_named() -> None:
    with pytest.raises(InputError, match="is not JSON"):
        backup.parse_manifest(b"{")
    good = {
        "format": "topmatch.backup/1",
        "node_id": "werkpad",
        "key_id": "k",
        "created_at": "2026-11-30T09:00:00Z",
        "topmatch_version": "0.1.0",
        "database": {"kind": "sqlite", "schema_revision": "0008"},
        "files": [],
    }
    entry = {"name": "node/node-key.pem", "sha256": "0" * 64, "size": 1}
    with pytest.raises(InputError, match=r"node/cardbox\.secret is missing") as caught:
        backup.parse_manifest(json.dumps(good | {"files": [entry, entry]}).encode())
    assert "node/node-key.pem is listed twice" in caught.value.diagnostics()
    bad_name = {**entry, "name": "node/../../etc/passwd"}
    with pytest.raises(InputError, match="not a member a backup may hold"):
        backup.parse_manifest(json.dumps(good | {"files": [bad_name]}).encode())


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = 5 if kind == tarfile.REGTYPE else 0
    info.mode = 0o600
    return info


@pytest.mark.parametrize(
    ("member", "message"),
    [
        (_member("../evil.json"), "unsafe member '../evil.json'"),
        (_member("peers/../../evil.json"), "unsafe member"),
        (_member("/srv/evil.json"), "unsafe member '/srv/evil.json'"),
        (_member("peers/evil.json", tarfile.SYMTYPE, "/etc/passwd"), "link or special file"),
        (_member("peers/evil.json", tarfile.LNKTYPE, "node/node.json"), "link or special file"),
        (_member("node/extra.bin"), "unexpected member 'node/extra.bin'"),
        (_member("peers/bravo.json"), "occurs twice"),
    ],
)
def test_unsafe_members_are_refused(
    node: Node,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    member: tarfile.TarInfo,
    message: str,
) -> None:
    archive = tmp_path / "b.tar.gz"
    _backup(capsys, archive)
    evil = _rewrite(archive, tmp_path / "evil.tar.gz", extra=((member, b"evil\n"),))
    target = tmp_path / "t" / "data"
    _use(monkeypatch, target, None)
    code, _, err = run(capsys, "restore", str(evil))
    assert code == 1
    assert message in err
    assert not target.exists()
    assert not (tmp_path / "evil.json").exists()
    assert not (tmp_path / "t" / "evil.json").exists()


def test_restore_refuses_another_kind_of_database(
    node: Node,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
) -> None:
    archive = tmp_path / "b.tar.gz"
    _backup(capsys, archive)
    other = (
        f"sqlite:///{tmp_path / 'x.db'}"
        if make_url(database_url).get_backend_name() == "postgresql"
        else "postgresql+psycopg://topmatch@127.0.0.1:1/nowhere"
    )
    _use(monkeypatch, tmp_path / "target", other)
    code, _, err = run(capsys, "restore", str(archive))
    assert code == 1
    assert "restore into the same kind of database" in err
    assert not (tmp_path / "target").exists()


def test_a_manifest_of_another_format_is_refused(
    node: Node, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    archive = tmp_path / "b.tar.gz"
    _backup(capsys, archive)

    def other_format(name: str, data: bytes) -> bytes:
        return data.replace(b"topmatch.backup/1", b"topmatch.backup/9")

    changed = _rewrite(archive, tmp_path / "v9.tar.gz", change=other_format)
    code, _, err = run(capsys, "restore", str(changed), "--data-dir", str(tmp_path / "t"))
    assert code == 1
    assert "unsupported backup format 'topmatch.backup/9'" in err


def test_a_backup_from_a_newer_version_is_refused(
    node: Node, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    archive = tmp_path / "b.tar.gz"
    _backup(capsys, archive)

    def newer(name: str, data: bytes) -> bytes:
        revision = f'"schema_revision": "{_head()}"'.encode()
        return (
            data.replace(revision, b'"schema_revision": "9999"')
            if name == "manifest.json"
            else data
        )

    changed = _rewrite(archive, tmp_path / "newer.tar.gz", change=newer)
    code, _, err = run(capsys, "restore", str(changed), "--data-dir", str(tmp_path / "t"))
    assert code == 1
    assert "schema revision '9999', which this version of Topmatch does not know" in err
    assert not (tmp_path / "t").exists()


# --- finding PostgreSQL's programs -----------------------------------------------------


def test_pg_tools_are_found_in_the_newest_bindir_or_named_when_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no pg_dump, no pg_config
    pattern = str(tmp_path / "postgresql" / "*" / "bin")
    with pytest.raises(ConfigurationError, match="pg_dump not found on PATH") as caught:
        backup.find_pg_tool("pg_dump", bin_glob=pattern)
    assert "postgresql-client" in caught.value.diagnostics()
    for version in ("9.6", "16", "13"):
        bindir = tmp_path / "postgresql" / version / "bin"
        bindir.mkdir(parents=True)
        (bindir / "pg_dump").write_text("#!/bin/sh\n")
        (bindir / "pg_dump").chmod(0o755)
    found = backup.find_pg_tool("pg_dump", bin_glob=pattern)
    assert found == tmp_path / "postgresql" / "16" / "bin" / "pg_dump"


def test_the_pinned_roster_is_backed_up_and_goes_where_the_target_pins(tmp_path: Path) -> None:
    pinned = tmp_path / "federation" / "roster.json"
    pinned.parent.mkdir()
    pinned.write_bytes(b'{"pinned": 1}\n')
    (tmp_path / "data" / "roster").mkdir(parents=True)
    (tmp_path / "data" / "roster" / "3.json").write_bytes(b"3\n")
    (tmp_path / "data" / "roster" / "notes.txt").write_bytes(b"not a version\n")
    settings = Settings(data_dir=tmp_path / "data", roster_file=pinned)
    assert backup._roster_files(settings) == {
        "roster/pinned.json": b'{"pinned": 1}\n',
        "roster/3.json": b"3\n",
    }
    assert all(backup.is_member_name(name) for name in ("roster/pinned.json", "roster/3.json"))
    assert not backup.is_member_name("roster/03.json")
    assert backup._other_place("roster/pinned.json", settings) == (pinned, 0o644)
    assert backup._other_place("roster/3.json", settings) == (
        tmp_path / "data" / "roster" / "3.json",
        0o644,
    )
    # a target that pins no roster: the pinned file is not written anywhere
    assert backup._other_place("roster/pinned.json", Settings(data_dir=tmp_path / "x")) is None
    pinned.unlink()
    with pytest.raises(ConfigurationError, match="cannot read the pinned roster"):
        backup._roster_files(settings)
