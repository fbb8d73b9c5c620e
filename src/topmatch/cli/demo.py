"""``topmatch demo``: a local federation of three competing bureaus, and a walk through
everything Topmatch does between them.

Three nodes (real ``topmatch serve`` processes on 127.0.0.1), each with its own SQLite
database and synthetic card-box, the demo federation's DEMO ONLY keys and its roster
(``peers/demo/``: version 1 pinned, version 2 with the loopback addresses, signed by all
three), then: sync, a search across all
bureaus, openings for one client, a candidate query, a fee agreement every bureau signs,
two introductions and placements signed by both bureaus, witnessed checkpoints, an
offline audit of the ledger, and a settlement statement with netting. The nodes keep
running (until Ctrl-C, SIGTERM or SIGHUP) so you can look around; ``--steps-only`` stops
after the walk. Each node's address and sign-in tokens are printed one plain line per node
(never cut to the terminal's width) and kept in ``tokens.txt`` in the demo folder (mode
0600); ``topmatch demo --show-tokens`` prints them again.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import httpx
import typer
from cryptography.hazmat.primitives import serialization
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from topmatch.accounts import service as accounts
from topmatch.accounts.models import Role
from topmatch.cardbox import synthetic
from topmatch.cli import _publish_all, _session, _vault, app, err, ports
from topmatch.clock import system_clock
from topmatch.errors import TopmatchError
from topmatch.geography import places
from topmatch.identity import keys
from topmatch.identity import service as identity
from topmatch.ledger import bundle as ledger_bundle
from topmatch.roster import demo as demo_roster
from topmatch.roster import files
from topmatch.settings import Settings, load_settings
from topmatch.settlement.exports import eurobedrag
from topmatch.settlement.periods import local_date, period_of
from topmatch.vocabulary import ContractType

BUREAUS = (
    ("werkpad", "Werkpad Utrecht", 2013),
    ("baanbrekers", "Baanbrekers Tilburg", 2014),
    ("stapverder", "Stap Verder Zwolle", 2015),
)
HTTP_OK = {200, 201, 202}
MARKER = ".topmatch-demo"  # only a folder holding this file is ever wiped
TOKENS_FILE = "tokens.txt"
ROSTER_FILE = "roster.json"  # the pinned demo roster, peers/demo/roster.json
DEFAULT_DIR = Path(".topmatch-demo")
ROLE_WORDS = {Role.consultant: "consulent", Role.finance: "financien", Role.admin: "beheerder"}
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a child gets when its parent dies
# The walk is read by people: wrap long lines (the CLI's own console never wraps).
out = Console(highlight=False, width=None if sys.stdout.isatty() else 110)
START_TIMEOUT_S = 90
CANDIDATE_TRIES = 6
DEMO_COUNTS = synthetic.Counts(employers=10, clients=80, vacancies=16, baanopeningen=6)
PEER_STATUS = {
    "answered": "kandidaten gestuurd",
    "too_few": "te weinig passende cliënten: niets gestuurd",
    "timed_out": "te laat",
    "refused": "geweigerd",
    "error": "fout",
}


def demo_agreement(members: list[str], today: date) -> dict[str, Any]:
    """The fee agreement of the demo: EUR 2,500 to 4,500 a placement, half at the start."""
    fees = {
        ContractType.vast: 450_000,
        ContractType.tijdelijk: 300_000,
        ContractType.uitzend: 250_000,
        ContractType.oproep: 200_000,
        ContractType.proefplaatsing: 100_000,
        ContractType.vrijwilligerswerk: 50_000,
    }
    return {
        "format": "topmatch.fee-agreement/1",
        "version": f"{today.year}-demo",
        "title": "Topmatch vergoedingen (demo)",
        "valid_from": f"{today.year - 1}-01-01",
        "valid_to": f"{today.year + 1}-12-31",
        "vat_rate_bp": 2100,
        "members": members,
        "placement_fees": [
            {"contract_type": kind.value, "min_hours": 0, "max_hours": 60, "fee_cents": fee}
            for kind, fee in fees.items()
        ],
        "start_share_bp": 5000,
        "retention_months": 6,
        "handover_fee_cents": 50_000,
    }


@dataclass
class DemoNode:
    node_id: str
    name: str
    port: int
    data_dir: Path
    env: dict[str, str]
    tokens: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with (self.data_dir / "server.log").open("ab") as log:  # the child keeps its copy
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "topmatch", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509 - no threads here; only prctl runs
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise typer.Exit(self._died())
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:  # noqa: PLR2004
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise typer.Exit(self._died())

    def _died(self) -> int:
        tail = (self.data_dir / "server.log").read_text(errors="replace")[-1500:]
        err.print(f"[red]{self.node_id} startte niet[/]; het logboek eindigt met:\n{escape(tail)}")
        self.stop()
        return 1

    def token_line(self) -> str:
        """Web address and every role's sign-in token, on one line."""
        tokens = "  ".join(f"{ROLE_WORDS[role]}={self.tokens[role.value]}" for role in Role)
        return f"{self.node_id:<12} {self.url}/  {tokens}"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def call(self, method: str, path: str, *, role: str = "admin", **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"}
        response = httpx.request(method, self.url + path, headers=headers, timeout=60, **kwargs)
        if response.status_code not in HTTP_OK:
            raise DemoError(
                f"{self.node_id} {method} {path}: {response.status_code} {response.text}"
            )
        return response.json() if response.content else None

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, params=params)

    def post(self, path: str, body: Any = None, **params: Any) -> Any:
        return self.call("POST", path, json=body, params=params)


