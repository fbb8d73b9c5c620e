"""Creating and loading this node's identity on disk."""

from __future__ import annotations

import json
import os
import secrets
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from pydantic import ValidationError

from topmatch.errors import ConfigurationError, InputError, input_error
from topmatch.explain import NODE_ID_RULE
from topmatch.identity import keys
from topmatch.identity.descriptor import PeerDescriptor, PublicKey
from topmatch.settings import Settings

SECRET_BYTES = 32


@dataclass(frozen=True)
class NodeIdentity:
    """The loaded signing key with its id."""

    private_key: Ed25519PrivateKey
    key_id: str


def write_private(path: Path, data: bytes, *, force: bool) -> None:
    """Write a secret file with mode 0600 from the start: never readable by others."""
    if path.exists() and not force:
        raise ConfigurationError(f"{path} already exists; use --force to replace it")
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def create_identity(
    *, settings: Settings, node_id: str, name: str, url: str, now: datetime, force: bool
) -> PeerDescriptor:
    """Generate the key pair and card-box secret; write key, secret, descriptor and config.

    Refuses to replace an existing key unless ``force``: a lost key means peers can no
    longer verify this node, so replacing one is never silent.
    """
    key = keys.generate()
    public = key.public_key()
    try:
        descriptor = _descriptor(node_id=node_id, name=name, url=url, public=public, now=now)
    except ValidationError as e:
        raise _init_error(e, node_id=node_id, url=url) from e
    previous = _previous_keys(settings, now)
    if previous:
        descriptor = descriptor.model_copy(update={"keys": [*previous, *descriptor.keys]})
    write_private(
        settings.resolved_key_file(), keys.private_pem(key, settings.passphrase()), force=force
    )
    # Only once the signing key is written: a refused init leaves no new files behind.
    descriptor = _with_encryption_key(descriptor, ensure_encryption_key(settings))
    secret_file = settings.resolved_cardbox_secret_file()
    if not secret_file.exists():  # the secret encrypts stored BSNs: never regenerate it
        write_private(secret_file, secrets.token_bytes(SECRET_BYTES), force=False)
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    settings.descriptor_file().write_text(descriptor.model_dump_json(indent=2) + "\n")
    _write_config(settings.data_dir / "topmatch.toml", node_id=node_id, name=name, url=url)
    return descriptor


def _previous_keys(settings: Settings, now: datetime) -> list[PublicKey]:
    """Keys of an identity being replaced (``--force``): retired now, but kept, so that what
    they signed while valid still verifies."""
    path = settings.descriptor_file()
    if not settings.resolved_key_file().exists() or not path.exists():
        return []
    try:
        old = PeerDescriptor.model_validate_json(path.read_text())
    except ValidationError:
        return []
    return [
        k
        if k.valid_until is not None and k.valid_until <= now
        else k.model_copy(update={"valid_until": now})
        for k in old.keys
    ]


def _init_error(error: ValidationError, *, node_id: str, url: str) -> InputError:
    """What ``topmatch init`` was given that cannot be used, in words rather than a regex."""
    fields = {str(item["loc"][0]) for item in error.errors() if item["loc"]}
    if "node_id" in fields:
        return InputError(f"{NODE_ID_RULE}; got {node_id!r}", field="node_id")
    if "base_url" in fields:
        return InputError(
            "the full web address at which peers reach this node, starting with http:// "
            f"or https:// (e.g. https://topmatch.baanbrekers.nl); got {url!r}",
            field="url",
        )
    return input_error(error)


def _descriptor(
    *, node_id: str, name: str, url: str, public: Ed25519PublicKey, now: datetime
) -> PeerDescriptor:
    return PeerDescriptor(
        node_id=node_id,
        name=name,
        base_url=url,
        keys=[
            PublicKey(
                key_id=keys.key_id(public),
                public_key=keys.b64url(keys.raw_public(public)),
                valid_from=now,
            )
        ],
    )


def _write_config(path: Path, *, node_id: str, name: str, url: str) -> None:
    """Set the identity keys in the config file, keeping whatever else the admin put there."""
    values: dict[str, object] = {}
    if path.exists():
        try:
            values = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as e:
            raise ConfigurationError(f"cannot update {path}: {e}") from e
    values.update(node_id=node_id, display_name=name, public_url=url)
    lines = ["# Written by `topmatch init`; environment variables TOPMATCH_* override these."]
    lines += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n")


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    raise ConfigurationError(f"cannot keep setting of type {type(value).__name__} in the config")


