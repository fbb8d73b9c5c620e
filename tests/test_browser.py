"""The web app in a real browser: Playwright driving the OS's Chromium against three real
bureau nodes (the demo federation), with axe-core accessibility checks. Screenshots of the
main pages are saved in test-artifacts/screenshots/."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from topmatch.cli import demo

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERIOUS = {"serious", "critical"}


def _skip_reason() -> str | None:
    if os.environ.get("TOPMATCH_TEST_DATABASE_URL"):
        return "the browser tests run in the SQLite pass (the demo nodes use SQLite files)"
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is missing in CI: scripts/ensure-chromium.sh should install it")
        return "no Chromium on this machine (scripts/ensure-chromium.sh installs it as root)"
    return None


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[demo.DemoNode]]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("browser") / "federation"
    nodes = demo.prepare(root, 0)
    try:
        for node in nodes:
            node.start()
        walk = demo.Walk(nodes, root)
        walk.sync()
        walk.agree()
        yield nodes
    finally:
        for node in nodes:
            node.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only where it runs

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield launched
        launched.close()


def _page(browser: Any, node: demo.DemoNode, role: str = "consultant") -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{node.url}/inloggen")
    page.get_by_label("Code").fill(node.tokens[role])
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_load_state()
    return page


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _accessible(page: Any, name: str) -> None:
    from axe_playwright_python.sync_playwright import Axe  # noqa: PLC0415

    results = Axe().run(page)
    serious = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v.get("impact") in SERIOUS
    ]
    assert serious == [], f"{name}: {serious}"


def test_sign_in_and_search_all_bureaus(federation: list[demo.DemoNode], browser: Any) -> None:
    werkpad = federation[0]
    page = _page(browser, werkpad)
    assert page.locator("h1").inner_text() == "Zoeken bij alle bureaus"
    page.get_by_label("Wat voor werk").fill("medewerker")
    page.get_by_role("button", name="Zoeken").last.click()
    page.wait_for_load_state()
    hits = page.locator("li.hit")
    assert hits.count() > 0
    bureaus = {hits.nth(i).locator(".bureau").inner_text() for i in range(hits.count())}
    assert bureaus & {"Baanbrekers Tilburg", "Stap Verder Zwolle"}, bureaus
    _shot(page, "zoeken")
    _accessible(page, "zoeken")
