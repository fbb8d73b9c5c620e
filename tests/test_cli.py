"""The CLI through ``main(argv)``: exit codes, output, and what it leaves behind."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import typer
from sqlalchemy import Engine

from tests.factories import agreement_document, agreement_ref, signed_agreement
from tests.fednodes import FakePeer
from topmatch import db as topmatch_db
from topmatch.cli import app, main
from topmatch.cli.formats import count, local_time
from topmatch.cli.settlement import _print_netting
from topmatch.identity import service as identity
from topmatch.identity.descriptor import PeerDescriptor
from topmatch.ledger import canonical
from topmatch.ledger import service as ledger
from topmatch.ledger.keybook import KeyBook
from topmatch.ledger.schemas import entry_id_for
from topmatch.settings import load_settings
from topmatch.settlement import service as settlement
from topmatch.settlement.schemas import NettingProposal, Payment, Position

Run = tuple[int, str, str]


@pytest.fixture
def node_dir(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch, engine: Engine
) -> Path:
    """A data dir; the CLI reads it (and the test database) from the environment."""
    monkeypatch.setenv("TOPMATCH_DATA_DIR", str(tmp_path / "node"))
    monkeypatch.setenv("TOPMATCH_DATABASE_URL", database_url)
    return tmp_path / "node"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> Run:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _init(capsys: pytest.CaptureFixture[str]) -> Run:
    return run(
        capsys,
        "init",
        "--node-id",
        "werkpad",
        "--name",
        "Werkpad",
        "--url",
        "https://werkpad.example",
    )


def test_init_then_refuse_overwrite(node_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _init(capsys)
    assert code == 0
    assert "werkpad" in out
    assert (node_dir / "node-key.pem").exists()
    assert (node_dir / "node.json").exists()
    code, _, err = _init(capsys)
    assert code == 1
    assert "already exists; use --force" in err
    assert (
        run(
            capsys,
            "init",
            "--node-id",
            "werkpad",
            "--name",
            "W",
            "--url",
            "https://w.example",
            "--force",
        )[0]
        == 0
    )


def test_init_with_bad_node_id_fails_cleanly(
    node_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "init", "--node-id", "Bad Id", "--name", "W", "--url", "x")
    assert code == 1
    assert "node_id" in err
    assert not (node_dir / "node-key.pem").exists()


def test_init_with_a_relative_url_says_what_a_url_is(
    node_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "init", "--node-id", "werkpad", "--name", "W", "--url", "werkpad")
    assert code == 1
    assert "starting with http:// or https://" in err
    assert "relative URL" not in err
    code, _, err = run(capsys, "init", "--node-id", "Werk Pad", "--name", "W", "--url", "x")
    assert "lower-case letters a-z, digits and hyphens" in err
    assert "[a-z0-9]" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ("users", "add", "anna", "--role", "consultant"),
        ("peers", "add", "bravo.json"),
        ("seed",),
        ("serve",),
        ("settle", "--period", "2026-Q1"),
        ("db", "upgrade"),
    ],
)
def test_commands_refuse_to_run_outside_a_node(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: tuple[str, ...],
) -> None:
    monkeypatch.delenv("TOPMATCH_DATA_DIR", raising=False)
    monkeypatch.delenv("TOPMATCH_CONFIG_FILE", raising=False)
    monkeypatch.delenv("TOPMATCH_PEERS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)  # the wrong folder: no topmatch-data here
    code, out, err = run(capsys, *argv)
    assert code == 1
    assert "tm_" not in out
    assert f"no data folder {tmp_path / 'topmatch-data'}" in err
    assert "--data-dir" in err
    assert "TOPMATCH_DATA_DIR" in err
    assert list(tmp_path.iterdir()) == []  # no ./peers, no database, no data dir


def test_data_dir_option_points_every_command_at_a_node(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    database_url: str,
    engine: Engine,
) -> None:
    monkeypatch.delenv("TOPMATCH_DATA_DIR", raising=False)
    monkeypatch.setenv("TOPMATCH_DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    node = str(tmp_path / "elsewhere")
    argv = ("init", "--node-id", "werkpad", "--name", "Werkpad", "--url", "https://w.example")
    assert run(capsys, "--data-dir", node, *argv)[0] == 0
    assert (tmp_path / "elsewhere" / "topmatch.toml").is_file()
    assert run(capsys, "users", "list")[0] == 1  # ./topmatch-data is not a node
    code, out, err = run(capsys, "--data-dir", node, "users", "add", "anna", "--role", "admin")
    assert code == 0, err
    assert "tm_" in out


def test_users_add_list_revoke(node_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _init(capsys)
    code, out, _ = run(capsys, "users", "add", "anna", "--role", "consultant")
    assert code == 0
    token = re.search(r"tm_[\w-]{40,}", out)
    assert token is not None
    code, out, _ = run(capsys, "users", "list")
    assert "anna" in out
    assert token.group() not in out
    assert run(capsys, "users", "add", "anna", "--role", "admin")[0] == 1
    assert run(capsys, "users", "revoke", "anna")[0] == 0
    code, _, err = run(capsys, "users", "revoke", "bob")
    assert (code, "no account named 'bob'" in err) == (1, True)
    assert run(capsys, "users", "add", "x", "--role", "boss")[0] == 2  # usage error


def test_seed_audit_and_erase(node_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _init(capsys)
    code, out, _ = run(
        capsys,
        "seed",
        "--clients",
        "3",
        "--employers",
        "2",
        "--vacancies",
        "2",
        "--baanopeningen",
        "1",
    )
    assert code == 0
    assert "3 clients" in out
    code, out, _ = run(capsys, "audit", "--limit", "100")
    ids = re.findall(r"client\s+│\s+([0-9a-f]{32})", out)
    assert len(ids) == 3
    assert run(capsys, "clients", "erase", ids[0], "--yes")[0] == 0
    code, out, _ = run(capsys, "audit", "--entity-id", ids[0])
    assert "erase" in out
    code, _, err = run(capsys, "clients", "erase", ids[0], "--yes")
    assert code == 1
    assert "no client with id" in err


def test_db_upgrade_is_idempotent(node_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _init(capsys)
    assert run(capsys, "db", "upgrade")[0] == 0
    assert run(capsys, "db", "upgrade")[0] == 0


def test_invalid_setting_is_reported_by_name(
    node_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOPMATCH_PORT", "not-a-port")
    code, _, err = run(capsys, "users", "list")
    assert code == 1
    assert "TOPMATCH_PORT" in err


def test_committed_schemas_match_the_models(capsys: pytest.CaptureFixture[str]) -> None:
    schemas = Path(__file__).parent.parent / "schemas"
    code, out, err = run(capsys, "schemas", "export", "--check", "--out", str(schemas))
    assert code == 0, err
    assert "match the models" in out


def test_schema_drift_is_detected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "schemas", "export", "--out", str(tmp_path))[0] == 0
    stale = tmp_path / "problem.schema.json"
    stale.write_text(stale.read_text().replace('"detail"', '"details"', 1))
    (tmp_path / "old.schema.json").write_text("{}")
    code, _, err = run(capsys, "schemas", "export", "--check", "--out", str(tmp_path))
    assert code == 1
    assert "problem.schema.json: differs" in err
    assert "old.schema.json: no model generates it" in err


def test_search_and_queries_commands(node_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _init(capsys)
    assert run(capsys, "seed", "--clients", "2", "--vacancies", "6", "--employers", "2")[0] == 0
    code, out, _ = run(capsys, "search", "--limit", "3")  # everything, best first
    assert code == 0
    assert re.search(r"3 openingen getoond van \d+ passende openingen\n", out)
    assert "plaats" in out
    assert "waarom" in out
    assert "why" not in out
    code, out, _ = run(capsys, "search", "--limit", "1")
    assert "1 opening getoond van" in out
    code, _, err = run(capsys, "search", "--place", "Walwijk")
    assert code == 1
    assert "Waalwijk" in err
    code, out, _ = run(capsys, "queries")
    assert code == 0
    assert "asking peer" in out


def test_ledger_export_and_offline_verify(
    node_dir: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    engine: Engine,
) -> None:
    monkeypatch.setenv("TOPMATCH_PEERS_DIR", str(tmp_path / "peers"))
    _init(capsys)
    now = datetime.now(UTC)
    bravo = FakePeer.make("bravo", now)
    bravo.install(tmp_path / "peers")
    settings = load_settings()
    me = identity.load_identity(settings)
    own = PeerDescriptor.model_validate_json(settings.descriptor_file().read_text())
    book = KeyBook([own, bravo.descriptor])
    terms = agreement_document(members=["werkpad", "bravo"], licences=[])
    with topmatch_db.transaction(engine) as session:  # the agreement, signed by both
        settlement.propose_agreement(session, terms, me="werkpad", node=me, now=now)
        merged = settlement.merge_agreement(
            session, signed_agreement(terms, bravo), me="werkpad", book=book, now=now
        )
        assert merged == "2026-1: signed by bravo"
    entry = {
        "format": "topmatch.ledger-entry/1",
        "entry_id": entry_id_for("placement.started", "intro-0001"),
        "type": "placement.started",
        "at": now.isoformat(),
        "proposer": "werkpad",
        "payer": "bravo",
        "payee": "werkpad",
        "amount_cents": 225_000,  # half the fee for 32 hours vast
        "agreement": agreement_ref(terms),
        "placement": {
            "introduction_id": "intro-0001",
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
    out_dir = tmp_path / "bundle"
    code, out, err = run(capsys, "ledger", "export", "--out", str(out_dir))
    assert code == 0, err
    code, _, err = run(capsys, "ledger", "verify", str(out_dir))
    assert code == 1  # no anchor: the bundle cannot vouch for its own keys
    assert "no trusted keys" in err
    assert "--trusted-keys" in err
    code, out, err = run(capsys, "ledger", "verify", str(out_dir), "--trust-bundle-keys")
    assert code == 0, err
    assert out.strip().splitlines()[-2] == "OK: 1 entry, 1 checkpoint, parties bravo, werkpad"
    assert "KEYS NOT ANCHORED" in out.strip().splitlines()[-1]
    assert f"keys of bravo: {bravo.identity.key_id}" in out
    # An auditor's own copies of the descriptors: a forged bravo key in the bundle is caught.
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    (trusted / "bravo.json").write_text((out_dir / "keys" / "bravo.json").read_text())
    (trusted / "werkpad.json").write_text((out_dir / "keys" / "werkpad.json").read_text())
    code, out, err = run(capsys, "ledger", "verify", str(out_dir), "--trusted-keys", str(trusted))
    assert code == 0, err
    assert out.strip().splitlines()[-1] == "OK: 1 entry, 1 checkpoint, parties bravo, werkpad"
    forger = FakePeer.make("bravo", now)
    forged = canonical.canonical(forger.descriptor.model_dump(mode="json")) + b"\n"
    (out_dir / "keys" / "bravo.json").write_bytes(forged)
    code, _, err = run(capsys, "ledger", "verify", str(out_dir), "--trusted-keys", str(trusted))
    assert code == 1
    assert "keys/bravo.json (anchor): not the trusted descriptor of bravo" in err
    (out_dir / "keys" / "bravo.json").write_text((trusted / "bravo.json").read_text())
    lines = (out_dir / "entries.jsonl").read_text().replace("225000", "22500")
    (out_dir / "entries.jsonl").write_text(lines)
    code, _, err = run(capsys, "ledger", "verify", str(out_dir), "--trusted-keys", str(trusted))
    assert code == 1
    assert "FAILED: entries.jsonl (entries): entry 0 (line 1)" in err


def test_agreement_and_settle_commands(
    node_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _init(capsys)
    document = tmp_path / "agreement.json"
    document.write_text(json.dumps(agreement_document(members=["werkpad", "bravo"], licences=[])))
    code, out, err = run(capsys, "agreement", "propose", str(document))
    assert code == 0, err
    assert "waiting for bravo" in out
    code, out, err = run(capsys, "agreement", "sign", "2026-1")
    assert code == 0, err
    code, out, _ = run(capsys, "agreement", "show", "--json")
    assert json.loads(out)["signatures"][0]["party"] == "werkpad"
    code, _, err = run(capsys, "agreement", "show", "1999-9")
    assert code == 1
    assert "no fee agreement with version" in err
    year = datetime.now(UTC).year
    code, out, err = run(capsys, "settle", "--period", f"{year}-Q1", "--out", str(tmp_path / "s"))
    assert code == 0, err
    assert f"Afrekening {year}-Q1 (1 januari {year} t/m 31 maart {year})" in out
    assert "controlegetal van deze afrekening (sha256):" in out
    assert "€ 0,00" in out
    assert "0.00" not in out
    assert "bestanden geschreven naar" in out
    assert (tmp_path / "s" / f"topmatch-werkpad-{year}-Q1.beancount").exists()
    code, _, err = run(capsys, "settle", "--period", f"{year + 1}-Q1")
    assert code == 1
    assert "has not started yet" in err


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command path under ``group`` (typer's own click: groups have ``commands``)."""
    for name, command in getattr(group, "commands", {}).items():
        yield (*prefix, name)
        yield from _commands(command, (*prefix, name))


