"""The committed demo roster (peers/demo/) is reproducible, valid and signed by its keys."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime
from pathlib import Path

import pytest

from topmatch.identity import keys
from topmatch.roster import demo, files, verify
from topmatch.roster.models import Purpose

DEMO = Path(__file__).resolve().parent.parent / "peers" / "demo"
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_committed_files_are_what_the_seeds_give() -> None:
    for item in demo.files():
        assert (DEMO / item.path).read_bytes() == item.data, (
            f"peers/demo/{item.path} is stale: run scripts/demo_roster.py"
        )


def test_committed_demo_roster_verifies() -> None:
    roster = files.load_roster(DEMO / "roster.json")
    assert verify.verify_chain([roster], now=NOW) == roster
    assert [m.node_id for m in roster.signed.members] == ["baanbrekers", "stapverder", "werkpad"]
    valid, refused = verify.signers(roster, by=roster.signed)
    assert valid == ["baanbrekers", "stapverder", "werkpad"]
    assert refused == []


def test_demo_keys_are_the_rosters_keys_and_labelled() -> None:
    roster = files.read_roster(DEMO / "roster.json")
    for node_id, _ in demo.BUREAUS:
        pem = (DEMO / "keys" / f"{node_id}.pem").read_bytes()
        assert pem.startswith(b"DEMO ONLY.")
        key = keys.load_private_pem(pem, None)
        listed = verify.keys_for(roster, node_id, Purpose.ledger, NOW)
        assert [k.key_id for k in listed] == [keys.key_id(key.public_key())]


def test_the_script_checks_and_writes(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "demo_roster", DEMO.parent.parent / "scripts" / "demo_roster.py"
    )
    assert spec is not None
    assert spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.main(["--check", "--out", str(tmp_path)]) == 1
    assert script.main(["--out", str(tmp_path)]) == 0
    assert script.main(["--check", "--out", str(tmp_path)]) == 0
    assert script.main(["--check"]) == 0


@pytest.mark.parametrize("node_id", ["baanbrekers", "werkpad"])
def test_demo_roster_with_loopback_urls_verifies(node_id: str) -> None:
    roster = demo.roster({node_id: "http://127.0.0.1:8123"})
    member = roster.signed.member(node_id)
    assert member is not None
    assert member.base_url == "http://127.0.0.1:8123"
    assert verify.verify_pinned(roster) == roster


def test_topmatch_demo_roster_is_a_valid_update_of_the_committed_one() -> None:
    pinned = files.load_roster(DEMO / "roster.json")
    urls = {n: f"http://127.0.0.1:{8100 + i}" for i, (n, _) in enumerate(demo.BUREAUS)}
    current = demo.with_urls(pinned, urls, issued_at=NOW)
    assert verify.verify_chain([pinned, current], now=NOW) == current
    werkpad = demo.descriptor("werkpad", urls["werkpad"])
    member = current.signed.member("werkpad")
    assert member is not None
    assert [k.key_id for k in werkpad.keys] == [k.key_id for k in member.keys]
    assert werkpad.encryption_key == member.encryption_key
