"""The federation roster's pure core: format, signatures, TUF-style update rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from topmatch.identity import keys
from topmatch.roster import edit, files, verify
from topmatch.roster.errors import (
    RosterError,
    RosterExpiredError,
    RosterFormatError,
    RosterThresholdError,
    RosterVersionError,
)
from topmatch.roster.models import (
    ALL_PURPOSES,
    Purpose,
    Roster,
    RosterKey,
    RosterMember,
    RosterSignature,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 6, 1, tzinfo=UTC)
NAMES = ("alfa", "bravo", "charlie", "delta")
PRIVATE = {
    name: Ed25519PrivateKey.from_private_bytes(bytes([i + 1]) * 32) for i, name in enumerate(NAMES)
}


def rkey(
    private: Ed25519PrivateKey,
    *,
    valid_from: datetime = T0 - timedelta(days=30),
    valid_until: datetime | None = None,
    purposes: tuple[Purpose, ...] = ALL_PURPOSES,
) -> RosterKey:
    public = private.public_key()
    return RosterKey(
        key_id=keys.key_id(public),
        public_key=keys.b64url(keys.raw_public(public)),
        valid_from=valid_from,
        valid_until=valid_until,
        purposes=list(purposes),
    )


def member(name: str, *extra: RosterKey) -> RosterMember:
    return RosterMember(
        node_id=name,
        name=f"Bureau {name.title()}",
        base_url=f"https://{name}.example",
        keys=[rkey(PRIVATE[name]), *extra],
    )


def signed_by(roster: Roster, *names: str) -> Roster:
    for name in names:
        roster = verify.sign(roster, node_id=name, key=PRIVATE[name])
    return roster


def first(threshold: int = 2, names: tuple[str, ...] = NAMES[:3]) -> Roster:
    return edit.genesis(
        federation="Demo",
        members=[member(n) for n in names],
        threshold=threshold,
        issued_at=T0,
        expires=T0 + timedelta(days=365),
    )


def test_pinned_roster_needs_its_own_threshold() -> None:
    roster = first()
    assert verify.verify_pinned(signed_by(roster, "alfa", "bravo"))
    with pytest.raises(RosterThresholdError) as caught:
        verify.verify_pinned(signed_by(roster, "alfa"))
    message = caught.value.message
    assert "needs signatures of 2 of the 3 members of version 1" in message
    assert "valid signatures by 1: alfa" in message


def test_duplicate_signer_counts_once() -> None:
    second_key = Ed25519PrivateKey.from_private_bytes(b"\x09" * 32)
    roster = edit.genesis(
        federation="Demo",
        members=[member("alfa", rkey(second_key)), member("bravo"), member("charlie")],
        threshold=2,
        issued_at=T0,
        expires=T0 + timedelta(days=365),
    )
    twice = verify.sign(signed_by(roster, "alfa"), node_id="alfa", key=second_key)
    assert len(twice.signatures) == 2
    with pytest.raises(RosterThresholdError, match="valid signatures by 1: alfa"):
        verify.verify_pinned(twice)
    # the same signature copied counts once too
    copied = roster.model_copy(update={"signatures": signed_by(roster, "alfa").signatures * 2})
    with pytest.raises(RosterThresholdError, match="by 1: alfa"):
        verify.verify_pinned(copied)


def test_update_needs_threshold_of_previous_and_own() -> None:
    v1 = signed_by(first(), "alfa", "bravo")
    v2 = edit.propose(v1, issued_at=T0 + timedelta(days=1), add=[member("delta")], threshold=3)
    # delta and charlie: 1 of v1's members (charlie) is below v1's threshold of 2
    with pytest.raises(RosterThresholdError) as caught:
        verify.verify_update(v1, signed_by(v2, "charlie", "delta"), now=NOW)
    assert caught.value.message.startswith(verify.PREVIOUS_RULE)
    assert "delta is not a member of version 1" in caught.value.message
    # alfa and bravo: v1's threshold met, but v2's own threshold of 3 is not
    with pytest.raises(RosterThresholdError) as caught:
        verify.verify_update(v1, signed_by(v2, "alfa", "bravo"), now=NOW)
    assert caught.value.message.startswith(verify.OWN_RULE)
    assert "needs signatures of 3 of the 4 members of version 2" in caught.value.message
    good = signed_by(v2, "alfa", "bravo", "delta")
    assert verify.verify_update(v1, good, now=NOW) == good
    assert verify.verify_chain([good, v1], now=NOW) == good


def test_wrong_version_is_refused() -> None:
    v1 = signed_by(first(), "alfa", "bravo")
    v2 = edit.propose(v1, issued_at=T0 + timedelta(days=1))
    v3 = signed_by(edit.propose(v2, issued_at=T0 + timedelta(days=2)), "alfa", "bravo")
    with pytest.raises(RosterVersionError, match=r"must be version 2 .* got version 3"):
        verify.verify_update(v1, v3, now=NOW)
    with pytest.raises(RosterVersionError, match="must be version 2"):
        verify.verify_update(v1, v1, now=NOW)


def test_backdated_update_is_refused() -> None:
    v1 = signed_by(first(), "alfa", "bravo")
    v2 = signed_by(edit.propose(v1, issued_at=T0 - timedelta(days=1)), "alfa", "bravo")
    with pytest.raises(RosterVersionError, match="before version 1"):
        verify.verify_update(v1, v2, now=NOW)


def test_expired_roster_is_refused_but_chain_passes_through_old_versions() -> None:
    v1 = signed_by(first(), "alfa", "bravo")
    later = T0 + timedelta(days=400)
    v2 = signed_by(
        edit.propose(v1, issued_at=T0 + timedelta(days=10), expires=later + timedelta(days=30)),
        "alfa",
        "bravo",
    )
    with pytest.raises(RosterExpiredError, match="expired at 2027-01-01"):
        verify.verify_chain([v1], now=later)
    assert verify.verify_chain([v1, v2], now=later) == v2
    with pytest.raises(RosterExpiredError):
        verify.verify_update(v1, v2, now=later + timedelta(days=31))


def test_key_outside_its_window_verifies_nothing() -> None:
    retired = RosterMember(
        node_id="alfa",
        name="Bureau Alfa",
        base_url="https://alfa.example",
        keys=[rkey(PRIVATE["alfa"], valid_until=T0 - timedelta(days=1))],
    )
    roster = edit.genesis(
        federation="Demo",
        members=[retired, member("bravo"), member("charlie")],
        threshold=2,
        issued_at=T0,
        expires=T0 + timedelta(days=365),
    )
    with pytest.raises(RosterError, match="not valid at issued_at"):
        verify.sign(roster, node_id="alfa", key=PRIVATE["alfa"])
    # a signature made anyway (by hand) is not counted, and the error says why
    forged = roster.model_copy(
        update={
            "signatures": [
                *signed_by(roster, "bravo").signatures,
                RosterSignature(
                    node_id="alfa",
                    key_id=retired.keys[0].key_id,
                    sig=keys.b64url(PRIVATE["alfa"].sign(verify.signed_bytes(roster.signed))),
                ),
            ]
        }
    )
    with pytest.raises(RosterThresholdError, match=r"key .* of alfa is not valid at issued_at"):
        verify.verify_pinned(forged)


def test_tampered_byte_is_refused() -> None:
    roster = signed_by(first(), "alfa", "bravo")
    data = verify.dump_roster(roster)
    tampered = data.replace(b'"threshold": 2', b'"threshold": 1')
    assert tampered != data
    with pytest.raises(RosterThresholdError, match="does not verify"):
        verify.verify_pinned(verify.parse_roster(tampered))


def test_round_trip_and_normal_form() -> None:
    roster = signed_by(first(), "alfa", "bravo")
    data = verify.dump_roster(roster)
    assert verify.parse_roster(data) == roster
    spelled_otherwise = data.replace(b"2026-01-01T00:00:00Z", b"2026-01-01T00:00:00+00:00")
    with pytest.raises(RosterFormatError, match="not written as topmatch writes it"):
        verify.parse_roster(spelled_otherwise)
    with pytest.raises(RosterFormatError, match="appears twice"):
        verify.parse_roster(b'{"signed": {}, "signed": {}}')
    with pytest.raises(RosterFormatError, match="not JSON"):
        verify.parse_roster(b"{")
    with pytest.raises(RosterFormatError):
        verify.parse_roster(json.dumps({"signed": {"format": "other/1"}}).encode())


def test_threshold_above_members_is_refused() -> None:
    with pytest.raises(RosterError, match="threshold 4 is more than the 3 members"):
        first(threshold=4)
    v1 = signed_by(first(threshold=3), "alfa", "bravo", "charlie")
    with pytest.raises(RosterError, match="threshold 3 is more than the 2 members"):
        edit.propose(v1, issued_at=T0, remove=["charlie"])


def test_keys_for_and_trusted_descriptors() -> None:
    new = Ed25519PrivateKey.from_private_bytes(b"\x0a" * 32)
    rotated = member("alfa", rkey(new, valid_from=T0 + timedelta(days=10)))
    rotated = rotated.model_copy(
        update={
            "keys": [
                rkey(PRIVATE["alfa"], valid_until=T0 + timedelta(days=20)),
                rkey(new, valid_from=T0 + timedelta(days=10), purposes=(Purpose.http,)),
            ]
        }
    )
    roster = edit.genesis(
        federation="Demo",
        members=[rotated, member("bravo")],
        threshold=1,
        issued_at=T0,
        expires=T0 + timedelta(days=365),
    )
    at = T0 + timedelta(days=15)
    assert len(verify.keys_for(roster, "alfa", Purpose.http, at)) == 2
    assert len(verify.keys_for(roster, "alfa", Purpose.ledger, at)) == 1
    assert verify.keys_for(roster, "alfa", Purpose.ledger, T0 + timedelta(days=30)) == []
    assert verify.keys_for(roster, "nobody", Purpose.http, at) == []
    descriptors = verify.trusted_descriptors(roster)
    assert [d.node_id for d in descriptors] == ["alfa", "bravo"]
    assert len(descriptors[0].keys) == 2
    assert descriptors[0].keys[0].valid_until == T0 + timedelta(days=20)
    ledger_only = verify.trusted_descriptors(roster, purpose=Purpose.ledger)
    assert len(ledger_only[0].keys) == 1


def test_propose_keeps_retired_keys_and_removes_members() -> None:
    v1 = signed_by(first(), "alfa", "bravo")
    new = Ed25519PrivateKey.from_private_bytes(b"\x0b" * 32)
    rotated = RosterMember(
        node_id="alfa",
        name="Bureau Alfa",
        base_url="https://alfa.example",
        keys=[rkey(new, valid_from=T0 + timedelta(days=1))],
    )
    v2 = edit.propose(v1, issued_at=T0 + timedelta(days=1), add=[rotated], remove=["charlie"])
    alfa = v2.signed.member("alfa")
    assert alfa is not None
    assert len(alfa.keys) == 2
    assert v2.signed.member("charlie") is None
    assert v2.signed.expires - v2.signed.issued_at == timedelta(days=365)
    with pytest.raises(RosterError, match="not a member"):
        edit.propose(v1, issued_at=T0, remove=["zulu"])


SIGNED = verify.signed_bytes(signed_by(first(), "alfa", "bravo").signed)


@hypothesis_settings(max_examples=200, deadline=None)
@given(position=st.integers(0, len(SIGNED) - 1), value=st.integers(0, 255))
def test_any_byte_change_to_signed_fails(position: int, value: int) -> None:
    """Whatever byte of ``signed`` changes, the document no longer verifies: it no longer
    parses, or it is refused for its form, or the signatures no longer count."""
    roster = signed_by(first(), "alfa", "bravo")
    if SIGNED[position] == value:
        value = (value + 1) % 256
    mutated = bytearray(SIGNED)
    mutated[position] = value
    signatures = json.dumps([s.model_dump() for s in roster.signatures]).encode()
    document = b'{"signed": ' + bytes(mutated) + b', "signatures": ' + signatures + b"}"
    with pytest.raises(RosterError):
        verify.verify_pinned(verify.parse_roster(document))


def test_load_roster_checks_its_own_threshold(tmp_path: Path) -> None:
    path = tmp_path / "roster.json"
    files.write_roster(path, signed_by(first(), "alfa", "bravo"))
    assert files.load_roster(path).signed.version == 1
    files.write_roster(path, signed_by(first(), "alfa"))
    assert files.read_roster(path).signed.version == 1  # form only
    with pytest.raises(RosterThresholdError, match=r"roster\.json: a pinned roster"):
        files.load_roster(path)
    with pytest.raises(RosterError, match="cannot read"):
        files.load_roster(tmp_path / "missing.json")


def test_descriptors_across_versions_anchor_old_and_new_keys(tmp_path: Path) -> None:
    """An auditor's anchor for bundles spanning roster versions: keys rotated in later are
    added; a member removed keeps its keys only until the version that removed it."""
    v1 = signed_by(first(), "alfa", "bravo")
    new = Ed25519PrivateKey.from_private_bytes(b"\x0c" * 32)
    rotated = member("alfa", rkey(new, valid_from=T0 + timedelta(days=1)))
    issued = T0 + timedelta(days=2)
    v2 = signed_by(
        edit.propose(v1, issued_at=issued, add=[rotated], remove=["charlie"]), "alfa", "bravo"
    )
    descriptors = {d.node_id: d for d in verify.descriptors_across([v2, v1])}
    assert sorted(descriptors) == ["alfa", "bravo", "charlie"]
    assert {k.key_id for k in descriptors["alfa"].keys} == {
        keys.key_id(PRIVATE["alfa"].public_key()),
        keys.key_id(new.public_key()),
    }
    (charlie,) = descriptors["charlie"].keys
    assert charlie.valid_until == issued  # removed: trusted until version 2 was issued
    assert descriptors["bravo"].keys[0].valid_until is None

    # through files, in any order; a version 2 below version 1's threshold is refused
    for n, roster in ((1, v1), (2, v2)):
        files.write_roster(tmp_path / f"{n}.json", roster)
    read = [files.read_roster(tmp_path / name) for name in ("2.json", "1.json")]
    anchored = verify.descriptors_across(read)
    assert [d.node_id for d in anchored] == ["alfa", "bravo", "charlie"]
    verify.require_every_signature(read)
    short = v2.model_copy(update={"signatures": v2.signatures[:1]})
    with pytest.raises(RosterThresholdError, match="version 2 needs signatures of 2"):
        verify.descriptors_across([v1, short])
    # a signature by a stranger on an otherwise valid chain: the thresholds hold, but an
    # archived chain must not carry it
    stranger = Ed25519PrivateKey.from_private_bytes(b"\x0d" * 32)
    forged = RosterSignature(
        node_id="delta",
        key_id=keys.key_id(stranger.public_key()),
        sig=keys.b64url(stranger.sign(verify.signed_bytes(v2.signed))),
    )
    extra = v2.model_copy(update={"signatures": [*v2.signatures, forged]})
    verify.follow_chain([v1, extra])
    with pytest.raises(RosterThresholdError, match="delta is not a member"):
        verify.require_every_signature([v1, extra])