def test_help_shows_flags_as_on_off_without_a_type(capsys: pytest.CaptureFixture[str]) -> None:
    paths = [(), *_commands(typer.main.get_command(app))]
    assert ("settle",) in paths
    assert ("users", "add") in paths
    for path in paths:
        code, out, _ = run(capsys, *path, "--help")
        assert code == 0
        assert "<bool>" not in out, path
    assert "--force / --no-force" in run(capsys, "init", "--help")[1]


def test_counts_and_times_for_people() -> None:
    assert count(1, "opening", "openingen") == "1 opening"
    assert count(2, "overboeking", "overboekingen") == "2 overboekingen"
    assert count(0, "opening", "openingen") == "0 openingen"
    winter, summer = datetime(2026, 12, 4, 17, 40, tzinfo=UTC), datetime(2026, 7, 1, 10, 0)  # noqa: DTZ001 - a naive value, as SQLite returns
    assert local_time(winter) == "2026-12-04 18:40"
    assert local_time(summer, zone=True) == "2026-07-01 12:00 (Europe/Amsterdam)"  # naive: UTC
    assert local_time(None) == ""


@respx.mock
def test_sync_names_an_unreachable_peer_and_its_address_once(
    node_dir: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TOPMATCH_PEERS_DIR", str(tmp_path / "peers"))
    _init(capsys)
    FakePeer.make("stapverder", datetime.now(UTC), "https://stapverder.example").install(
        tmp_path / "peers"
    )
    respx.get(url__startswith="https://stapverder.example/").mock(
        side_effect=httpx.ConnectError("All connection attempts failed")
    )
    code, out, err = run(capsys, "sync")
    assert code == 1
    message = (
        "stapverder (https://stapverder.example): onbereikbaar: All connection attempts failed"
    )
    assert message in err
    assert (out + err).count("stapverder (") == 1  # once, in one format
    code, out, _ = run(capsys, "peers", "list")
    assert "onbereikbaar" in out
    assert "unreachable" in out  # its state, and when the worker tries it again
    assert "next attempt" in out


def test_netting_tells_finance_who_pays_whom_in_dutch(capsys: pytest.CaptureFixture[str]) -> None:
    proposal = NettingProposal(
        format="topmatch.netting/1",
        period="2026-Q4",
        based_on=["ab" * 32, "cd" * 32],
        positions=[
            Position(node="baanbrekers", net_cents=-332_750),
            Position(node="werkpad", net_cents=332_750),
        ],
        payments=[Payment(payer="baanbrekers", payee="werkpad", amount_cents=332_750)],
        method="exact",
        gross_cents=393_250,
        moved_cents=332_750,
    )
    _print_netting(proposal, {"baanbrekers": "Baanbrekers B.V.", "werkpad": "Werkpad"})
    out = capsys.readouterr().out
    assert "2 gesloten paren" in out
    assert "  Baanbrekers B.V. betaalt Werkpad € 3.327,50\n" in out
    assert "1 overboeking, samen € 3.327,50 (zonder verrekening € 3.932,50)" in out
    assert "pays" not in out
