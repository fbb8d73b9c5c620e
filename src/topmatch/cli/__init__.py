"""The ``topmatch`` command line. ``main(argv)`` returns an exit code; tests call it directly.

Errors from the services are printed as one readable message on stderr (exit 1); usage
errors are typer's (exit 2).
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import httpx
import typer
import uvicorn
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from topmatch import db, logs, wire_schemas
from topmatch.accounts import service as accounts
from topmatch.accounts.models import Role
from topmatch.app import create_app
from topmatch.audit import service as audit
from topmatch.audit.service import Actor
from topmatch.cardbox import synthetic
from topmatch.cardbox.crypto import BsnVault
from topmatch.cli.formats import count, local_day, local_time, when
from topmatch.clock import Clock, system_clock
from topmatch.errors import ConfigurationError, InputError, TopmatchError
from topmatch.federation import replication
from topmatch.federation import service as federation_service
from topmatch.federation.peers import PeerRegistry, registry_for
from topmatch.federation.transport import PeerClient, SignatureAuth
from topmatch.identity import service as identity
from topmatch.identity.descriptor import PeerDescriptor, PeerStatus
from topmatch.ledger import bundle, exporting, note
from topmatch.ledger import service as ledger
from topmatch.ledger.models import WitnessAlarm
from topmatch.matching import candidates
from topmatch.matching import service as matching
from topmatch.publishing import service as publishing
from topmatch.publishing.republish import erase_client as erase_and_republish
from topmatch.publishing.service import Publisher, derive_publishing_secret
from topmatch.roster.files import read_roster
from topmatch.roster.models import Roster
from topmatch.roster.store import RosterStore
from topmatch.settings import Settings, config_file_path, load_settings, require_node

app = typer.Typer(
    help="Topmatch node: private card-box, federation and fee ledger.",
    no_args_is_help=True,
    add_completion=False,
    # Plain click help: on/off flags read `--force / --no-force`, without the `<bool>` type
    # that typer's rich panels print after every option; and it fits an 80-column terminal.
    rich_markup_mode=None,
)
users_app = typer.Typer(help="Consultant, finance and admin accounts.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
clients_app = typer.Typer(help="Card-box clients (admin tasks).", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(db_app, name="db")
app.add_typer(clients_app, name="clients")
schemas_app = typer.Typer(help="JSON Schemas of the wire formats.", no_args_is_help=True)
app.add_typer(schemas_app, name="schemas")
peers_app = typer.Typer(help="The peers this node federates with.", no_args_is_help=True)
app.add_typer(peers_app, name="peers")
keys_app = typer.Typer(help="This node's signing keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
ledger_app = typer.Typer(
    help="The co-signed fee ledger: checkpoints, export, audit.", no_args_is_help=True
)
app.add_typer(ledger_app, name="ledger")

# Wide enough when piped (no terminal) that ids and messages are never cut or wrapped.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class State:
    """The root options, and the one place where commands get their settings."""

    config: Path | None = None
    data_dir: Path | None = None

    def config_path(self) -> Path:
        return config_file_path(self.config, self.data_dir)

    def settings(self) -> Settings:
        """The settings of an existing node; refuses (exit 1) where there is none, so that
        no command quietly creates an empty node in the wrong folder."""
        settings = self.new_settings()
        require_node(settings, self.config_path())
        return settings

    def new_settings(self) -> Settings:
        """The settings without the check: for ``topmatch init``, which makes the node."""
        return load_settings(self.config, data_dir=self.data_dir)


state = State()


@app.callback()
def _root(
    config: Annotated[Path | None, typer.Option(help="Config file (TOML).")] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="The node's data folder (default: $TOPMATCH_DATA_DIR, else ./topmatch-data)."
        ),
    ] = None,
) -> None:
    state.config = config
    state.data_dir = data_dir


@contextmanager
def _session(settings: Settings) -> Iterator[Session]:
    """One transaction per CLI command, on an up-to-date schema."""
    engine = db.make_engine(settings.resolved_database_url())
    try:
        db.upgrade(engine)
        with db.transaction(engine) as session:
            yield session
    finally:
        engine.dispose()


# --- identity --------------------------------------------------------------------------


@app.command()
def init(
    node_id: Annotated[str, typer.Option(help="Stable node id, e.g. 'baanbrekers'.")],
    name: Annotated[str, typer.Option(help="The bureau's display name.")],
    url: Annotated[str, typer.Option(help="Base URL at which peers reach this node.")],
    force: Annotated[bool, typer.Option(help="Replace an existing key.")] = False,
) -> None:
    """Create this node's Ed25519 key, card-box secret, config and public descriptor."""
    settings = state.new_settings()
    descriptor = identity.create_identity(
        settings=settings, node_id=node_id, name=name, url=url, now=system_clock(), force=force
    )
    out.print(f"Node [bold]{descriptor.node_id}[/] initialised in {settings.data_dir}")
    out.print(f"  key id:     {descriptor.keys[0].key_id}")
    out.print(f"  private key: {settings.resolved_key_file()} (mode 0600: back it up)")
    out.print(f"  descriptor: {settings.descriptor_file()} (give this file to your peers)")


