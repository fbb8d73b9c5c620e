"""The ``topmatch.roster/1`` document: the signed list of a federation's member bureaus.

    {"signed": {"format": "topmatch.roster/1", "federation": ..., "version": 3,
                "issued_at": ..., "expires": ..., "threshold": 2, "members": [...]},
     "signatures": [{"node_id": ..., "key_id": ..., "sig": ...}, ...]}

Each signature is Ed25519 (RFC 8032) over the RFC 8785 canonical bytes of ``signed``, in
unpadded base64url. ``signed`` carries ``format`` so that a signature over a roster can never
be taken for a signature over any other document. The JSON Schema is
``schemas/roster.schema.json``, generated from these models; the rules that make a roster
trusted are in :mod:`topmatch.roster.verify` and docs/adr/0015-federation-roster.md.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import (
    AnyHttpUrl,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    field_validator,
    model_validator,
)

from topmatch.identity import keys

FORMAT: Final = "topmatch.roster/1"
MAX_MEMBERS: Final = 200

NodeId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]
KeyId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{43}$")]


class Purpose(StrEnum):
    """What a key may sign (issue 14, item 4)."""

    http = "http"  # RFC 9421 signatures on requests and responses between nodes
    ledger = "ledger"  # ledger entries, checkpoints, agreements and statements
    witness = "witness"  # cosignatures of peers' checkpoints


ALL_PURPOSES: Final = (Purpose.http, Purpose.ledger, Purpose.witness)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RosterKey(_Strict):
    """One Ed25519 key of a member, the window in which it is valid and what it may sign.

    Valid from ``valid_from`` (inclusive) to ``valid_until`` (exclusive; open-ended when
    absent). Outside its window a key verifies nothing.
    """

    key_id: KeyId = Field(description="RFC 7638 JWK thumbprint of the key (base64url).")
    alg: Literal["ed25519"] = "ed25519"
    public_key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{43}$")] = Field(
        description="The raw 32-byte public key, unpadded base64url."
    )
    valid_from: AwareDatetime
    valid_until: AwareDatetime | None = None
    purposes: Annotated[list[Purpose], Field(min_length=1, max_length=3)] = Field(
        description="What the key may sign: http, ledger, witness. Today every node has "
        "one key for all three."
    )

    @model_validator(mode="after")
    def _consistent(self) -> RosterKey:
        public = keys.public_from_raw(keys.b64url_decode(self.public_key))
        if keys.key_id(public) != self.key_id:
            raise ValueError(f"key_id {self.key_id} is not the thumbprint of its public_key")
        if len(set(self.purposes)) != len(self.purposes):
            raise ValueError("a purpose is listed twice")
        if self.valid_until is not None and self.valid_until <= self.valid_from:
            raise ValueError(f"key {self.key_id}: valid_until is not after valid_from")
        return self

    def valid_at(self, at: datetime) -> bool:
        return self.valid_from <= at and (self.valid_until is None or at < self.valid_until)

    def window(self) -> str:
        until = self.valid_until.isoformat() if self.valid_until else "open end"
        return f"valid {self.valid_from.isoformat()} to {until}"


class RosterMember(_Strict):
    """A member bureau: its descriptor, with every key it ever had (never deleted, so that
    what a retired key signed while valid still verifies)."""

    node_id: NodeId
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    base_url: Annotated[str, StringConstraints(max_length=2000)] = Field(
        description="Base URL at which peers reach the node (http or https)."
    )
    keys: Annotated[list[RosterKey], Field(min_length=1, max_length=100)]
    encryption_key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{43}$")] | None = (
        Field(default=None, description="X25519 public key (raw, unpadded base64url).")
    )

    @field_validator("base_url")
    @classmethod
    def _is_url(cls, value: str) -> str:
        AnyHttpUrl(value)  # kept as written: the signed bytes are the bytes written
        return value

    @field_validator("keys")
    @classmethod
    def _unique_keys(cls, value: list[RosterKey]) -> list[RosterKey]:
        if len({k.key_id for k in value}) != len(value):
            raise ValueError("key ids must be unique within a member")
        return value


class RosterSigned(_Strict):
    """The signed part of a roster."""

    format: Literal["topmatch.roster/1"] = FORMAT
    federation: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    version: Annotated[StrictInt, Field(ge=1, le=2**31)]
    issued_at: AwareDatetime = Field(
        description="When the roster was proposed; signers' keys must be valid then."
    )
    expires: AwareDatetime
    threshold: Annotated[StrictInt, Field(ge=1, le=MAX_MEMBERS)] = Field(
        description="How many distinct members must sign this roster and its successor."
    )
    members: Annotated[list[RosterMember], Field(min_length=1, max_length=MAX_MEMBERS)]

    @model_validator(mode="after")
    def _consistent(self) -> RosterSigned:
        if self.expires <= self.issued_at:
            raise ValueError("expires is not after issued_at")
        if self.threshold > len(self.members):
            raise ValueError(
                f"threshold {self.threshold} is more than the {len(self.members)} members"
            )
        ids = [m.node_id for m in self.members]
        if len(set(ids)) != len(ids):
            raise ValueError("a member is listed twice")
        owners: dict[str, str] = {}
        for member in self.members:
            for key in member.keys:
                other = owners.setdefault(key.key_id, member.node_id)
                if other != member.node_id:
                    raise ValueError(f"key {key.key_id} is listed for {other} and {member.node_id}")
        return self

    def member(self, node_id: str) -> RosterMember | None:
        return next((m for m in self.members if m.node_id == node_id), None)


class RosterSignature(_Strict):
    node_id: NodeId
    key_id: KeyId
    sig: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{86}$")] = Field(
        description="Ed25519 signature over the RFC 8785 bytes of signed, base64url."
    )


class Roster(_Strict):
    """A roster document: ``signed`` and the members' signatures over it."""

    signed: RosterSigned
    signatures: Annotated[list[RosterSignature], Field(max_length=MAX_MEMBERS * 4)] = []