class DemoError(Exception):
    """A step of the walk did not go as a working federation would."""


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived: unwinds like Ctrl-C, so the nodes are stopped."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _die_with_parent() -> None:
    """In a node's process before it runs: get SIGTERM when the demo dies, even by SIGKILL."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _raise_stopped(signum: int, _frame: FrameType | None) -> None:
    for other in STOP_SIGNALS:  # a second signal must not cut the clean-up short
        signal.signal(other, signal.SIG_IGN)
    raise Stopped(signum)


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """While inside: SIGTERM and SIGHUP raise :class:`Stopped` (like Ctrl-C raises
    KeyboardInterrupt), so ``finally`` blocks stop the nodes."""
    previous = {s: signal.signal(s, _raise_stopped) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def check_ports(base_port: int, count: int = len(BUREAUS)) -> None:
    """Refuse to start when a port the nodes need is taken: name it, its holder and a way out."""
    if not base_port:
        return
    for port in range(base_port, base_port + count):
        if ports.is_free(port):
            continue
        holder = ports.holder(port)
        who = str(holder) if holder else "een ander proces"
        raise DemoError(
            f"poort {port} is al in gebruik door {who}. Draait er nog een demo? Stop die, "
            f"of kies andere poorten: topmatch demo --base-port {_suggest_base(base_port, count)}"
        )


def _suggest_base(base_port: int, count: int) -> int:
    for candidate in range(base_port + 10, min(base_port + 1000, 65536 - count), 10):
        if all(ports.is_free(p) for p in range(candidate, candidate + count)):
            return candidate
    return 0


def write_tokens(root: Path, nodes: list[DemoNode]) -> Path:
    """The token lines, in a file only this user may read."""
    path = root / TOKENS_FILE
    text = "".join(f"{node.token_line()}\n" for node in nodes)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        os.fchmod(f.fileno(), 0o600)  # also when the file was already there
        f.write(text)
    return path


def print_lines(console: Console, lines: list[str]) -> None:
    """Lines that must reach the reader whole (tokens): never wrapped or cut, no markup."""
    for line in lines:
        console.print(line, soft_wrap=True, markup=False, highlight=False, emoji=False)


def _data_dir_option(root: Path) -> str:
    return "" if root == DEFAULT_DIR else f" --data-dir {root}"


def show_tokens(root: Path) -> int:
    path = root / TOKENS_FILE
    if not path.is_file():
        err.print(
            f"Geen demo gevonden in {escape(str(root))} (geen {TOKENS_FILE}). "
            f"Start er een met: topmatch demo{escape(_data_dir_option(root))}"
        )
        return 1
    lines = path.read_text(encoding="utf-8").splitlines()
    print_lines(out, [f"Adressen en tokens van de demo in {root} ({path}):", *lines])
    return 0


def prepare(root: Path, base_port: int) -> list[DemoNode]:
    """Three fresh nodes: the demo federation's keys and roster (peers/demo/), a synthetic
    card-box each, accounts."""
    if root.exists():
        if any(root.iterdir()) and not (root / MARKER).exists():
            raise DemoError(
                f"{root} bestaat en is geen demomap (geen bestand {MARKER}): "
                "kies een andere --data-dir"
            )
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / MARKER).write_text("made by topmatch demo: wiped at its next start\n")
    nodes = []
    now = system_clock()
    for index, (node_id, name, seed) in enumerate(BUREAUS):
        port = base_port + index if base_port else _free_port()
        data_dir = root / node_id
        settings = load_settings(
            data_dir=data_dir,
            port=port,
            node_id=node_id,
            display_name=name,
            public_url=f"http://127.0.0.1:{port}",
            peers_dir=data_dir / "peers",
            publish_by_default=True,
        )
        identity.create_identity(
            settings=settings,
            node_id=node_id,
            name=name,
            url=f"http://127.0.0.1:{port}",
            now=now,
            force=False,
        )
        _use_demo_keys(settings, node_id, f"http://127.0.0.1:{port}")
        node = DemoNode(node_id, name, port, data_dir, _env(data_dir, root))
        with _session(settings) as session:
            synthetic.seed(
                session=session,
                vault=_vault(settings),
                now=now,
                counts=DEMO_COUNTS,
                seed_value=seed,
            )
            _publish_all(session, settings)
            for role in (Role.consultant, Role.finance, Role.admin):
                _, token = accounts.add_user(
                    session=session, name=f"demo-{role.value}", role=role, now=now
                )
                node.tokens[role.value] = token
        nodes.append(node)
    _write_rosters(root, nodes, now)
    return nodes


def _use_demo_keys(settings: Settings, node_id: str, url: str) -> None:
    """Replace the keys ``init`` made with the DEMO ONLY keys of peers/demo/keys (the same
    bytes, from the same seeds: topmatch.roster.demo), and node.json with them."""
    key_pem = keys.private_pem(demo_roster.signing_key(node_id), settings.passphrase())
    identity.write_private(settings.resolved_key_file(), key_pem, force=True)
    x25519 = demo_roster.encryption_key(node_id).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    identity.write_private(identity.encryption_key_file(settings), x25519, force=True)
    descriptor = demo_roster.descriptor(node_id, url)
    settings.descriptor_file().write_text(descriptor.model_dump_json(indent=2) + "\n")


def _write_rosters(root: Path, nodes: list[DemoNode], now: datetime) -> None:
    """The demo federation's roster (peers/demo/roster.json, version 1, fictional
    addresses) pinned for every node, and version 2 with the loopback addresses, signed with
    the demo keys, as each node had accepted it."""
    pinned = demo_roster.roster()
    files.write_roster(root / ROSTER_FILE, pinned)
    current = demo_roster.with_urls(pinned, {n.node_id: n.url for n in nodes}, issued_at=now)
    for node in nodes:
        files.write_roster(node.data_dir / "roster" / f"{current.signed.version}.json", current)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _env(data_dir: Path, root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOPMATCH_")}
    env.update(
        {
            "TOPMATCH_DATA_DIR": str(data_dir),
            "TOPMATCH_PEERS_DIR": str(data_dir / "peers"),
            "TOPMATCH_ROSTER_FILE": str(root / ROSTER_FILE),
            "TOPMATCH_PUBLISH_BY_DEFAULT": "true",
            "TOPMATCH_SYNC_INTERVAL_SECONDS": "0",  # the walk decides when to sync
        }
    )
    return env


def score(value: float, decimals: int = 2) -> str:
    """A score as Dutch readers write numbers: 0,87."""
    return f"{value:.{decimals}f}".replace(".", ",")


def _by_name(client: dict[str, Any]) -> tuple[str, ...]:
    return (client["last_name"], client["first_name"], client["name_prefix"], client["id"])


def _vacancy_of(hit: dict[str, Any], node_id: str) -> bool:
    return bool(hit["opening"]["origin"] == node_id and hit["opening"]["type"] == "vacancy")


def same_occupation(client: dict[str, Any], opening: dict[str, Any]) -> bool:
    """Whether the opening is for an occupation the client looks for (same ISCO-08 unit
    group, or the same label when either has no code)."""
    offered = opening.get("occupation") or {}
    for wanted in client.get("desired_occupations", []):
        if wanted.get("isco08") and offered.get("isco08"):
            if wanted["isco08"] == offered["isco08"]:
                return True
        elif str(wanted.get("label", "")).casefold() == str(offered.get("label", "")).casefold():
            return True
    return False


def profile(client: dict[str, Any]) -> str:
    """Who the client is, without a name: occupation, hours, level and labour-market region."""
    wanted = ", ".join(o["label"] for o in client.get("desired_occupations", [])) or "werk"
    hours = client.get("hours_per_week")
    parts = [
        wanted.lower(),
        f"{hours} uur per week" if hours else "uren nog niet bekend",
        f"opleiding {client['education_level']}" if client.get("education_level") else "",
        f"regio {_region(client['municipality'])}",
    ]
    return ", ".join(p for p in parts if p)


def _region(municipality: str) -> str:
    try:
        return places.municipality(municipality).arbeidsmarktregio
    except TopmatchError:
        return "onbekend"


def verdict(directory: Path, rosters: list[Path]) -> str:
    """The offline check of an exported bundle against the keys in the federation's
    roster, in Dutch."""
    report = ledger_bundle.verify(directory, rosters=[files.read_roster(p) for p in rosters])
    if not report.ok:
        return f"FOUT: {report.failure}"
    return (
        f"in orde: {report.entries} {'regel' if report.entries == 1 else 'regels'} en "
        f"{report.checkpoints} {'checkpoint' if report.checkpoints == 1 else 'checkpoints'}, "
        f"alle handtekeningen kloppen (partijen {', '.join(sorted(report.parties))})"
    )


def transfers(count: int) -> str:
    return f"{count} {'overboeking' if count == 1 else 'overboekingen'}"


def netting_sentence(proposal: dict[str, Any]) -> str:
    """What netting saved, in words: transfers and euros before and after."""
    after, before = len(proposal["payments"]), len(proposal["based_on"])
    moved, gross = proposal["moved_cents"], proposal["gross_cents"]
    count = transfers(after) + (f" in plaats van {before}" if after < before else "")
    if moved < gross:
        return f"{count}, samen {eurobedrag(moved)} in plaats van {eurobedrag(gross)}."
    return f"{count}, samen {eurobedrag(moved)}."


class Walk:
    """The steps, in order; each prints what it did and what each bureau saw."""

    def __init__(self, nodes: list[DemoNode], root: Path) -> None:
        self.nodes = nodes
        self.root = root
        self.werkpad, self.baanbrekers, self.stapverder = nodes
        self.names = {n.node_id: n.name for n in nodes}
        self.number = 0

    def step(self, title: str, text: str) -> None:
        self.number += 1
        out.print()
        out.print(Panel(text, title=f"Stap {self.number}: {title}", title_align="left"))

    def run(self) -> None:
        self.cardboxes()
        self.sync()
        self.search()
        introduced = [self.introduce(self.werkpad, self.baanbrekers)]
        self.candidates()
        self.agree()
        introduced.append(self.introduce(self.baanbrekers, self.stapverder, quiet=True))
        self.place(introduced)
        self.witness()
        self.audit()
        self.settle()

    def cardboxes(self) -> None:
        table = Table("bureau", "cliënten", "vacatures", "baanopeningen", "adres")
        for node in self.nodes:
            table.add_row(
                node.name,
                str(node.get("/api/v1/clients", limit=1)["total"]),
                str(node.get("/api/v1/vacancies", limit=1)["total"]),
                str(node.get("/api/v1/baanopeningen", limit=1)["total"]),
                node.url,
            )
        self.step(
            "drie bureaus, drie eigen kaartenbakken",
            "Elk bureau draait een eigen node "
            "met eigen database en sleutels; namen, BSN's en adressen blijven daar.",
        )
        out.print(table)

    def sync(self) -> None:
        table = Table("bureau", "haalt op bij", "wijzigingen", "status")
        for node in self.nodes:
            for result in node.post("/api/v1/peers/sync"):
                table.add_row(
                    node.name,
                    self.names.get(str(result["node_id"]), str(result["node_id"])),
                    str(result.get("applied", 0)),
                    "ok" if result.get("ok") else f"fout: {result.get('error')}",
                )
        self.step(
            "openingen delen",
            "Elke node haalt de ondertekende, geanonimiseerde feed "
            "van de andere twee op en bewaart een kopie: zoeken werkt ook als een bureau "
            "offline is.",
        )
        out.print(table)

    def search(self) -> None:
        found = self.werkpad.get("/api/v1/search", q="medewerker", limit=5)
        table = Table("score", "opening", "bureau", "waarom")
        for hit in found["hits"]:
            table.add_row(
                score(hit["score"]), hit["opening"]["title"], hit["bureau"], hit["explanation"]
            )
        self.step(
            "zoeken bij alle bureaus",
            f"Een consulent van {self.werkpad.name} zoekt "
            "'medewerker': gerangschikt over de openingen van alle drie de bureaus.",
        )
        out.print(table)

    def introduce(self, ours: DemoNode, theirs: DemoNode, *, quiet: bool = False) -> dict[str, Any]:
        """Our consenting client for their best fitting vacancy: introduced, accepted,
        contact details handed over in sealed boxes both ways."""
        client, hit = self._client_with_match(ours, theirs)
        if not quiet:
            table = Table("score", "opening", "bureau", "waarom")
            for h in ours.get(f"/api/v1/clients/{client['id']}/matches", limit=5)["hits"]:
                table.add_row(
                    score(h["score"]), h["opening"]["title"], h["bureau"], h["explanation"]
                )
            self.step(
                "passende openingen voor één cliënt",
                f"Een consulent van {ours.name} zoekt openingen voor een cliënt "
                f"(geanonimiseerd: {escape(profile(client))}).\n"
                "Berekend op de eigen node: er gaat niets over deze cliënt naar buiten.",
            )
            out.print(table)
        sent = ours.post(
            "/api/v1/introductions",
            {
                "peer": theirs.node_id,
                "kind": "client_for_opening",
                "summary_id": hit["opening"]["id"],
                "client_id": client["id"],
                "note": "Gemotiveerde kandidaat, kan snel starten.",
            },
        )
        intro_id = sent["id"]  # queued; delivered right after the commit (the outbox)
        self._wait_for_request(theirs, intro_id)
        theirs.post(f"/api/v1/introductions/{intro_id}/decision", {"accept": True})
        contact = self._wait_for_handover(theirs, intro_id)
        if not quiet:
            self.step(
                "voorstellen en overdragen",
                f"{ours.name} stelt de cliënt voor, "
                f"geanonimiseerd; {theirs.name} accepteert. Pas dan gaan de contactgegevens "
                "over, versleuteld voor alleen de ontvangende node.\n"
                f"{theirs.name} ziet nu: {contact.get('first_name', '?')} "
                f"{contact.get('last_name', '')} (voorstel {intro_id})",
            )
        return {"ours": ours, "theirs": theirs, "intro": intro_id, "client": client, "hit": hit}

    def _client_with_match(
        self, ours: DemoNode, theirs: DemoNode
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The first consenting client, in a fixed order (by name), whose best opening is a
        vacancy of ``theirs`` in the occupation the client looks for; failing that, the first
        with any vacancy of ``theirs`` among their matches. The same client on every run."""
        clients = ours.get("/api/v1/clients", limit=100)["items"]
        fallback: tuple[dict[str, Any], dict[str, Any]] | None = None
        for item in sorted(clients, key=_by_name):
            if not item["consent_share_profile"]:
                continue
            hits = ours.get(f"/api/v1/clients/{item['id']}/matches", limit=20)["hits"]
            theirs_ = [h for h in hits if _vacancy_of(h, theirs.node_id)]
            if not theirs_:
                continue
            client: dict[str, Any] = ours.get(f"/api/v1/clients/{item['id']}")
            if hits[0] is theirs_[0] and same_occupation(client, hits[0]["opening"]):
                return client, hits[0]
            fallback = fallback or (client, theirs_[0])
        if fallback is None:
            raise DemoError(
                f"geen cliënt van {ours.node_id} past bij een vacature van {theirs.node_id}"
            )
        return fallback

    def _wait_for_request(self, theirs: DemoNode, intro_id: str) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if any(i["id"] == intro_id for i in theirs.get("/api/v1/introductions")):
                return
            time.sleep(0.3)
        raise DemoError(f"voorstel {intro_id} kwam niet aan bij {theirs.node_id}")

    @staticmethod
    def _countersigned(ours: DemoNode, proposed: dict[str, Any]) -> dict[str, Any]:
        """The proposal once the outbox delivered it and the other bureau countersigned
        (proposing answers at once; the delivery runs right after)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            shown: dict[str, Any] = ours.get(f"/api/v1/ledger/proposals/{proposed['entry_id']}")
            if shown["status"] == "countersigned":
                return shown
            if shown["status"] == "refused":
                break
            time.sleep(0.3)
        raise DemoError(f"niet medeondertekend: {proposed['entry_id']}")

    def _wait_for_handover(self, theirs: DemoNode, intro_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                found: dict[str, Any] = theirs.get(f"/api/v1/introductions/{intro_id}/handover")
            except DemoError:
                time.sleep(0.3)
                continue
            return found
        raise DemoError(f"de contactgegevens van voorstel {intro_id} kwamen niet aan")

    def candidates(self) -> None:
        """Ask for candidates for a few of our vacancies; show the first that finds some."""
        vacancies = self.stapverder.get("/api/v1/vacancies", limit=20)["items"]
        vacancies.sort(key=lambda v: (v["title"], v["start_date"] or ""))  # the same every run
        for vacancy in vacancies[:CANDIDATE_TRIES]:
            result = self.stapverder.post(f"/api/v1/vacancies/{vacancy['id']}/candidate-query")
            if result["candidates"]:
                break
        table = Table("bureau", "antwoord", "kandidaten", "ms")
        for peer in result["peers"]:
            table.add_row(
                peer["bureau"],
                PEER_STATUS.get(peer["status"], peer["status"]),
                str(peer["candidates"]),
                str(peer["milliseconds"]),
            )
        self.step(
            "kandidaten vragen",
            f"{self.stapverder.name} vraagt de anderen om kandidaten voor "
            f"'{escape(vacancy['title'])}'. Zij antwoorden uit hun eigen kaartenbak, alleen met "
            "geanonimiseerde profielen, en alleen als minstens drie cliënten passen (anders "
            "zou één profiel iemand herkenbaar kunnen maken).",
        )
        out.print(table)
        for found in result["candidates"][:3]:
            person = found["candidate"]
            out.print(
                f"  {found['bureau']}: score {score(person['score'], 0)}, "
                f"{person.get('hours_per_week') or '?'} uur, regio {escape(person['region'])}, "
                f"leeftijd {person['age_band']}: {escape(person['explanation'])}"
            )

    def agree(self) -> None:
        members = [n.node_id for n in self.nodes]
        document = demo_agreement(members, local_date(system_clock()))
        self.werkpad.post("/api/v1/agreements", document)
        for node in (self.baanbrekers, self.stapverder):
            node.post("/api/v1/ledger/round")
            node.post(f"/api/v1/agreements/{document['version']}/signature")
        for node in self.nodes:
            node.post("/api/v1/ledger/round")
        shown = self.werkpad.get(f"/api/v1/agreements/{document['version']}")
        table = Table("contract", "vergoeding", "bij start", "na 6 maanden")
        for band in document["placement_fees"]:
            fee = band["fee_cents"]
            table.add_row(
                band["contract_type"],
                eurobedrag(fee),
                eurobedrag(fee // 2),
                eurobedrag(fee - fee // 2),
            )
        self.step(
            "de vergoedingenafspraak",
            f"Versie {document['version']}, ondertekend door "
            f"{', '.join(shown['signed_by'])}: "
            f"{'van kracht' if shown['in_force'] else 'nog niet van kracht'}. "
            "De bureaus betalen elkaar per plaatsing; de betaler is het bureau van de cliënt.",
        )
        out.print(table)

    def place(self, introduced: list[dict[str, Any]]) -> None:
        started = local_date(system_clock()) - timedelta(days=215)
        table = Table("plaatsing", "betaler", "ontvanger", "bedrag", "handtekeningen")
        for item in introduced:
            ours, theirs, hit = item["ours"], item["theirs"], item["hit"]
            opening = hit["opening"]
            result = ours.post(
                "/api/v1/ledger/placements",
                {
                    "counterparty": theirs.node_id,
                    "we_are": "payer",
                    "introduction_id": item["intro"],
                    "summary_id": opening["id"],
                    "client_id": item["client"]["id"],
                    "start_date": started.isoformat(),
                    "contract_type": opening["contract_type"],
                    "hours_per_week": opening["hours_max"],
                },
            )
            entry = self._countersigned(ours, result)["entry"]
            item["entry"] = entry
            table.add_row(
                entry["entry_id"][:12],
                self.names[entry["payer"]],
                self.names[entry["payee"]],
                eurobedrag(entry["amount_cents"]),
                ", ".join(s["party"] for s in entry["signatures"]),
            )
        first = introduced[0]
        retained = self._countersigned(
            first["theirs"],
            first["theirs"].post(
                "/api/v1/ledger/events",
                {
                    "refers_to": first["entry"]["entry_id"],
                    "type": "placement.retained",
                    "reason": "na 6 maanden nog aan het werk: duurzame plaatsing",
                },
            ),
        )
        table.add_row(
            "duurzaam",
            self.names[retained["entry"]["payer"]],
            self.names[retained["entry"]["payee"]],
            eurobedrag(retained["entry"]["amount_cents"]),
            ", ".join(s["party"] for s in retained["entry"]["signatures"]),
        )
        self.step(
            "plaatsen en samen tekenen",
            "Elke plaatsing is een regel in het "
            "vergoedingenlogboek die beide bureaus ondertekenen; het bedrag volgt uit de "
            "afspraak. Na zes maanden volgt de tweede helft (duurzame plaatsing).",
        )
        out.print(table)

    def witness(self) -> None:
        for node in self.nodes:
            node.post("/api/v1/ledger/round")
        table = Table("logboek van", "regels", "wortel-hash", "getuigen")
        for node in self.nodes:
            point = node.get("/api/v1/ledger/checkpoint")
            table.add_row(
                node.name,
                str(point["size"]),
                point["root_hash"][:16] + "…",
                ", ".join(self.names.get(w, w) for w in point["witnessed_by"]),
            )
        self.step(
            "getuigen",
            "Elk bureau houdt een Merkle-logboek; de andere bureaus "
            "controleren en medeondertekenen elkaars checkpoints, zodat niemand achteraf "
            "iets kan wijzigen of weglaten.",
        )
        out.print(table)

    def audit(self) -> None:
        # The auditor anchors keys in the federation's signed roster: only the pinned
        # version 1 (peers/demo/roster.json); each bundle carries the later version with
        # the demo's addresses, which must follow from it. Never in a bundle's own keys/.
        rosters = [self.root / ROSTER_FILE]
        anchor = [arg for path in rosters for arg in ("--roster", str(path))]
        bundles = [self.root / f"audit-{node.node_id}" for node in self.nodes]
        for node, bundle in zip(self.nodes, bundles, strict=True):
            self._topmatch(node, ["ledger", "export", "--out", str(bundle)])
        own = bundles[self.nodes.index(self.werkpad)]
        self._topmatch(self.werkpad, ["ledger", "verify", str(own), *anchor])
        audited = self._topmatch(
            self.werkpad, ["ledger", "audit", *(str(b) for b in bundles), *anchor, "--json"]
        )
        findings = len(json.loads(audited)["findings"])
        self.step(
            "controle door een accountant",
            "`topmatch ledger export` schrijft per bureau een "
            f"bundel; `topmatch ledger verify` controleert die offline met de sleutels uit de "
            f"ondertekende deelnemerslijst (peers/): {verdict(own, rosters)}. "
            f"`topmatch ledger audit` legt de bundels van alle {len(bundles)} bureaus naast "
            f"elkaar: {'geen afwijkingen' if findings == 0 else f'{findings} afwijkingen'}.",
        )

    def _topmatch(self, node: DemoNode, argv: list[str]) -> str:
        done = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "topmatch", *argv],
            env=node.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if done.returncode != 0:
            raise DemoError(f"topmatch {' '.join(argv)} mislukte: {done.stderr}{done.stdout}")
        return done.stdout

    def settle(self) -> None:
        today = local_date(system_clock())
        quarter = period_of(today)
        view = self.werkpad.get(f"/api/v1/settlements/{quarter.name}")
        self.step(
            f"afrekening {quarter.name}",
            f"{self.werkpad.name} maakt de afrekening "
            "uit het logboek alleen; elk ander bureau komt op dezelfde bytes uit "
            f"(controlegetal {view['report_sha256'][:16]}…).",
        )
        self._statement_table(view)
        offset = (quarter.end - today).days + 1
        out.print(
            f"[dim]De demo zet de klokken van alle drie de nodes {offset} dagen vooruit, "
            f"zodat {quarter.name} voorbij is en afgesloten kan worden.[/]"
        )
        for node in self.nodes:
            node.stop()
            node.env["TOPMATCH_CLOCK_OFFSET_DAYS"] = str(offset)
            node.start()
        for node in self.nodes:
            for result in node.post(f"/api/v1/settlements/{quarter.name}/close"):
                self._countersigned(node, result)
        netting = self.werkpad.get(f"/api/v1/settlements/{quarter.name}/netting")
        proposal = netting["proposal"]
        table = Table("betaler", "ontvanger", "bedrag")
        for payment in proposal["payments"]:
            table.add_row(
                self.names[payment["payer"]],
                self.names[payment["payee"]],
                eurobedrag(payment["amount_cents"]),
            )
        html = self.root / f"afrekening-werkpad-{quarter.name}.html"
        counterparty = view["statement"]["counterparties"][0]["counterparty"]
        html.write_bytes(
            httpx.get(
                f"{self.werkpad.url}/api/v1/settlements/{quarter.name}/statements/{counterparty}.html",
                headers={"Authorization": f"Bearer {self.werkpad.tokens['finance']}"},
                timeout=60,
            ).content
        )
        self.step(
            "afsluiten en verrekenen",
            f"Elk paar bureaus sluit {quarter.name} af met een "
            "door beide ondertekende regel; daarna verrekent Topmatch over alle bureaus: "
            f"{netting_sentence(proposal)}\nAfrekening als HTML: {escape(str(html))}",
        )
        out.print(table)

    def _statement_table(self, view: dict[str, Any]) -> None:
        table = Table(
            "tegenpartij", "te ontvangen", "te betalen", "saldo incl. btw", "vervallen/betwist"
        )
        for section in view["statement"]["counterparties"]:
            table.add_row(
                self.names.get(section["counterparty"], section["counterparty"]),
                eurobedrag(section["receivable"]["total_cents"]),
                eurobedrag(section["payable"]["total_cents"]),
                eurobedrag(section["net"]["total_cents"]),
                str(len(section["excluded"])),
            )
        out.print(table)


def _wait_for_interrupt(nodes: list[DemoNode], tokens_file: Path) -> None:
    out.print()
    out.print(
        Panel(
            "De drie nodes blijven draaien. Log in op de webapp van een bureau met een token "
            "hieronder, of probeer de API (Authorization: Bearer …, documentatie op /docs). "
            "Stoppen: Ctrl-C.",
            title="Klaar",
            expand=False,
        )
    )
    _print_tokens(nodes, tokens_file)
    try:
        while all(n.process is not None and n.process.poll() is None for n in nodes):
            time.sleep(0.5)
        err.print("[red]een node is gestopt; de demo stopt[/]")
    except KeyboardInterrupt:
        out.print("gestopt")


def _print_tokens(nodes: list[DemoNode], tokens_file: Path) -> None:
    out.print("Adres en inlogtokens per bureau (consulent, financien, beheerder):")
    print_lines(out, [node.token_line() for node in nodes])
    again = "topmatch demo --show-tokens" + _data_dir_option(tokens_file.parent)
    print_lines(out, [f"Ook in {tokens_file}; opnieuw tonen: {again}"])


@app.command()
def demo(
    data_dir: Annotated[
        Path, typer.Option(help="Where the demo keeps its three nodes (wiped first).")
    ] = DEFAULT_DIR,
    base_port: Annotated[
        int,
        typer.Option(help="The nodes listen on this port and the next two (0: any free ports)."),
    ] = 8101,
    steps_only: Annotated[
        bool,
        typer.Option("--steps-only", help="Walk through the steps, then stop the nodes and exit."),
    ] = False,
    show_tokens_only: Annotated[
        bool,
        typer.Option(
            "--show-tokens",
            help=f"Print the addresses and sign-in tokens of the last demo again (from "
            f"{TOKENS_FILE} in --data-dir) and exit.",
        ),
    ] = False,
) -> None:
    """A local federation of three bureaus on 127.0.0.1, and a walk through every step:
    sharing, matching, introductions, co-signed placements, audit and settlement."""
    if show_tokens_only:
        raise typer.Exit(show_tokens(data_dir))
    with stop_on_signals():
        try:
            _run(data_dir, base_port, steps_only=steps_only)
        except Stopped as e:
            out.print(f"gestopt ({e.args[0]})")
            raise typer.Exit(128 + e.signum) from e


def _run(data_dir: Path, base_port: int, *, steps_only: bool) -> None:
    started = datetime.now()  # noqa: DTZ005 - only to report how long the walk took
    out.print(f"[bold]Topmatch demo[/]: drie bureaus in {escape(str(data_dir))}")
    nodes: list[DemoNode] = []
    try:
        check_ports(base_port)
        nodes = prepare(data_dir, base_port)
        tokens_file = write_tokens(data_dir, nodes)
        for node in nodes:
            node.start()
        Walk(nodes, data_dir).run()
        seconds = (datetime.now() - started).total_seconds()  # noqa: DTZ005
        out.print(f"\n[green]Alle stappen gelukt[/] in {seconds:.0f} s.")
        if steps_only:
            print_lines(out, [f"Adressen en tokens staan in {tokens_file}."])
        else:
            _wait_for_interrupt(nodes, tokens_file)
    except DemoError as e:
        err.print(f"[red]demo mislukt:[/] {escape(str(e))}")
        raise typer.Exit(1) from e
    finally:
        for node in nodes:
            node.stop()