@keys_app.command("rotate")
def keys_rotate(
    overlap_days: Annotated[
        int, typer.Option(min=0, max=365, help="Days the old key stays valid.")
    ] = 30,
) -> None:
    """Sign with a new key from now on; hand the new descriptor to every peer."""
    settings = state.settings()
    descriptor = identity.rotate_key(
        settings=settings, now=system_clock(), overlap=timedelta(days=overlap_days)
    )
    out.print(
        f"new key {descriptor.keys[-1].key_id}; give {settings.descriptor_file()} to "
        "every peer (topmatch peers add)"
    )


@keys_app.command("encryption")
def keys_encryption() -> None:
    """Make sure this node has its X25519 key for encrypted handovers, listed in node.json."""
    settings = state.settings()
    descriptor = identity.add_encryption_key(settings)
    out.print(
        f"encryption key {descriptor.encryption_key} in {settings.descriptor_file()}; "
        "give that file to every peer (topmatch peers add)"
    )


# --- database --------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    settings = state.settings()
    engine = db.make_engine(settings.resolved_database_url())
    try:
        db.upgrade(engine, revision)
    finally:
        engine.dispose()
    out.print(f"database at {revision}")


# --- accounts --------------------------------------------------------------------------


@users_app.command("add")
def users_add(
    name: str, role: Annotated[Role, typer.Option(help="consultant, finance or admin")]
) -> None:
    """Create an account and print its bearer token (shown this once only)."""
    with _session(state.settings()) as session:
        user, token = accounts.add_user(
            session=session, name=name, role=role, now=system_clock(), actor=_cli_actor().name
        )
    out.print(f"account {user.name} ({Role(user.role).value}) created; its token, shown only now:")
    print(token)  # plain print: one line, easy to copy or capture in a script


@users_app.command("list")
def users_list() -> None:
    """List accounts (never their tokens)."""
    with _session(state.settings()) as session:
        table = Table("name", "role", when("created"), when("revoked"))
        for user in accounts.list_users(session=session):
            table.add_row(
                user.name,
                Role(user.role).value,
                local_day(user.created_at),
                local_day(user.revoked_at),
            )
    out.print(table)


@users_app.command("revoke")
def users_revoke(name: str) -> None:
    """Revoke an account's token at once."""
    with _session(state.settings()) as session:
        accounts.revoke_user(
            session=session, name=name, now=system_clock(), actor=_cli_actor().name
        )
    out.print(f"account {name} revoked")


# --- card-box admin tasks --------------------------------------------------------------


def _cli_actor() -> Actor:
    """The audit name of whoever runs the CLI: ``cli:<OS user>``."""
    return Actor(name=f"cli:{getpass.getuser()}")


def _vault(settings: Settings) -> BsnVault:
    return BsnVault(identity.load_cardbox_secret(settings))


