"""The README's main command: `topmatch demo` walks three real nodes through every step."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_demo_walks_through_every_step(tmp_path: Path) -> None:
    if os.environ.get("TOPMATCH_TEST_DATABASE_URL"):
        pytest.skip("the demo's nodes use SQLite files; it runs in the SQLite pass")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOPMATCH_")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "topmatch",
            "demo",
            "--steps-only",
            "--base-port",
            "0",
            "--data-dir",
            str(tmp_path / "demo"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for step in (
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
    ):
        assert step in done.stdout, step
    statement = next((tmp_path / "demo").glob("afrekening-werkpad-*.html")).read_text()
    assert "Baanbrekers Tilburg" in statement


def test_the_demo_never_wipes_a_folder_it_did_not_make(tmp_path: Path) -> None:
    from topmatch.cli import demo  # noqa: PLC0415

    precious = tmp_path / "thesis.txt"
    precious.write_text("years of work")
    with pytest.raises(demo.DemoError, match="not a demo folder"):
        demo.prepare(tmp_path, 0)
    assert precious.read_text() == "years of work"
