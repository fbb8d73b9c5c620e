"""Verifying a federation roster, as TUF verifies root metadata. Pure: bytes and the
reference time in, a trusted roster or a precise error out; no I/O, no clock.

The rules (docs/adr/0015-federation-roster.md; TUF specification 5.3, "Update the root
role"):

- **Signatures.** A signature counts when it is Ed25519 over :func:`signed_bytes` (the RFC
  8785 canonical bytes of ``signed``) by a key that the *signing roster* lists for that
  member, and that key is valid at the ``issued_at`` of the roster being signed. Any purpose
  will do: a roster is signed by the bureau, whatever its key is for. A key outside its
  validity window verifies nothing. Each member counts once, however many signatures it put
  on the document.
- **Pinned roster** (the file shipped out of band; version 1 of a new federation): trusted
  when signed by its own threshold of its own members.
- **Update** from version N to N+1: the new version is exactly N+1, of the same federation,
  issued no earlier than N, and signed by ``threshold`` distinct members of version N *and*
  by its own threshold of its own members.
- **Expiry.** The roster in force must not be expired at the time of checking. The versions
  passed on the way through a chain may be (TUF 5.3.10 checks only the final root).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from topmatch.errors import input_error
from topmatch.identity import keys
from topmatch.identity.descriptor import PeerDescriptor, PublicKey
from topmatch.ledger import canonical
from topmatch.ledger.errors import CanonicalFormError
from topmatch.roster.errors import (
    RosterError,
    RosterExpiredError,
    RosterFormatError,
    RosterThresholdError,
    RosterVersionError,
)
from topmatch.roster.models import Purpose, Roster, RosterKey, RosterSignature, RosterSigned

_EXCERPT = 24
PINNED_RULE = "a pinned roster is signed by its own threshold"
PREVIOUS_RULE = "an update is signed by the threshold of the roster in force"
OWN_RULE = "an update is signed by its own threshold"


# --- bytes -----------------------------------------------------------------------------


def signed_bytes(signed: RosterSigned) -> bytes:
    """The bytes every member signs: the RFC 8785 canonical JSON of ``signed``."""
    return canonical.canonical(signed.model_dump(mode="json"))


def parse_roster(data: bytes) -> Roster:
    """A roster document from its bytes: JSON without duplicate members, valid as
    ``topmatch.roster/1``, and with ``signed`` in the form topmatch writes it.

    The last condition makes the model a faithful copy of what was signed: the signed bytes
    rebuilt from the model are those of the document received (no date or number spelled
    two ways), so that checking signatures against the model is checking them against the
    bytes received.
    """
    try:
        raw = json.loads(data, object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise RosterFormatError(f"the roster is not JSON: {e}") from e
    try:
        roster = Roster.model_validate(raw)
    except ValidationError as e:
        first = input_error(e, "not a valid topmatch.roster/1 document")
        raise RosterFormatError(first.message, field=first.field) from e
    _require_normal_form(raw["signed"], roster.signed)
    return roster


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise RosterFormatError(f"member name {name!r} appears twice in one object")
        result[name] = value
    return result


def _require_normal_form(raw: object, signed: RosterSigned) -> None:
    try:
        received = canonical.canonical(raw)  # type: ignore[arg-type]  # parsed JSON
    except CanonicalFormError as e:
        raise RosterFormatError(f"signed has no canonical form: {e.message}") from e
    expected = signed_bytes(signed)
    if received != expected:
        at = next(
            (i for i, (a, b) in enumerate(zip(received, expected, strict=False)) if a != b),
            min(len(received), len(expected)),
        )
        raise RosterFormatError(
            "signed is not written as topmatch writes it (dates as 2026-01-31T00:00:00Z, "
            f"no defaults left out): at canonical byte {at} expected "
            f"{expected[at : at + _EXCERPT]!r}, got {received[at : at + _EXCERPT]!r}"
        )


def dump_roster(roster: Roster) -> bytes:
    """The document as topmatch writes it: indented JSON, ending in a newline."""
    return (roster.model_dump_json(indent=2) + "\n").encode()


# --- signing ---------------------------------------------------------------------------


def sign(roster: Roster, *, node_id: str, key: Ed25519PrivateKey) -> Roster:
    """``roster`` with ``node_id``'s signature by ``key`` added (replacing an earlier one by
    the same key). The key must be one the roster lists for that member, valid at its
    ``issued_at``: a signature the rules would not count is refused here already."""
    key_id = keys.key_id(key.public_key())
    member = roster.signed.member(node_id)
    if member is None:
        raise RosterError(f"{node_id} is not a member of version {roster.signed.version}")
    listed = next((k for k in member.keys if k.key_id == key_id), None)
    if listed is None:
        raise RosterError(f"key {key_id} is not one of {node_id}'s keys in this roster")
    if not listed.valid_at(roster.signed.issued_at):
        raise RosterError(
            f"key {key_id} of {node_id} is not valid at issued_at "
            f"{roster.signed.issued_at.isoformat()} ({listed.window()})"
        )
    signature = RosterSignature(
        node_id=node_id,
        key_id=key_id,
        sig=keys.b64url(key.sign(signed_bytes(roster.signed))),
    )
    others = [s for s in roster.signatures if (s.node_id, s.key_id) != (node_id, key_id)]
    return roster.model_copy(update={"signatures": [*others, signature]})


# --- counting signatures ---------------------------------------------------------------


def _refusal(
    signature: RosterSignature, payload: bytes, signed: RosterSigned, by: RosterSigned
) -> str | None:
    """Why ``signature`` does not count for ``signed`` under the keys of ``by`` (None: it
    counts)."""
    member = by.member(signature.node_id)
    if member is None:
        return f"{signature.node_id} is not a member of version {by.version}"
    key = next((k for k in member.keys if k.key_id == signature.key_id), None)
    if key is None:
        return (
            f"key {signature.key_id} is not one of {signature.node_id}'s keys in "
            f"version {by.version}"
        )
    if not key.valid_at(signed.issued_at):
        return (
            f"key {signature.key_id} of {signature.node_id} is not valid at issued_at "
            f"{signed.issued_at.isoformat()} ({key.window()})"
        )
    try:
        keys.public_from_raw(keys.b64url_decode(key.public_key)).verify(
            keys.b64url_decode(signature.sig), payload
        )
    except (InvalidSignature, ValueError):
        return f"the signature by {signature.node_id} does not verify over signed"
    return None


def signers(roster: Roster, *, by: RosterSigned) -> tuple[list[str], list[str]]:
    """The members of ``by`` whose signatures on ``roster`` count (sorted, each once), and
    why each other signature does not count."""
    payload = signed_bytes(roster.signed)
    valid: set[str] = set()
    refused: list[str] = []
    for signature in roster.signatures:
        reason = _refusal(signature, payload, roster.signed, by)
        if reason is None:
            valid.add(signature.node_id)
        else:
            refused.append(reason)
    return sorted(valid), refused


def require_threshold(roster: Roster, *, by: RosterSigned, rule: str) -> list[str]:
    """The distinct members of ``by`` who signed ``roster``, when they are at least
    ``by.threshold``; else :class:`RosterThresholdError` naming the rule, who signed and
    how many were needed."""
    valid, refused = signers(roster, by=by)
    if len(valid) >= by.threshold:
        return valid
    members = ", ".join(m.node_id for m in by.members)
    message = (
        f"{rule}: version {roster.signed.version} needs signatures of {by.threshold} of the "
        f"{len(by.members)} members of version {by.version} ({members}); valid signatures "
        f"by {len(valid)}: {', '.join(valid) or 'none'}"
    )
    if refused:
        message += "; not counted: " + "; ".join(refused)
    raise RosterThresholdError(message)


# --- the rules -------------------------------------------------------------------------


def require_not_expired(roster: Roster, *, now: datetime) -> None:
    if now >= roster.signed.expires:
        raise RosterExpiredError(
            f"version {roster.signed.version} of the roster expired at "
            f"{roster.signed.expires.isoformat()} (checked at {now.isoformat()}): the members "
            "must sign a new version"
        )


def verify_pinned(roster: Roster) -> Roster:
    """A roster trusted because it was obtained out of band: signed by its own threshold.

    Expiry is not checked here (an auditor reads old rosters); a node checks it with
    :func:`require_not_expired` or :func:`verify_chain`.
    """
    require_threshold(
        roster, by=roster.signed, rule="a pinned roster is signed by its own threshold"
    )
    return roster


def _verify_step(current: Roster, new: Roster) -> None:
    old, nxt = current.signed, new.signed
    if nxt.federation != old.federation:
        raise RosterVersionError(
            f"the roster is of federation {nxt.federation!r}, expected {old.federation!r}"
        )
    if nxt.version != old.version + 1:
        raise RosterVersionError(
            f"a roster update must be version {old.version + 1} (the one in force is "
            f"{old.version}), got version {nxt.version}"
        )
    if nxt.issued_at < old.issued_at:
        raise RosterVersionError(
            f"version {nxt.version} is issued at {nxt.issued_at.isoformat()}, before version "
            f"{old.version} ({old.issued_at.isoformat()})"
        )
    require_threshold(
        new, by=old, rule="an update is signed by the threshold of the roster in force"
    )
    require_threshold(new, by=nxt, rule="an update is signed by its own threshold")


def verify_update(current: Roster, new: Roster, *, now: datetime) -> Roster:
    """``new`` when it validly follows ``current`` (the roster in force) and is not expired
    at ``now``; else the :class:`RosterError` naming the rule it breaks."""
    _verify_step(current, new)
    require_not_expired(new, now=now)
    return new


def verify_chain(rosters: Sequence[Roster], *, now: datetime) -> Roster:
    """The roster in force at the end of a chain: ``rosters[0]`` is pinned (signed by its own
    threshold), each next one a valid update of the one before, the last not expired."""
    current = follow_chain(rosters)
    require_not_expired(current, now=now)
    return current


def follow_chain(rosters: Sequence[Roster]) -> Roster:
    """:func:`verify_chain` without the expiry check: the last version the chain validly
    reaches, expired or not (what a node holds and serves)."""
    if not rosters:
        raise RosterError("no roster to verify")
    ordered = _distinct_versions(rosters)
    current = verify_pinned(ordered[0])
    for new in ordered[1:]:
        _verify_step(current, new)
        current = new
    return current


def _distinct_versions(rosters: Sequence[Roster]) -> list[Roster]:
    """The rosters by version, a version given twice counted once (the later copy: it may
    carry more signatures). Two different ``signed`` parts with one version number are
    refused: the federation forked (or someone tried)."""
    by_version: dict[int, Roster] = {}
    for roster in rosters:
        seen = by_version.get(roster.signed.version)
        if seen is not None and seen.signed != roster.signed:
            raise RosterVersionError(f"two different rosters claim version {roster.signed.version}")
        by_version[roster.signed.version] = roster
    return [by_version[v] for v in sorted(by_version)]


# --- answers from the roster in force ----------------------------------------------------


def keys_for(roster: Roster, node_id: str, purpose: Purpose, at: datetime) -> list[RosterKey]:
    """The keys that may sign for ``node_id`` for ``purpose`` at ``at`` (none for a
    non-member)."""
    member = roster.signed.member(node_id)
    if member is None:
        return []
    return [k for k in member.keys if purpose in k.purposes and k.valid_at(at)]


def trusted_descriptors(roster: Roster, *, purpose: Purpose | None = None) -> list[PeerDescriptor]:
    """The members as peer descriptors with every key (and its window) the roster lists,
    or only the keys for ``purpose``; a member without such a key is left out.

    This anchors keys in the roster: a ledger bundle's own ``keys/`` need not be trusted.
    The roster's own signatures are not checked here (see :func:`verify_pinned`).
    """
    result = []
    for member in roster.signed.members:
        listed = [k for k in member.keys if purpose is None or purpose in k.purposes]
        if not listed:
            continue
        result.append(
            PeerDescriptor(
                node_id=member.node_id,
                name=member.name,
                base_url=member.base_url,
                keys=[
                    PublicKey(
                        key_id=k.key_id,
                        public_key=k.public_key,
                        valid_from=k.valid_from,
                        valid_until=k.valid_until,
                    )
                    for k in listed
                ],
                encryption_key=member.encryption_key,
            )
        )
    return result


def require_every_signature(rosters: Sequence[Roster]) -> None:
    """Every signature on a linked chain counts: by a key the version itself lists for its
    member, or (for an update) the version before it. Stricter than :func:`follow_chain`,
    which needs only the thresholds: an archived chain (a ledger bundle's ``roster/``)
    carries no signature that does not verify. Version 1 is signed by its own members only.
    When the chain starts at a later version, signatures on it by nodes that are not its
    members cannot be checked (the version before is not at hand) and are left alone."""
    ordered = _distinct_versions(rosters)
    before: RosterSigned | None = None
    for roster in ordered:
        payload = signed_bytes(roster.signed)
        for signature in roster.signatures:
            under = [roster.signed] if before is None else [roster.signed, before]
            first = before is None and roster.signed.version > 1
            if first and roster.signed.member(signature.node_id) is None:
                continue
            reasons = [_refusal(signature, payload, roster.signed, by) for by in under]
            if all(reasons):
                why = "; ".join(dict.fromkeys(r for r in reasons if r))
                raise RosterThresholdError(
                    f"version {roster.signed.version}: a signature does not count: {why}"
                )
        before = roster.signed


def descriptors_across(
    rosters: Sequence[Roster], *, purpose: Purpose | None = None
) -> list[PeerDescriptor]:
    """Every member's keys over a validly linked chain of rosters, for checking old
    signatures (an auditor's anchor for ledger bundles spanning several versions).

    The chain is checked as :func:`follow_chain` does (expiry aside). A key keeps the window
    of the latest version that lists it; a key that a later version no longer lists is
    trusted only until that version was issued (dropping a key revokes it from then on).
    A member's name, address and encryption key are those of the latest version listing it.
    With ``purpose``, only the keys listed for it (a member without one is left out).
    """
    follow_chain(rosters)
    merged: dict[str, PeerDescriptor] = {}
    for roster in _distinct_versions(rosters):
        issued = roster.signed.issued_at
        listed = {d.node_id: d for d in trusted_descriptors(roster, purpose=purpose)}
        for node_id, before in list(merged.items()):
            now_listed = listed.get(node_id)
            kept_ids = {k.key_id for k in now_listed.keys} if now_listed else set()
            dropped = [
                k.model_copy(update={"valid_until": _earliest(k.valid_until, issued)})
                for k in before.keys
                if k.key_id not in kept_ids
            ]
            if now_listed is None:
                merged[node_id] = before.model_copy(update={"keys": dropped})
            else:
                merged[node_id] = now_listed.model_copy(
                    update={"keys": [*now_listed.keys, *dropped]}
                )
        for node_id, descriptor in listed.items():
            merged.setdefault(node_id, descriptor)
    return [merged[node_id] for node_id in sorted(merged)]


def _earliest(until: datetime | None, issued: datetime) -> datetime:
    return issued if until is None or issued < until else until