def add_encryption_key(settings: Settings) -> PeerDescriptor:
    """Give an existing node its X25519 key (kept if it has one) and put it in node.json."""
    try:
        current = PeerDescriptor.model_validate_json(settings.descriptor_file().read_text())
    except FileNotFoundError as e:
        raise ConfigurationError(
            f"no descriptor at {settings.descriptor_file()}: run `topmatch init` first"
        ) from e
    descriptor = _with_encryption_key(current, ensure_encryption_key(settings))
    settings.descriptor_file().write_text(descriptor.model_dump_json(indent=2) + "\n")
    return descriptor


def _with_encryption_key(descriptor: PeerDescriptor, key: X25519PrivateKey) -> PeerDescriptor:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return descriptor.model_copy(update={"encryption_key": keys.b64url(raw)})


def encryption_key_file(settings: Settings) -> Path:
    return settings.data_dir / "node-x25519.pem"


def ensure_encryption_key(settings: Settings) -> X25519PrivateKey:
    """The node's X25519 key for encrypted handovers, made on first use (mode 0600)."""
    path = encryption_key_file(settings)
    if path.exists():
        return load_encryption_key(settings)
    key = X25519PrivateKey.generate()
    passphrase = settings.passphrase()
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    write_private(
        path,
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        ),
        force=False,
    )
    return key


def load_encryption_key(settings: Settings) -> X25519PrivateKey:
    path = encryption_key_file(settings)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=settings.passphrase())
    except FileNotFoundError as e:
        raise ConfigurationError(
            f"no encryption key at {path}: run `topmatch keys encryption` or restore it"
        ) from e
    except (TypeError, ValueError) as e:
        raise ConfigurationError(f"cannot read the encryption key {path}: {e}") from e
    if not isinstance(key, X25519PrivateKey):
        raise ConfigurationError(f"{path} must hold an X25519 key")
    return key


def load_identity(settings: Settings) -> NodeIdentity:
    path = settings.resolved_key_file()
    try:
        pem = path.read_bytes()
    except FileNotFoundError as e:
        raise ConfigurationError(
            f"no node key at {path}: run `topmatch init` first (or set TOPMATCH_KEY_FILE)"
        ) from e
    key = keys.load_private_pem(pem, settings.passphrase())
    return NodeIdentity(private_key=key, key_id=keys.key_id(key.public_key()))


def load_cardbox_secret(settings: Settings) -> bytes:
    path = settings.resolved_cardbox_secret_file()
    try:
        secret = path.read_bytes()
    except FileNotFoundError as e:
        raise ConfigurationError(
            f"no card-box secret at {path}: run `topmatch init` first "
            "(or restore it from backup: without it, stored BSNs cannot be read)"
        ) from e
    if len(secret) != SECRET_BYTES:
        raise ConfigurationError(
            f"card-box secret {path} must be {SECRET_BYTES} bytes, got {len(secret)}"
        )
    return secret


def rotate_key(*, settings: Settings, now: datetime, overlap: timedelta) -> PeerDescriptor:
    """Start signing with a new key; the old one stays valid for ``overlap``, then retires.

    The descriptor keeps every key it ever listed (a retired key still verifies what it
    signed while valid). Peers need the new descriptor (``topmatch peers add``) before
    they can verify messages signed with the new key.
    """
    current = PeerDescriptor.model_validate_json(settings.descriptor_file().read_text())
    old = load_identity(settings)
    key = keys.generate()
    public = key.public_key()
    retired = [
        k.model_copy(update={"valid_until": now + overlap})
        if k.key_id == old.key_id and (k.valid_until is None or k.valid_until > now + overlap)
        else k
        for k in current.keys
    ]
    new_key = PublicKey(
        key_id=keys.key_id(public), public_key=keys.b64url(keys.raw_public(public)), valid_from=now
    )
    descriptor = current.model_copy(update={"keys": [*retired, new_key]})
    write_private(
        settings.resolved_key_file(), keys.private_pem(key, settings.passphrase()), force=True
    )
    settings.descriptor_file().write_text(descriptor.model_dump_json(indent=2) + "\n")
    return descriptor