@clients_app.command("erase")
def clients_erase(
    client_id: str,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase a client for good (AVG right to be forgotten); an audit record remains."""
    settings = state.settings()  # no question asked outside a node
    if not yes:
        typer.confirm(
            f"Erase client {client_id} and all personal data? This cannot be undone", abort=True
        )
    with _session(settings) as session:
        erase_and_republish(
            session=session,
            publisher=_publisher(settings),
            client_id=client_id,
            actor=_cli_actor(),
            now=system_clock(),
        )
    out.print(f"client {client_id} erased")


@app.command()
def seed(
    clients: Annotated[int, typer.Option(min=0, max=100_000)] = 20,
    employers: Annotated[int, typer.Option(min=1, max=10_000)] = 6,
    vacancies: Annotated[int, typer.Option(min=0, max=100_000)] = 10,
    baanopeningen: Annotated[int, typer.Option(min=0, max=100_000)] = 4,
    seed_value: Annotated[int, typer.Option("--seed")] = 2013,
) -> None:
    """Fill the card-box with fictional Dutch data (faker nl_NL), for demos and trials."""
    settings = state.settings()
    counts = synthetic.Counts(
        employers=employers, clients=clients, vacancies=vacancies, baanopeningen=baanopeningen
    )
    with _session(settings) as session:
        synthetic.seed(
            session=session,
            vault=_vault(settings),
            now=system_clock(),
            counts=counts,
            seed_value=seed_value,
        )
        if settings.node_id:
            _publish_all(session, settings)
    out.print(
        f"added {count(employers, 'employer', 'employers')}, "
        f"{count(clients, 'client', 'clients')}, {count(vacancies, 'vacancy', 'vacancies')}, "
        f"{count(baanopeningen, 'baanopening', 'baanopeningen')}"
    )


@app.command("audit")
def audit_list(
    entity_id: Annotated[str | None, typer.Option(help="Only events about this record.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
) -> None:
    """Show the audit trail: who read or changed which record (ids only, no personal data)."""
    with _session(state.settings()) as session:
        table = Table(when(), "who", "action", "entity", "id", "detail")
        for e in audit.events(session=session, entity_id=entity_id, limit=limit):
            table.add_row(
                local_time(e.at, seconds=True),
                e.actor,
                e.action,
                e.entity,
                e.entity_id or "",
                str(e.detail) if e.detail else "",
            )
    out.print(table)


# --- peers, publishing and sync -------------------------------------------------------


def _registry(settings: Settings) -> PeerRegistry:
    return registry_for(settings, clock=system_clock)


@peers_app.command("add")
def peers_add(
    descriptor: Annotated[Path, typer.Argument(help="The peer's node.json descriptor.")],
    replace: Annotated[bool, typer.Option(help="Allow dropping keys of a known peer.")] = False,
) -> None:
    """Add a peer, or update its descriptor (after a key rotation, say)."""
    settings = state.settings()
    peer = _registry(settings).add(descriptor, replace=replace)
    out.print(f"peer {peer.node_id} ({peer.name}) stored in {settings.peers_dir}")


@peers_app.command("list")
def peers_list() -> None:
    """List peers with their status and sync state."""
    settings = state.settings()
    registry = _registry(settings)
    with _session(settings) as session:
        overview = federation_service.peers_overview(session=session, registry=registry)
    table = Table(
        "node",
        "name",
        "state",
        "openings",
        "cursor",
        when("last success"),
        when("next attempt"),
        "last error",
    )
    for p in overview.peers:
        table.add_row(
            p.node_id,
            p.name,
            p.state.value,  # reachable, lagging, unreachable, suspended or pending
            str(p.openings),
            str(p.cursor),
            local_time(p.last_success_at),
            local_time(p.next_attempt_at),
            p.last_error or "",
        )
    out.print(table)
    for name, problem in overview.problems.items():
        err.print(f"[yellow]skipped {escape(name)}:[/] {escape(problem)}")


def _set_status(node_id: str, status: PeerStatus) -> None:
    peer = _registry(state.settings()).set_status(node_id, status)
    out.print(f"peer {peer.node_id} is now {peer.status.value}")


@peers_app.command("suspend")
def peers_suspend(node_id: str) -> None:
    """Stop trusting a peer at once: its requests are refused, its feed no longer pulled."""
    _set_status(node_id, PeerStatus.suspended)


@peers_app.command("activate")
def peers_activate(node_id: str) -> None:
    """Trust a suspended peer again."""
    _set_status(node_id, PeerStatus.active)


def _publisher(settings: Settings) -> Publisher:
    if not settings.node_id:
        raise ConfigurationError("node_id is not set: run `topmatch init` first")
    return Publisher(
        origin=settings.node_id,
        secret=derive_publishing_secret(identity.load_cardbox_secret(settings)),
    )


def _publish_all(session: Session, settings: Settings) -> publishing.RefreshReport:
    publisher = _publisher(settings)
    now = system_clock()
    report = publishing.refresh(session=session, publisher=publisher, now=now)
    replication.mirror_own_feed(session, origin=publisher.origin, now=now)
    return report


@app.command()
def publish() -> None:
    """Re-check every vacancy and baanopening and publish what changed."""
    settings = state.settings()
    with _session(settings) as session:
        report = _publish_all(session, settings)
    out.print(
        f"{count(report.upserts, 'upsert', 'upserts')}, "
        f"{count(report.tombstones, 'tombstone', 'tombstones')} published"
    )


@app.command()
def sync(
    peer: Annotated[
        str | None, typer.Argument(help="Only this peer (default: all active).")
    ] = None,
) -> None:
    """Pull peers' feeds now (ignores back-off)."""
    settings = state.settings()
    if not settings.node_id:
        raise ConfigurationError("node_id is not set: run `topmatch init` first")
    registry = _registry(settings)
    peers = [registry.get(peer)] if peer else registry.active()
    engine = db.make_engine(settings.resolved_database_url())
    try:
        db.upgrade(engine)
        with _quiet(replication.log):  # each failure is printed below, once
            results = asyncio.run(_sync(settings, registry, peers, engine))
        db.refresh_statistics(engine)
    finally:
        engine.dispose()
    for r in results:
        if r.ok:
            out.print(
                f"{r.node_id}: ok, {count(r.applied, 'change', 'changes')}, cursor {r.cursor}"
            )
        else:
            err.print(f"[red]sync failed:[/] {escape(r.error or '')}")
    if not all(r.ok for r in results):
        raise typer.Exit(1)


@contextmanager
def _quiet(logger: logging.Logger) -> Iterator[None]:
    """Keep a service's warnings off the terminal while the command prints the same
    results itself (without a configured handler Python would print them on stderr)."""
    handler = logging.NullHandler()
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    try:
        yield
    finally:
        logger.propagate = propagate
        logger.removeHandler(handler)


@asynccontextmanager
async def _peer_client(
    settings: Settings, registry: PeerRegistry, clock: Clock = system_clock
) -> AsyncIterator[PeerClient]:
    """A signing client for talking to peers from the command line."""
    node = identity.load_identity(settings)
    async with httpx.AsyncClient(
        auth=SignatureAuth(node, clock), timeout=settings.peer_timeout_seconds
    ) as http:
        yield PeerClient(
            http=http,
            registry=registry,
            clock=clock,
            max_response_bytes=settings.max_peer_response_bytes,
            deadline_seconds=settings.peer_deadline_seconds,
        )


async def _sync(
    settings: Settings, registry: PeerRegistry, peers: list[PeerDescriptor], engine: Engine
) -> list[replication.SyncResult]:
    async with _peer_client(settings, registry) as client:
        return await replication.sync_all(
            peers=peers,
            client=client,
            engine=engine,
            clock=system_clock,
            respect_backoff=False,
            budget=settings.peer_round_seconds,
        )


@app.command("search")
def search_cmd(
    q: Annotated[str | None, typer.Argument(help="Free text, e.g. 'magazijn'.")] = None,
    place: Annotated[str | None, typer.Option(help="Place or municipality.")] = None,
    radius_km: Annotated[float | None, typer.Option(min=0.1, max=300)] = None,
    hours: Annotated[int | None, typer.Option(min=1, max=60)] = None,
    occupation: Annotated[str | None, typer.Option(help="ISCO-08 unit group (4 digits).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 10,
) -> None:
    """Ranked search over every bureau's openings (from the local replica)."""
    settings = state.settings()
    names = {p.node_id: p.name for p in _registry(settings).all()}
    names[settings.node_id or ""] = settings.display_name or settings.node_id or ""
    registry = _registry(settings)
    request = matching.SearchRequest(
        q=q,
        place=place,
        radius_km=radius_km,
        hours=hours,
        isco08=occupation,
        limit=limit,
        origins=federation_service.visible_origins(registry, settings.node_id or ""),
    )
    with _session(settings) as session:
        result = matching.search(session=session, request=request, bureau_names=names)
    table = Table("score", "opening", "plaats", "bureau", "waarom")
    for hit in result.hits:
        table.add_row(
            f"{hit.score:.0f}",
            hit.opening.title,
            hit.opening.place.municipality,
            hit.bureau,
            hit.explanation,
        )
    out.print(table)
    out.print(
        f"{count(len(result.hits), 'opening', 'openingen')} getoond van "
        f"{count(result.candidates, 'passende opening', 'passende openingen')}"
    )


@app.command("queries")
def queries_cmd() -> None:
    """Candidate queries peers asked us: per peer, how many and what was sent (admin)."""
    with _session(state.settings()) as session:
        rows = candidates.stats(session=session, now=system_clock())
    table = Table(
        "asking peer", "last hour", "today", "total", "refused", "profiles sent", when("last")
    )
    for row in rows:
        table.add_row(
            row.asking_peer,
            str(row.last_hour),
            str(row.today),
            str(row.total),
            str(row.refused),
            str(row.profiles_sent),
            local_time(row.last_at),
        )
    out.print(table)


def _note_signer(settings: Settings) -> note.NoteSigner:
    node = identity.load_identity(settings)
    return note.NoteSigner(ledger.log_origin(settings.node_id or ""), node.private_key)


@ledger_app.command("checkpoint")
def ledger_checkpoint() -> None:
    """Sign a checkpoint of the ledger log as it is now."""
    settings = state.settings()
    with _session(settings) as session:
        point = ledger.checkpoint(
            session,
            signer=_note_signer(settings),
            origin=ledger.log_origin(settings.node_id or ""),
            now=system_clock(),
        )
    out.print(f"checkpoint: {count(point.size, 'entry', 'entries')}, root {point.root_hash}")


@ledger_app.command("export")
def ledger_export(
    out_dir: Annotated[Path, typer.Option("--out", help="A new, empty folder.")],
) -> None:
    """Write a self-contained audit bundle: entries, checkpoints with the witnesses'
    cosignatures, the fee agreements the entries name, keys, README."""
    settings = state.settings()
    if not settings.node_id:
        raise ConfigurationError("node_id is not set: run `topmatch init` first")
    own = PeerDescriptor.model_validate_json(settings.descriptor_file().read_text())
    with _session(settings) as session:
        done = exporting.export_bundle(
            session,
            out_dir,
            signer=_note_signer(settings),
            own=own,
            peers=_registry(settings).all(),
            now=system_clock(),
            rosters=_roster_chain(settings),
        )
    out.print(
        f"exported {count(done.entries, 'entry', 'entries')}, "
        f"{count(done.checkpoints, 'checkpoint', 'checkpoints')} "
        f"({count(done.cosignatures, 'cosignature', 'cosignatures')}), "
        f"{count(done.agreements, 'fee agreement', 'fee agreements')} and "
        f"{count(done.rosters, 'roster version', 'roster versions')} to {out_dir}"
    )


def _roster_chain(settings: Settings) -> list[Roster]:
    """The roster versions this node holds (none without ``roster_file``)."""
    if settings.roster_file is None:
        return []
    return RosterStore(settings.roster_file, settings.roster_dir(), clock=system_clock).chain()


@ledger_app.command("alarms")
def ledger_alarms() -> None:
    """What peers' logs did that an honest log never does (exit 1 when there is any)."""
    with _session(state.settings()) as session:
        rows = session.exec(select(WitnessAlarm).order_by(col(WitnessAlarm.raised_at))).all()
    if not rows:
        out.print("no alarms")
        return
    table = Table(when(), "peer", "kind", "detail")
    for row in rows:
        table.add_row(local_time(row.raised_at), row.node_id, row.kind, row.detail)
    out.print(table)
    raise typer.Exit(1)


@ledger_app.command("verify")
def ledger_verify(
    directory: Annotated[Path, typer.Argument(help="An exported bundle.")],
    trusted_keys: Annotated[
        Path | None,
        typer.Option(
            help="Folder of peer descriptors obtained from the bureaus themselves: every "
            "key in the bundle's keys/ must be one listed here."
        ),
    ] = None,
    roster: Annotated[
        list[Path] | None,
        typer.Option(
            help="The federation's signed roster (repeat for later versions), checked "
            "against its own threshold: its members' keys anchor the bundle's keys/."
        ),
    ] = None,
    trust_bundle_keys: Annotated[
        bool,
        typer.Option(
            "--trust-bundle-keys",
            help="Check against the bundle's own keys/ (no anchor): proves the bundle is "
            "intact, not who signed it.",
        ),
    ] = False,
    witness_quorum: Annotated[
        int,
        typer.Option(
            min=0,
            help="Require this many valid cosignatures by distinct witnesses (trusted nodes "
            "other than the owner) on the latest checkpoint: catches a log rolled back "
            "below what the witnesses saw.",
        ),
    ] = 0,
) -> None:
    """Check a bundle offline: framing, every signature, every fee against its signed
    agreement, every entry under every checkpoint, and the witnesses' cosignatures.

    Exit 0: the bundle verifies; 1: it does not, or no keys were given to anchor it.
    """
    report = bundle.verify(
        directory,
        trusted_keys=trusted_keys,
        rosters=[read_roster(path) for path in roster or ()],
        trust_bundle_keys=trust_bundle_keys,
        witness_quorum=witness_quorum,
    )
    for node, key_ids in sorted(report.keys.items()):
        out.print(f"keys of {node}: {', '.join(key_ids)}")
    if report.witnesses:
        out.print(f"latest checkpoint cosigned by {', '.join(report.witnesses)}")
    if not report.ok:
        err.print(f"[red]{escape(report.summary())}[/]")
        raise typer.Exit(1)
    out.print(escape(report.summary()))


@schemas_app.command("export")
def schemas_export(
    out_dir: Annotated[Path, typer.Option("--out", help="Target folder.")] = Path("schemas"),
    check: Annotated[bool, typer.Option(help="Only compare; exit 1 on any difference.")] = False,
    privacy_doc: Annotated[
        Path,
        typer.Option(
            help="docs/privacy.md, whose table of every field that leaves a node is generated "
            "from the same models (skipped when the file does not exist)."
        ),
    ] = Path("docs/privacy.md"),
) -> None:
    """Write (or check) the JSON Schema of every wire format, and the field table of
    docs/privacy.md."""
    doc = privacy_doc if privacy_doc.exists() else None
    if check:
        problems = wire_schemas.differences(out_dir)
        if doc is not None and wire_schemas.privacy_doc_differs(doc):
            problems.append(f"{doc}: the table of wire fields differs from the models")
        if problems:
            raise InputError(
                "schemas out of date (run `topmatch schemas export`): " + "; ".join(problems)
            )
        out.print(f"schemas in {out_dir} match the models")
        return
    for path in wire_schemas.export(out_dir):
        out.print(f"wrote {path}")
    if doc is not None and wire_schemas.update_privacy_doc(doc):
        out.print(f"wrote the table of wire fields in {doc}")


# --- running ---------------------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[
        str | None,
        typer.Option(help="Bind address (default: the settings, or the host of a loopback URL)."),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(help="Port (default: the settings, or the port of the node's own URL)."),
    ] = None,
) -> None:
    """Run the node (migrates the database first)."""
    settings = state.settings()
    own_host, own_port = settings.listen_address()
    settings = settings.model_copy(update={"host": host or own_host, "port": port or own_port})
    logs.configure(settings)
    application = create_app(settings)
    _announce(settings)
    # Our handler, not uvicorn's config; uvicorn's access log would write query strings,
    # the request middleware writes route templates instead (topmatch.logs).
    uvicorn.run(
        application,
        host=settings.host,
        port=settings.port,
        log_level="info",
        log_config=None,
        access_log=False,
    )


def _announce(settings: Settings) -> None:
    """Say where the node listens: a line on stdout, or a log record when logs are JSON
    (then stdout carries nothing a log collector cannot parse)."""
    line = (
        f"Topmatch-node {settings.node_id} luistert op {listen_url(settings.host, settings.port)}"
    )
    if settings.log_format == "json":
        logging.getLogger("topmatch.serve").info(line)
    else:
        out.print(line)


def listen_url(host: str, port: int) -> str:
    """``http://host:port`` as a browser takes it (IPv6 addresses in brackets)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


# --- entry points ----------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv``; return the exit code instead of exiting."""
    command = typer.main.get_command(app)
    try:
        command.main(args=list(argv) if argv is not None else None, prog_name="topmatch")
    except TopmatchError as e:
        err.print(f"[red]error:[/] {escape(e.diagnostics())}")
        return 1
    except SystemExit as e:  # typer's own exit: usage errors (2), aborts (1), done (0)
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


# Sub-command modules register themselves on ``app`` (they import the helpers above).
from topmatch.cli import demo as _demo_command  # noqa: E402, F401
from topmatch.cli import ledger_audit as _ledger_audit_command  # noqa: E402, F401
from topmatch.cli import ops as _ops_commands  # noqa: E402, F401
from topmatch.cli import roster as _roster_commands  # noqa: E402, F401
from topmatch.cli import settlement as _settlement_commands  # noqa: E402, F401
