"""Node settings: one pydantic-settings object, read from the environment and a TOML file.

Precedence, highest first: explicit overrides (CLI options), ``TOPMATCH_*`` environment
variables, the config file, defaults. The config file is ``TOPMATCH_CONFIG_FILE`` if set,
else ``<data_dir>/topmatch.toml`` when it exists (``topmatch init`` writes it there).
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AnyHttpUrl,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from topmatch.errors import ConfigurationError
from topmatch.explain import NODE_ID_PATTERN, explain

ENV_PREFIX = "TOPMATCH_"
DEFAULT_DATA_DIR = Path("topmatch-data")
CONFIG_FILE_NAME = "topmatch.toml"

NodeId = Annotated[str, Field(pattern=NODE_ID_PATTERN)]
LOOPBACK_NAMES = frozenset({"localhost"})


class Settings(BaseSettings):
    """Everything a node needs to start. Paths are relative to the working directory."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="forbid", validate_default=True, frozen=True
    )

    node_id: NodeId | None = Field(
        default=None, description="Stable id of this bureau's node, e.g. 'baanbrekers'."
    )
    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    public_url: AnyHttpUrl | None = Field(
        default=None, description="Base URL at which peers reach this node."
    )
    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file in data_dir."
    )
    key_file: Path | None = Field(default=None, description="Ed25519 private key (PEM).")
    key_passphrase: SecretStr | None = None
    key_passphrase_file: Path | None = None
    cardbox_secret_file: Path | None = Field(
        default=None, description="32-byte secret that encrypts and indexes BSNs."
    )
    peers_dir: Path = Path("peers")
    roster_file: Path | None = Field(
        default=None,
        description="The federation roster this node trusts as pinned (obtained out of band); "
        "when set, the peers are the members of the roster in force, and peers_dir only "
        "records which of them this node suspended (docs/adr/0015-federation-roster.md).",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_body_bytes: int = Field(default=1_000_000, ge=1024, le=100_000_000)
    max_page_size: int = Field(default=200, ge=1, le=10_000)
    publish_by_default: bool = Field(
        default=False, description="New vacancies and baanopeningen are offered to peers."
    )
    sync_interval_seconds: float = Field(
        default=60, ge=0, description="How often to pull peers' feeds; 0 turns the worker off."
    )
    peer_timeout_seconds: float = Field(
        default=10, gt=0, le=300, description="The longest wait for any one read from a peer."
    )
    peer_deadline_seconds: float = Field(
        default=30,
        gt=0,
        le=600,
        description="The total time budget of one call to a peer: connect, headers and body.",
    )
    peer_round_seconds: float = Field(
        default=120,
        gt=0,
        le=3600,
        description="The most one peer's share of a sync round (its feed pull, its "
        "witnessing, ...) may take; the whole round gets three times this.",
    )
    run_worker: Literal["auto", "never"] = Field(
        default="auto",
        description="auto: the one process that holds the database's worker lock runs the "
        "sync worker; never: this process only serves requests (run `topmatch worker`).",
    )
    outbox_horizon_days: float = Field(
        default=7,
        gt=0,
        le=90,
        description="How long the outbox keeps trying to deliver a message to a peer before "
        "it marks the message failed and raises an alarm (docs/adr/0013-outbox.md).",
    )
    max_peer_response_bytes: int = Field(default=5_000_000, ge=10_000, le=500_000_000)
    candidate_deadline_seconds: float = Field(
        default=2.0, gt=0, le=60, description="How long a candidate query waits for peers."
    )
    candidate_min_group: int = Field(
        default=3,
        ge=1,
        le=100,
        description="Answer a candidate query only when at least this many clients fit.",
    )
    candidate_rate_per_minute: int = Field(default=30, ge=1, le=10_000)
    candidate_daily_quota: int = Field(default=500, ge=1, le=1_000_000)
    candidate_handle_days: int = Field(default=30, ge=1, le=365)
    clock_offset_days: int = Field(
        default=0,
        ge=-3650,
        le=3650,
        description="Demos and tests only: the node lives this many days ahead (or behind), "
        "so a settlement period can be over. Every node of a federation must use the same "
        "offset: signed requests more than 300 s apart are refused.",
    )
    ledger_max_amount_cents: int = Field(
        default=1_000_000,
        ge=0,
        le=100_000_000,
        description="The largest amount (cents) this node countersigns in one entry.",
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="Log lines as plain text or as one JSON object each."
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="When set, GET /metrics needs 'Authorization: Bearer <this token>'.",
    )

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be an sqlite:/// or postgresql+psycopg:// URL")
        return value

    @field_validator("metrics_token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:  # noqa: PLR2004
            raise ValueError("must be at least 16 characters (or unset: /metrics open)")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - no .env files: config is explicit
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls),
            file_secret_settings,
        )

    # Derived locations. Kept as methods so that the stored settings stay exactly what
    # the operator wrote.
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'topmatch.db'}"

    def resolved_key_file(self) -> Path:
        return self.key_file or self.data_dir / "node-key.pem"

    def resolved_cardbox_secret_file(self) -> Path:
        return self.cardbox_secret_file or self.data_dir / "cardbox.secret"

    def roster_dir(self) -> Path:
        """Where the node keeps every roster version it accepted after the pinned one."""
        return self.data_dir / "roster"

    def descriptor_file(self) -> Path:
        return self.data_dir / "node.json"

    def listen_address(self) -> tuple[str, int]:
        """Where ``topmatch serve`` listens when no ``--host``/``--port`` is given.

        A ``port`` (or ``host``) set in the environment or the config file wins; otherwise
        the port written in ``public_url`` (``init --url``), and its host when that is a
        loopback address (a node on one machine); otherwise the defaults. A URL without a
        port (behind a reverse proxy, on 443) leaves the port at its default.
        """
        host, port = self.host, self.port
        if self.public_url is None:
            return host, port
        parts = urlsplit(str(self.public_url))
        if "port" not in self.model_fields_set and parts.port is not None:
            port = parts.port
        if "host" not in self.model_fields_set and _is_loopback(parts.hostname or ""):
            host = parts.hostname or host
        return host, port

    def passphrase(self) -> bytes | None:
        """The key passphrase from the setting or its file; ``None`` for an unencrypted key."""
        if self.key_passphrase is not None:
            return self.key_passphrase.get_secret_value().encode()
        if self.key_passphrase_file is not None:
            try:
                return self.key_passphrase_file.read_bytes().strip()
            except OSError as e:
                raise ConfigurationError(
                    f"cannot read key passphrase file {self.key_passphrase_file}: {e.strerror}"
                ) from e
        return None


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name, not an address
        return False


