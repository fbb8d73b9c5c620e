"""The README's main command: `topmatch demo` walks three real nodes through every step,
prints what a newcomer needs to sign in (whole, at any width, also into a file), refuses taken
ports, and stops its nodes on SIGTERM."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from tests.factories import web_sign_in
from topmatch.cli import demo, main, ports

STEPS = (
    "openingen delen",
    "zoeken bij alle bureaus",
    "passende openingen voor één cliënt",
    "kandidaten vragen",
    "voorstellen en overdragen",
    "plaatsen en samen tekenen",
    "getuigen",
    "controle door een accountant",
    "afsluiten en verrekenen",
    "Alle stappen gelukt",
)
READY = "opnieuw tonen: topmatch demo --show-tokens"


def _children(pid: int) -> list[int]:
    task = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in task.read_text().split()] if task.exists() else []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie no one has reaped yet holds no port and runs nothing


def _wait_for(path: Path, text: str, process: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        output = path.read_text(errors="replace")
        if text in output or process.poll() is not None:
            return output
        time.sleep(0.5)
    return path.read_text(errors="replace")


@pytest.fixture
def running_demo(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path, Path]]:
    """`topmatch demo` with its output piped to a file, as in a log: (process, log, folder)."""
    if os.environ.get("TOPMATCH_TEST_DATABASE_URL"):
        pytest.skip("the demo's nodes use SQLite files; it runs in the SQLite pass")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOPMATCH_")}
    log, folder = tmp_path / "demo.log", tmp_path / "demo"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "topmatch",
                "demo",
                "--base-port",
                "0",
                "--data-dir",
                str(folder),
            ],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process, log, folder
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.slow
def test_demo_walks_through_every_step_prints_tokens_whole_and_stops_on_sigterm(
    running_demo: tuple[subprocess.Popen[bytes], Path, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    process, log, folder = running_demo
    output = _wait_for(log, READY, process)
    assert process.poll() is None, output[-3000:]
    assert READY in output, output[-3000:]
    for step in STEPS:
        assert step in output, step
    assert "geen afwijkingen" in output  # ledger audit of all three bundles, roster-anchored
    statement = next(folder.glob("afrekening-werkpad-*.html")).read_text()
    assert "Baanbrekers Tilburg" in statement

    # One whole line per node, in the piped output and in a file only we may read.
    tokens_file = folder / demo.TOKENS_FILE
    assert tokens_file.stat().st_mode & 0o777 == 0o600
    assert str(tokens_file) in output
    lines = tokens_file.read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["werkpad", "baanbrekers", "stapverder"]
    for line in lines:
        assert f"\n{line}\n" in output  # never wrapped, never cut with "…"
    urls = [line.split()[1] for line in lines]
    assert main(["demo", "--show-tokens", "--data-dir", str(folder)]) == 0
    shown = capsys.readouterr().out
    assert all(line in shown for line in lines)

    # What was printed is enough to sign in to every node's web app and API.
    for line, url in zip(lines, urls, strict=True):
        tokens = dict(word.split("=", 1) for word in line.split()[2:])
        assert set(tokens) == {"consulent", "financien", "beheerder"}
        with httpx.Client(base_url=url, timeout=30) as browser:  # the form, as a browser posts it
            signed_in = web_sign_in(browser, tokens["consulent"], follow_redirects=False)
        assert signed_in.status_code == 303, signed_in.text
        api = httpx.get(
            f"{url}api/v1/clients",
            headers={"Authorization": f"Bearer {tokens['beheerder']}"},
            timeout=30,
        )
        assert api.status_code == 200

    # SIGTERM, not only Ctrl-C, stops the nodes and frees their ports.
    nodes = _children(process.pid)
    assert len(nodes) == len(demo.BUREAUS)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    assert "gestopt" in log.read_text()
    assert not [pid for pid in nodes if _alive(pid)]
    for url in urls:
        assert ports.is_free(int(url.rstrip("/").rsplit(":", 1)[1]))


def _held_between_free_neighbours() -> socket.socket:
    """A listening socket on a port whose neighbours are free, so the demo trips on it."""
    for _ in range(50):
        held = socket.socket()
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        if ports.is_free(port - 1) and ports.is_free(port + 1):
            return held
        held.close()
    raise AssertionError("no port with free neighbours found on loopback")


def test_a_taken_port_is_named_with_its_holder_and_nothing_is_wiped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with _held_between_free_neighbours() as taken:
        port = taken.getsockname()[1]
        folder = tmp_path / "demo"
        code = main(["demo", "--base-port", str(port - 1), "--data-dir", str(folder)])
    assert code == 1
    err = " ".join(capsys.readouterr().err.split())
    assert f"poort {port} is al in gebruik door proces {os.getpid()}" in err
    assert "topmatch demo --base-port " in err
    assert not folder.exists()


def test_show_tokens_without_a_demo_says_how_to_start_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--show-tokens", "--data-dir", str(tmp_path / "nothing")]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "Geen demo gevonden" in err
    assert f"topmatch demo --data-dir {tmp_path / 'nothing'}" in err


def test_token_lines_survive_a_narrow_terminal() -> None:
    node = demo.DemoNode("baanbrekers", "Baanbrekers Tilburg", 8102, Path("x"), {})
    node.tokens = {role: f"tm_{role}_{'x' * 40}" for role in ("consultant", "finance", "admin")}
    sink = io.StringIO()
    demo.print_lines(Console(file=sink, width=80, force_terminal=True), [node.token_line()])
    assert sink.getvalue() == node.token_line() + "\n"
    assert "http://127.0.0.1:8102/" in node.token_line()
    assert f"financien=tm_finance_{'x' * 40}" in node.token_line()


def test_tokens_file_is_private(tmp_path: Path) -> None:
    node = demo.DemoNode("werkpad", "Werkpad Utrecht", 8101, tmp_path, {})
    node.tokens = {"consultant": "tm_a", "finance": "tm_b", "admin": "tm_c"}
    (tmp_path / demo.TOKENS_FILE).write_text("old")
    (tmp_path / demo.TOKENS_FILE).chmod(0o644)
    path = demo.write_tokens(tmp_path, [node])
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_text() == node.token_line() + "\n"


def test_the_client_shown_is_an_anonymous_profile_with_a_genuine_fit() -> None:
    client = {
        "first_name": "Puck",
        "last_name": "Hendriks",
        "desired_occupations": [{"label": "Chauffeur", "isco08": "8322"}],
        "hours_per_week": 32,
        "education_level": "mbo-2",
        "municipality": "Arnhem",
    }
    shown = demo.profile(client)
    assert shown == "chauffeur, 32 uur per week, opleiding mbo-2, regio Midden-Gelderland"
    assert "Puck" not in shown
    assert demo.same_occupation(client, {"occupation": {"label": "Bezorger", "isco08": "8322"}})
    assert not demo.same_occupation(client, {"occupation": {"label": "Kok", "isco08": "5120"}})


def test_netting_is_told_in_dutch_with_plurals() -> None:
    one = {"payments": [1], "based_on": [1, 2, 3], "moved_cents": 150_000, "gross_cents": 450_050}
    assert demo.netting_sentence(one) == (
        "1 overboeking in plaats van 3, samen € 1.500,00 in plaats van € 4.500,50."
    )
    same = {"payments": [1, 2], "based_on": [1, 2], "moved_cents": 302_500, "gross_cents": 302_500}
    assert demo.netting_sentence(same) == "2 overboekingen, samen € 3.025,00."
    assert demo.score(27.5) == "27,50"


def test_the_demo_never_wipes_a_folder_it_did_not_make(tmp_path: Path) -> None:
    precious = tmp_path / "thesis.txt"
    precious.write_text("years of work")
    with pytest.raises(demo.DemoError, match="geen demomap"):
        demo.prepare(tmp_path, 0)
    assert precious.read_text() == "years of work"
