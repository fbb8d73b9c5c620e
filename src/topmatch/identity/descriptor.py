"""The public peer descriptor: what a bureau hands its peers so they can verify it.

``topmatch init`` writes this node's own to ``<data_dir>/node.json``; its peers keep it as
``<peers_dir>/<node_id>.json`` (``topmatch peers add``).
The JSON Schema is ``schemas/peer-descriptor.schema.json``, generated from these models.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator

from topmatch.identity import keys

FORMAT: Final = "topmatch.peer/1"


class PeerStatus(StrEnum):
    active = "active"
    suspended = "suspended"


class PublicKey(BaseModel):
    """One Ed25519 verification key with its validity window."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key_id: str = Field(description="RFC 7638 JWK thumbprint of the key (base64url).")
    alg: Literal["ed25519"] = "ed25519"
    public_key: str = Field(description="The raw 32-byte public key, unpadded base64url.")
    valid_from: datetime
    valid_until: datetime | None = Field(
        default=None, description="End of validity; what it signed before then stays valid."
    )

    @field_validator("public_key")
    @classmethod
    def _is_ed25519(cls, value: str) -> str:
        keys.public_from_raw(keys.b64url_decode(value))
        return value

    def matches_key_id(self) -> bool:
        """The stated key id is the thumbprint of the stated key."""
        return keys.key_id(keys.public_from_raw(keys.b64url_decode(self.public_key))) == self.key_id


class PeerDescriptor(BaseModel):
    """A node as its peers know it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["topmatch.peer/1"] = FORMAT
    node_id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    base_url: AnyHttpUrl
    keys: Annotated[list[PublicKey], Field(min_length=1)]
    encryption_key: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{43}$")] | None = Field(
        default=None,
        description="X25519 public key (raw, unpadded base64url) for encrypted handovers.",
    )
    status: PeerStatus = PeerStatus.active

    @field_validator("keys")
    @classmethod
    def _key_ids_match(cls, value: list[PublicKey]) -> list[PublicKey]:
        for key in value:
            if not key.matches_key_id():
                raise ValueError(f"key_id {key.key_id} is not the thumbprint of its public_key")
        if len({k.key_id for k in value}) != len(value):
            raise ValueError("key ids must be unique")
        return value