def config_file_path(explicit: Path | None = None, data_dir: Path | None = None) -> Path:
    """Where the config file is looked for (it need not exist)."""
    if explicit is not None:
        return explicit
    if env := os.environ.get(f"{ENV_PREFIX}CONFIG_FILE"):
        return Path(env)
    if data_dir is None:
        data_dir = Path(os.environ.get(f"{ENV_PREFIX}DATA_DIR", str(DEFAULT_DATA_DIR)))
    return data_dir / CONFIG_FILE_NAME


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings, or raise :class:`ConfigurationError` naming each bad setting."""
    path = config_file_path(config_file, overrides.get("data_dir"))
    named = config_file is not None or f"{ENV_PREFIX}CONFIG_FILE" in os.environ
    if named and not path.is_file():
        raise ConfigurationError(f"config file {path} does not exist")

    class _Settings(Settings):
        model_config = SettingsConfigDict(toml_file=path if path.is_file() else None)

    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return _Settings(**clean)
    except ValidationError as e:
        raise ConfigurationError(describe_validation_error(e)) from e
    except (OSError, ValueError) as e:  # an unreadable or malformed TOML file
        raise ConfigurationError(f"cannot read config file {path}: {e}") from e


def require_node(settings: Settings, config_file: Path) -> None:
    """Refuse to go on when there is no node here: neither its config file nor its data dir.

    Commands that open a node would otherwise create an empty one wherever they are run
    (a database, a ``peers`` folder); only ``topmatch init`` and ``topmatch demo`` do that.
    """
    if config_file.is_file() or settings.data_dir.is_dir():
        return
    raise ConfigurationError(
        f"no Topmatch node here: no config file {config_file.absolute()} and no data folder "
        f"{settings.data_dir.absolute()}. Point the command at your node with "
        f"`topmatch --data-dir FOLDER ...` or {ENV_PREFIX}DATA_DIR=FOLDER, or run it from the "
        f"folder that holds {DEFAULT_DATA_DIR}/. To make a new node: `topmatch init` "
        "(or `topmatch demo` for a trial federation)."
    )


def describe_validation_error(error: ValidationError) -> str:
    """One line per bad setting, named as an operator would set it (``TOPMATCH_PORT``)."""
    lines = []
    for item in error.errors():
        name = ".".join(str(p) for p in item["loc"]) or "settings"
        lines.append(f"invalid setting {ENV_PREFIX}{name.upper()} ({name}): {explain(item)}")
    return "\n".join(lines)
