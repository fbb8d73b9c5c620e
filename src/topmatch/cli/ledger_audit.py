"""``topmatch ledger audit``: every bureau's ledger bundle checked against the others
(topmatch.ledger.audit; docs/ledger.md, "Threat model")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from topmatch.cli import err, ledger_app, out
from topmatch.cli.formats import local_time, when
from topmatch.ledger import audit
from topmatch.roster.files import read_roster


@ledger_app.command("audit")
def ledger_audit(
    bundles: Annotated[
        list[Path],
        typer.Argument(metavar="BUNDLE...", help="Exported bundles, one or more per bureau."),
    ],
    trusted_keys: Annotated[
        Path | None,
        typer.Option(
            help="Folder of peer descriptors obtained from the bureaus themselves; "
            "then no bundle's keys/ are trusted."
        ),
    ] = None,
    roster: Annotated[
        list[Path] | None,
        typer.Option(
            help="The federation's signed roster (repeat for later versions): the members' "
            "keys anchor every bundle's keys/."
        ),
    ] = None,
    trust_bundle_keys: Annotated[
        bool,
        typer.Option(
            "--trust-bundle-keys",
            help="No anchor: each bundle's own keys/ are used, and every report says so.",
        ),
    ] = False,
    agreements: Annotated[
        Path | None,
        typer.Option(
            help="Folder of signed fee agreements (JSON), used besides any agreements/ "
            "in the bundles to recompute each closing's statement."
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON (format ledger-audit/1).")
    ] = False,
) -> None:
    """Check bundles against each other: omission, equivocation, truncation, fork, and
    each closing's statement recomputed from the entries.

    Each bundle is first checked alone, as `topmatch ledger verify` does.

    \b
    Exit codes:
      0  all bundles verify and agree with each other
      1  findings: each is printed with the entry or checkpoint that proves it
      2  an input could not be read (not a bundle folder, no manifest, ...)
    """
    report = audit.run(
        bundles,
        trusted_keys=trusted_keys,
        rosters=[read_roster(path) for path in roster or ()],
        trust_bundle_keys=trust_bundle_keys,
        agreements=agreements,
    )
    if as_json:
        out.print_json(json.dumps(report.to_json()))
    else:
        _print(report)
    if report.exit_code != audit.EXIT_CONSISTENT:
        raise typer.Exit(report.exit_code)


def _print(report: audit.AuditReport) -> None:
    for problem in report.unreadable:
        err.print(f"[red]unreadable:[/] {escape(problem)}")
    if report.bundles:
        table = Table("bundle", "log of", "entries", "checkpoints", when("exported"), "verify")
        for item in report.bundles:
            table.add_row(
                escape(item.label) + ("" if item.current else " (older)"),
                item.owner,
                str(item.entries),
                str(item.checkpoints),
                local_time(item.exported_at),
                escape(item.verify_summary),
            )
        out.print(table)
    for number, finding in enumerate(report.findings, 1):
        out.print(f"[red]{number}. {finding.kind}[/] ({finding.log}): {escape(finding.detail)}")
        for proof in finding.proof:
            out.print(f"   proof, {escape(proof.where)}:")
            for line in proof.text.rstrip("\n").split("\n"):
                out.print(f"     {escape(line)}")
    for skipped in report.skipped:
        out.print(f"[yellow]not checked[/] ({skipped.check}): {escape(skipped.reason)}")
    checked = report.checked
    out.print(
        f"compared {checked['shared_entries']} shared entries "
        f"({checked['later_entries']} signed after an export), "
        f"{checked['checkpoints_compared']} checkpoints, "
        f"recomputed {checked['statements']} statements"
    )
    style = "green" if report.exit_code == audit.EXIT_CONSISTENT else "red"
    out.print(f"[{style}]{escape(report.summary())}[/]")
