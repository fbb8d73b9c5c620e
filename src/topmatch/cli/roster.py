"""``topmatch roster propose|sign|show|verify``: the federation roster from the command line,
for a federation's coordinator and each member bureau (peers/README.md).

``verify`` exits 0 when the roster (and its chain) is valid and in force, 1 when it is
refused (the message names the rule) or cannot be read, 2 on a usage error.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from topmatch.cli import _registry, _session, app, out, state
from topmatch.cli.formats import count
from topmatch.clock import system_clock
from topmatch.errors import ConfigurationError, InputError
from topmatch.identity import keys
from topmatch.identity import service as identity
from topmatch.identity.descriptor import PeerDescriptor
from topmatch.roster import edit, files, verify
from topmatch.roster import service as roster_service
from topmatch.roster.models import Roster, RosterMember

roster_app = typer.Typer(
    help="The federation roster: the signed list of member bureaus and their keys.",
    no_args_is_help=True,
)
app.add_typer(roster_app, name="roster")


def _moment(text: str | None) -> datetime | None:
    """``2027-12-31`` (midnight UTC) or a full ISO 8601 time; a time without zone is UTC."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError as e:
        raise InputError(f"not a date or ISO 8601 time: {text!r}", field="expires") from e
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _descriptor_member(path: Path) -> RosterMember:
    try:
        descriptor = PeerDescriptor.model_validate_json(path.read_bytes())
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror}") from e
    except ValueError as e:
        raise InputError(f"{path} is not a valid peer descriptor: {e}") from e
    return edit.member_from_descriptor(descriptor)


@roster_app.command("propose")
def roster_propose(
    output: Annotated[Path, typer.Option("-o", "--out", help="Where to write the draft.")],
    current: Annotated[
        Path | None,
        typer.Option("--from", help="The roster in force (omit, with --federation, for v1)."),
    ] = None,
    add: Annotated[
        list[Path] | None,
        typer.Option(help="A bureau's node.json to add, or to update (a rotated key)."),
    ] = None,
    remove: Annotated[list[str] | None, typer.Option(help="Node id of a member to drop.")] = None,
    threshold: Annotated[
        int | None, typer.Option(min=1, help="Signatures needed (default: unchanged).")
    ] = None,
    expires: Annotated[
        str | None, typer.Option(help="Expiry, e.g. 2027-12-31 (default: same lifetime).")
    ] = None,
    federation: Annotated[
        str | None, typer.Option(help="The federation's name (version 1 only).")
    ] = None,
) -> None:
    """Write the unsigned next version of the roster; members then sign it."""
    added = [_descriptor_member(p) for p in add or []]
    now = system_clock()
    if current is None:
        draft = _first_version(federation, added, threshold, _moment(expires), now)
    else:
        draft = edit.propose(
            files.read_roster(current),
            issued_at=now,
            add=added,
            remove=remove or [],
            threshold=threshold,
            expires=_moment(expires),
        )
    files.write_roster(output, draft)
    signed = draft.signed
    out.print(
        f"wrote version {signed.version} of {escape(signed.federation)} to {output}: "
        f"{count(len(signed.members), 'member', 'members')}, threshold {signed.threshold}, "
        f"expires {signed.expires.isoformat()}; unsigned: members sign it with "
        "`topmatch roster sign`"
    )


def _first_version(
    federation: str | None,
    members: Sequence[RosterMember],
    threshold: int | None,
    expires: datetime | None,
    now: datetime,
) -> Roster:
    if not federation or not members or expires is None:
        raise InputError("version 1 needs --federation, at least one --add and --expires")
    return edit.genesis(
        federation=federation,
        members=members,
        threshold=threshold or len(members) // 2 + 1,
        issued_at=now,
        expires=expires,
    )


@roster_app.command("sign")
def roster_sign(
    file: Annotated[Path, typer.Argument(help="The roster draft; signed in place.")],
    key_file: Annotated[
        Path | None,
        typer.Option(help="Sign with this unencrypted PEM key (e.g. a demo key), not the node's."),
    ] = None,
    node_id: Annotated[
        str | None, typer.Option(help="The member signing (with --key-file).")
    ] = None,
) -> None:
    """Add this node's signature to a roster (its key must be listed in it)."""
    if key_file is not None:
        if not node_id:
            raise InputError("--key-file needs --node-id")
        key = keys.load_private_pem(key_file.read_bytes(), None)
    else:
        settings = state.settings()
        if not settings.node_id:
            raise ConfigurationError("node_id is not set: run `topmatch init` first")
        node_id, key = settings.node_id, identity.load_identity(settings).private_key
    roster = verify.sign(files.read_roster(file), node_id=node_id, key=key)
    files.write_roster(file, roster)
    valid, _ = verify.signers(roster, by=roster.signed)
    out.print(
        f"signed version {roster.signed.version} as {node_id}; signed by "
        f"{len(valid)} of the {roster.signed.threshold} needed: {', '.join(valid)}"
    )


