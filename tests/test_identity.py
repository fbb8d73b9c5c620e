"""Node identity: Ed25519 keys, key ids, the descriptor and `init`'s files."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from pydantic import ValidationError

from topmatch.errors import ConfigurationError
from topmatch.identity import keys
from topmatch.identity import service as identity
from topmatch.identity.descriptor import PeerDescriptor
from topmatch.settings import load_settings

NOW = datetime(2026, 11, 30, tzinfo=UTC)


def test_key_id_matches_the_rfc_8037_thumbprint_vector() -> None:
    # RFC 8037 appendix A.3: the JWK thumbprint of the example Ed25519 public key.
    raw = keys.b64url_decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
    assert keys.key_id(keys.public_from_raw(raw)) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_pem_round_trip_with_and_without_passphrase() -> None:
    key = keys.generate()
    for passphrase in (None, b"correct horse"):
        loaded = keys.load_private_pem(keys.private_pem(key, passphrase), passphrase)
        assert keys.key_id(loaded.public_key()) == keys.key_id(key.public_key())


def test_encrypted_key_without_or_with_wrong_passphrase_is_a_clear_error() -> None:
    pem = keys.private_pem(keys.generate(), b"secret")
    with pytest.raises(ConfigurationError, match="TOPMATCH_KEY_PASSPHRASE"):
        keys.load_private_pem(pem, None)
    with pytest.raises(ConfigurationError, match="wrong passphrase"):
        keys.load_private_pem(pem, b"not the secret")
    plain = keys.private_pem(keys.generate(), None)
    with pytest.raises(ConfigurationError, match="not encrypted"):
        keys.load_private_pem(plain, b"secret")


def test_a_non_ed25519_key_is_refused() -> None:
    pem = generate_private_key(SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(ConfigurationError, match="must be Ed25519"):
        keys.load_private_pem(pem, None)


def test_init_writes_a_private_key_only_the_owner_can_read(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    descriptor = identity.create_identity(
        settings=settings,
        node_id="werkpad",
        name="Werkpad",
        url="https://werkpad.example",
        now=NOW,
        force=False,
    )
    key_file = settings.resolved_key_file()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(settings.resolved_cardbox_secret_file().stat().st_mode) == 0o600
    written = PeerDescriptor.model_validate_json(settings.descriptor_file().read_text())
    assert written == descriptor
    loaded = identity.load_identity(settings)
    assert loaded.key_id == descriptor.keys[0].key_id
    # The config file makes the identity the node's settings without further flags.
    again = load_settings(data_dir=tmp_path)
    assert (again.node_id, again.display_name) == ("werkpad", "Werkpad")


def test_init_refuses_to_replace_a_key_unless_forced(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    first = identity.create_identity(
        settings=settings,
        node_id="werkpad",
        name="W",
        url="https://w.example",
        now=NOW,
        force=False,
    )
    secret = settings.resolved_cardbox_secret_file().read_bytes()
    with pytest.raises(ConfigurationError, match="already exists; use --force"):
        identity.create_identity(
            settings=settings,
            node_id="werkpad",
            name="W",
            url="https://w.example",
            now=NOW,
            force=False,
        )
    second = identity.create_identity(
        settings=settings, node_id="werkpad", name="W", url="https://w.example", now=NOW, force=True
    )
    assert second.keys[0].key_id == first.keys[0].key_id  # kept, retired
    assert second.keys[0].valid_until == NOW
    assert second.keys[-1].key_id != first.keys[0].key_id
    assert second.keys[-1].valid_until is None
    # The card-box secret is never regenerated: stored BSNs must stay readable.
    assert settings.resolved_cardbox_secret_file().read_bytes() == secret


def test_passphrase_from_a_file_encrypts_the_key(tmp_path: Path) -> None:
    (tmp_path / "pass").write_text("s3cret\n")
    settings = load_settings(data_dir=tmp_path / "n", key_passphrase_file=tmp_path / "pass")
    identity.create_identity(
        settings=settings,
        node_id="werkpad",
        name="W",
        url="https://w.example",
        now=NOW,
        force=False,
    )
    assert b"ENCRYPTED" in settings.resolved_key_file().read_bytes()
    identity.load_identity(settings)
    with pytest.raises(ConfigurationError, match="TOPMATCH_KEY_PASSPHRASE"):
        identity.load_identity(load_settings(data_dir=tmp_path / "n"))


def test_missing_key_says_to_run_init(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="topmatch init"):
        identity.load_identity(load_settings(data_dir=tmp_path))


def test_descriptor_rejects_a_key_id_that_is_not_the_thumbprint() -> None:
    public = keys.generate().public_key()
    other = keys.generate().public_key()
    with pytest.raises(ValidationError, match="not the thumbprint"):
        PeerDescriptor.model_validate(
            {
                "node_id": "werkpad",
                "name": "W",
                "base_url": "https://w.example",
                "keys": [
                    {
                        "key_id": keys.key_id(other),
                        "public_key": keys.b64url(keys.raw_public(public)),
                        "valid_from": NOW.isoformat(),
                    }
                ],
            }
        )


def test_an_existing_node_gets_its_encryption_key_once(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    created = identity.create_identity(
        settings=settings,
        node_id="werkpad",
        name="W",
        url="https://w.example",
        now=NOW,
        force=False,
    )
    assert created.encryption_key is not None
    without = created.model_copy(update={"encryption_key": None})
    settings.descriptor_file().write_text(without.model_dump_json())
    again = identity.add_encryption_key(settings)
    assert again.encryption_key == created.encryption_key  # the key file is kept, not replaced
    assert stat.S_IMODE(identity.encryption_key_file(settings).stat().st_mode) == 0o600
