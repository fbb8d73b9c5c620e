"""``topmatch roster propose|sign|show|verify`` through ``main(argv)``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from topmatch.cli import main
from topmatch.identity import keys
from topmatch.identity.descriptor import PeerDescriptor, PublicKey
from topmatch.roster import files

Run = tuple[int, str, str]
NAMES = ("alfa", "bravo", "charlie")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> Run:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def bureaus(tmp_path: Path) -> Path:
    """For each bureau, ``<name>.pem`` (its key) and ``<name>.json`` (its descriptor)."""
    for index, name in enumerate(NAMES):
        key = Ed25519PrivateKey.from_private_bytes(bytes([index + 1]) * 32)
        (tmp_path / f"{name}.pem").write_bytes(keys.private_pem(key, None))
        public = key.public_key()
        descriptor = PeerDescriptor(
            node_id=name,
            name=f"Bureau {name.title()}",
            base_url=f"https://{name}.example",
            keys=[
                PublicKey(
                    key_id=keys.key_id(public),
                    public_key=keys.b64url(keys.raw_public(public)),
                    valid_from=datetime(2020, 1, 1, tzinfo=UTC),
                )
            ],
        )
        (tmp_path / f"{name}.json").write_text(descriptor.model_dump_json())
    return tmp_path


def sign(capsys: pytest.CaptureFixture[str], folder: Path, file: Path, name: str) -> Run:
    return run(
        capsys,
        "roster",
        "sign",
        str(file),
        "--key-file",
        str(folder / f"{name}.pem"),
        "--node-id",
        name,
    )


def test_propose_sign_verify_a_chain(bureaus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    v1, v2 = bureaus / "v1.json", bureaus / "v2.json"
    adds = [arg for n in NAMES for arg in ("--add", str(bureaus / f"{n}.json"))]
    code, output, _ = run(
        capsys,
        "roster",
        "propose",
        "--federation",
        "Demo",
        *adds,
        "--threshold",
        "2",
        "--expires",
        "2099-01-01",
        "-o",
        str(v1),
    )
    assert code == 0, output
    assert "wrote version 1 of Demo" in output
    code, _, error = run(capsys, "roster", "verify", str(v1))
    assert code == 1
    assert "needs signatures of 2 of the 3 members of version 1" in error
    assert sign(capsys, bureaus, v1, "alfa")[0] == 0
    code, output, _ = sign(capsys, bureaus, v1, "bravo")
    assert "signed by 2 of the 2 needed: alfa, bravo" in output
    code, output, _ = run(capsys, "roster", "verify", str(v1))
    assert code == 0
    assert "OK: version 1 of Demo" in output

    code, output, _ = run(
        capsys, "roster", "propose", "--from", str(v1), "--remove", "charlie", "-o", str(v2)
    )
    assert code == 0, output
    sign(capsys, bureaus, v2, "alfa")
    code, _, error = run(capsys, "roster", "verify", str(v2), "--previous", str(v1))
    assert code == 1
    assert "an update is signed by the threshold of the roster in force" in error
    assert "valid signatures by 1: alfa" in error
    sign(capsys, bureaus, v2, "bravo")
    # a folder of earlier versions that holds the file itself too
    code, output, _ = run(capsys, "roster", "verify", str(v2), "--previous", str(bureaus))
    assert code == 1  # the folder also holds the descriptors, which are no rosters
    history = bureaus / "history"
    history.mkdir()
    files.write_roster(history / "1.json", files.read_roster(v1))
    files.write_roster(history / "2.json", files.read_roster(v2))
    code, output, _ = run(capsys, "roster", "verify", str(v2), "--previous", str(history))
    assert code == 0, output
    assert "chain 1..2" in output
    code, _, error = run(capsys, "roster", "verify", str(v1), "--previous", str(history))
    assert code == 1
    assert "the chain goes on to version 2" in error

    code, output, _ = run(capsys, "roster", "show", str(v2))
    assert code == 0
    assert "Demo version 2" in output
    assert "threshold 2 of 2; valid signatures by 2: alfa, bravo" in output
    assert "http, ledger, witness" in output
    assert "charlie" not in output


def test_sign_with_a_key_the_roster_does_not_list(
    bureaus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v1 = bureaus / "v1.json"
    run(
        capsys,
        "roster",
        "propose",
        "--federation",
        "Demo",
        "--add",
        str(bureaus / "alfa.json"),
        "--expires",
        "2099-01-01",
        "-o",
        str(v1),
    )
    code, _, error = run(
        capsys,
        "roster",
        "sign",
        str(v1),
        "--key-file",
        str(bureaus / "bravo.pem"),
        "--node-id",
        "alfa",
    )
    assert code == 1
    assert "is not one of alfa's keys" in error


def test_propose_version_one_needs_its_options(
    bureaus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, error = run(capsys, "roster", "propose", "-o", str(bureaus / "v1.json"))
    assert code == 1
    assert "version 1 needs --federation" in error


def test_sign_as_this_node(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TOPMATCH_DATA_DIR", str(tmp_path / "node"))
    assert (
        main(["init", "--node-id", "werkpad", "--name", "Werkpad", "--url", "https://w.example"])
        == 0
    )
    draft = tmp_path / "v1.json"
    node_json = tmp_path / "node" / "node.json"
    run(
        capsys,
        "roster",
        "propose",
        "--federation",
        "Solo",
        "--add",
        str(node_json),
        "--expires",
        "2099-01-01T12:00:00+01:00",
        "-o",
        str(draft),
    )
    code, output, _ = run(capsys, "roster", "sign", str(draft))
    assert code == 0, output
    assert "signed version 1 as werkpad" in output
    assert run(capsys, "roster", "verify", str(draft))[0] == 0


def test_accept_takes_a_newer_version_into_the_node(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TOPMATCH_DATA_DIR", str(tmp_path / "node"))
    assert main(["init", "--node-id", "werkpad", "--name", "W", "--url", "https://w.example"]) == 0
    v1, v2 = tmp_path / "v1.json", tmp_path / "v2.json"
    node_json = str(tmp_path / "node" / "node.json")
    run(
        capsys,
        "roster",
        "propose",
        "--federation",
        "Solo",
        "--add",
        node_json,
        "--expires",
        "2099-01-01",
        "-o",
        str(v1),
    )
    run(capsys, "roster", "sign", str(v1))
    monkeypatch.setenv("TOPMATCH_ROSTER_FILE", str(v1))
    run(capsys, "roster", "propose", "--from", str(v1), "-o", str(v2))
    code, _, error = run(capsys, "roster", "accept", str(v2))
    assert code == 1
    assert "needs signatures of 1 of the 1 members of version 1" in error
    run(capsys, "roster", "sign", str(v2))
    code, output, _ = run(capsys, "roster", "accept", str(v2))
    assert code == 0, output
    assert "version 2 accepted; queued for no other member" in output
    assert (tmp_path / "node" / "roster" / "2.json").exists()
    assert "holds already" in run(capsys, "roster", "accept", str(v2))[1]