@roster_app.command("show")
def roster_show(file: Annotated[Path, typer.Argument(help="A roster file.")]) -> None:
    """Print a roster's members, keys, threshold and expiry."""
    roster = files.read_roster(file)
    signed = roster.signed
    valid, refused = verify.signers(roster, by=signed)
    out.print(
        f"[bold]{escape(signed.federation)}[/] version {signed.version}, issued "
        f"{signed.issued_at.isoformat()}, expires {signed.expires.isoformat()}"
    )
    out.print(
        f"threshold {signed.threshold} of {len(signed.members)}; valid signatures by "
        f"{len(valid)}: {', '.join(valid) or 'none'}"
    )
    for reason in refused:
        out.print(f"  [yellow]not counted:[/] {escape(reason)}")
    table = Table("node", "name", "url", "key id", "purposes", "valid from", "valid until")
    for member in signed.members:
        for index, key in enumerate(member.keys):
            first = index == 0
            table.add_row(
                member.node_id if first else "",
                escape(member.name) if first else "",
                escape(member.base_url) if first else "",
                key.key_id,
                ", ".join(p.value for p in key.purposes),
                key.valid_from.isoformat(),
                key.valid_until.isoformat() if key.valid_until else "open end",
            )
    out.print(table)


def _previous(paths: Sequence[Path]) -> list[Roster]:
    found: list[Roster] = []
    for path in paths:
        listed = sorted(path.glob("*.json")) if path.is_dir() else [path]
        found += [files.read_roster(p) for p in listed]
    return found


@roster_app.command("verify")
def roster_verify(
    file: Annotated[Path, typer.Argument(help="The roster to check.")],
    previous: Annotated[
        list[Path] | None,
        typer.Option(
            help="Earlier versions (files or a folder); the oldest is trusted as pinned. "
            "Without it, FILE itself is the pinned roster."
        ),
    ] = None,
) -> None:
    """Check a roster: signatures, threshold, version chain and expiry. Exit 0 when it is
    valid and in force, 1 when it is refused (the message names the rule), 2 on usage."""
    roster = files.read_roster(file)
    chain = [*_previous(previous or []), roster]
    in_force = verify.verify_chain(chain, now=system_clock())
    if in_force != roster:
        raise InputError(
            f"{file} is version {roster.signed.version}, but the chain goes on to version "
            f"{in_force.signed.version}"
        )
    valid, _ = verify.signers(roster, by=roster.signed)
    versions = sorted({r.signed.version for r in chain})
    out.print(
        f"OK: version {roster.signed.version} of {escape(roster.signed.federation)} "
        f"(chain {versions[0]}..{versions[-1]}), signed by {', '.join(valid)} "
        f"(threshold {roster.signed.threshold} of {len(roster.signed.members)}), "
        f"expires {roster.signed.expires.isoformat()}"
    )


@roster_app.command("accept")
def roster_accept(file: Annotated[Path, typer.Argument(help="A newer roster version.")]) -> None:
    """Take a newer roster version into this node (checked against the one it holds, as a
    peer's offer would be) and queue it for every other member. Also the way to renew a
    roster that expired, when peers can no longer offer it."""
    settings = state.settings()
    store = _registry(settings).roster
    try:
        body = file.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read {file}: {e.strerror}") from e
    with _session(settings) as session:
        accepted = roster_service.receive(
            session,
            store=store,
            body=body,
            me=settings.node_id or "",
            sender=None,
            now=system_clock(),
            horizon=timedelta(days=settings.outbox_horizon_days),
        )
    if not accepted.changed:
        out.print(f"version {accepted.version} is the version this node holds already")
        return
    out.print(
        f"version {accepted.version} accepted; queued for "
        f"{', '.join(accepted.forwarded_to) or 'no other member'}"
    )
