"""Drafting the next roster version (``topmatch roster propose``). Pure: no I/O, no clock.

A draft is unsigned; members sign it with ``topmatch roster sign`` and it is in force once
:func:`topmatch.roster.verify.verify_update` accepts it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import ValidationError

from topmatch.errors import input_error
from topmatch.identity.descriptor import PeerDescriptor
from topmatch.roster.errors import RosterError
from topmatch.roster.models import ALL_PURPOSES, Roster, RosterKey, RosterMember, RosterSigned


def member_from_descriptor(descriptor: PeerDescriptor) -> RosterMember:
    """A member from a bureau's ``node.json``. Today a node has one key for every purpose,
    so each key is listed for all three (docs/adr/0015-federation-roster.md)."""
    return RosterMember(
        node_id=descriptor.node_id,
        name=descriptor.name,
        base_url=str(descriptor.base_url),
        keys=[
            RosterKey(
                key_id=k.key_id,
                public_key=k.public_key,
                valid_from=k.valid_from,
                valid_until=k.valid_until,
                purposes=list(ALL_PURPOSES),
            )
            for k in descriptor.keys
        ],
        encryption_key=descriptor.encryption_key,
    )


def _merge(old: RosterMember, new: RosterMember) -> RosterMember:
    """``new``'s details with every key of ``old`` kept: a key is never deleted from the
    roster (what it signed while valid must still verify); a key in both takes ``new``'s
    window and purposes (a rotation ends the old key's window)."""
    fresh = {k.key_id: k for k in new.keys}
    kept = [fresh.pop(k.key_id, k) for k in old.keys]
    return new.model_copy(update={"keys": [*kept, *fresh.values()]})


def _members(
    current: Sequence[RosterMember], add: Sequence[RosterMember], remove: Sequence[str]
) -> list[RosterMember]:
    by_id = {m.node_id: m for m in current}
    for node_id in remove:
        if node_id not in by_id:
            raise RosterError(f"cannot remove {node_id}: not a member")
        del by_id[node_id]
    for member in add:
        old = by_id.get(member.node_id)
        by_id[member.node_id] = member if old is None else _merge(old, member)
    return sorted(by_id.values(), key=lambda m: m.node_id)


def propose(
    current: Roster,
    *,
    issued_at: datetime,
    add: Sequence[RosterMember] = (),
    remove: Sequence[str] = (),
    threshold: int | None = None,
    expires: datetime | None = None,
) -> Roster:
    """The unsigned version after ``current``: members added (or updated, keys merged),
    removed, a new threshold and expiry. The expiry defaults to the same lifetime as
    ``current``'s, counted from ``issued_at``."""
    old = current.signed
    lifetime = old.expires - old.issued_at
    return _draft(
        federation=old.federation,
        version=old.version + 1,
        issued_at=issued_at,
        expires=expires or issued_at + lifetime,
        threshold=threshold or old.threshold,
        members=_members(old.members, add, remove),
    )


def genesis(
    *,
    federation: str,
    members: Sequence[RosterMember],
    threshold: int,
    issued_at: datetime,
    expires: datetime,
) -> Roster:
    """Version 1 of a new federation, unsigned."""
    return _draft(
        federation=federation,
        version=1,
        issued_at=issued_at,
        expires=expires,
        threshold=threshold,
        members=sorted(members, key=lambda m: m.node_id),
    )


def _draft(
    *,
    federation: str,
    version: int,
    issued_at: datetime,
    expires: datetime,
    threshold: int,
    members: list[RosterMember],
) -> Roster:
    """An unsigned roster; :class:`RosterError` when it would not be valid (a threshold
    above the number of members, an expiry before ``issued_at``)."""
    try:
        signed = RosterSigned(
            federation=federation,
            version=version,
            issued_at=issued_at,
            expires=expires,
            threshold=threshold,
            members=members,
        )
    except ValidationError as e:
        problem = input_error(e, "the draft is not a valid roster")
        raise RosterError(problem.message, field=problem.field) from e
    return Roster(signed=signed, signatures=[])
