"""The web app in a real browser: Playwright driving the OS's Chromium against three real
bureau nodes (the demo federation), with axe-core accessibility checks. Screenshots of the
main pages are saved in test-artifacts/screenshots/."""

from __future__ import annotations

import os
import shutil
import time
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


def _consenting_client_with_match(node: demo.DemoNode, peer: demo.DemoNode) -> tuple[str, str]:
    """(client id, summary id) of one of our consenting clients and a vacancy of ``peer``."""
    walk = demo.Walk([node, peer, peer], Path("."))
    client, hit = walk._client_with_match(node, peer)
    return client["id"], hit["opening"]["id"]


def _reload_until(page: Any, selector: str, tries: int = 50) -> None:
    """Messages between nodes go through the outbox, right after the sender's commit: the
    other node's page shows them a moment later."""
    for _ in range(tries):
        if page.locator(selector).count():
            return
        time.sleep(0.2)
        page.reload()
    raise AssertionError(f"{selector} did not appear on {page.url}")


def test_introduce_accept_place_and_settle(federation: list[demo.DemoNode], browser: Any) -> None:
    """The consultant's whole path across two bureaus, and finance's statement."""
    werkpad, baanbrekers, _ = federation
    client_id, summary_id = _consenting_client_with_match(werkpad, baanbrekers)

    # Werkpad: the client's matches at every bureau, and an introduction to Baanbrekers.
    ours = _page(browser, werkpad)
    ours.goto(f"{werkpad.url}/clienten/{client_id}")
    _shot(ours, "client-matches")
    _accessible(ours, "client page")
    form = ours.locator(f"form:has(input[name=summary_id][value='{summary_id}'])")
    form.get_by_role("button").click()
    ours.wait_for_load_state()
    assert ours.locator("[role=status]").first.inner_text().startswith("Uw verzoek")

    # Baanbrekers: the anonymised request, accepted in one click.
    theirs = _page(browser, baanbrekers)
    theirs.goto(f"{baanbrekers.url}/voorstellen")
    _reload_until(theirs, "form[action$='/besluit']")  # delivered after werkpad's commit
    _shot(theirs, "voorstellen-inkomend")
    _accessible(theirs, "introductions (incoming)")
    accept = theirs.locator("form[action$='/besluit']:has(input[name=accept][value=true])").first
    accept.get_by_role("button", name="Accepteren").click()
    theirs.wait_for_load_state()
    assert "geaccepteerd" in theirs.content()

    # Werkpad: confirm the placement; both bureaus sign it.
    ours.goto(f"{werkpad.url}/voorstellen")
    _reload_until(ours, "details:has(form[action$='/plaatsing'])")  # the decision arrived
    placement = ours.locator("details:has(form[action$='/plaatsing'])").first
    placement.locator("summary").click()
    placement.get_by_label("Startdatum").fill("2026-11-02")
    placement.get_by_role("button", name="Plaatsing bevestigen").click()
    ours.wait_for_load_state()
    assert "Door ons getekend en voorgesteld" in ours.content()  # queued, not awaited
    ours.goto(f"{werkpad.url}/voorstellen")
    _reload_until(ours, "span.badge:has-text('door beide getekend')")  # countersigned
    _shot(ours, "voorstellen-geplaatst")

    # Finance at Werkpad: the statement names Baanbrekers, and the CSV downloads.
    finance = _page(browser, werkpad, role="finance")
    finance.goto(f"{werkpad.url}/financien")
    assert "Baanbrekers Tilburg" in finance.content()
    _shot(finance, "financien")
    _accessible(finance, "finance")
    with finance.expect_download() as download:
        finance.get_by_role("link", name="CSV", exact=True).click()
    csv_text = Path(download.value.path()).read_text()
    assert csv_text.startswith("periode;regel;datum")
    assert "baanbrekers" in csv_text


def test_main_pages_are_accessible(federation: list[demo.DemoNode], browser: Any) -> None:
    werkpad = federation[0]
    consultant = _page(browser, werkpad)
    for path, name in (
        ("/clienten", "clienten"),
        ("/clienten/nieuw", "client-nieuw"),
        ("/openingen", "openingen"),
    ):
        consultant.goto(werkpad.url + path)
        _shot(consultant, name)
        _accessible(consultant, name)
    consultant.goto(f"{werkpad.url}/clienten/nieuw")
    # the browser's own checks aside, the server explains each field in Dutch
    consultant.evaluate("document.querySelectorAll('form').forEach(f => f.noValidate = true)")
    consultant.get_by_role("button", name="Opslaan").click()  # empty form: messages per field
    consultant.wait_for_load_state()
    assert consultant.locator("[aria-invalid=true]").count() > 0
    _accessible(consultant, "client form with errors")
    admin = _page(browser, werkpad, role="admin")
    admin.goto(f"{werkpad.url}/federatie")
    _shot(admin, "federatie")
    _accessible(admin, "federation")
    admin.set_viewport_size({"width": 820, "height": 1180})  # a tablet
    admin.goto(f"{werkpad.url}/zoeken?q=kok")
    _shot(admin, "zoeken-tablet")
    _accessible(admin, "search on a tablet")


def _unplugged(browser: Any) -> tuple[Any, list[str], list[str]]:
    """A page with the network unplugged: every request that is not to 127.0.0.1 is
    aborted (and listed), as are console errors such as content security violations."""
    from urllib.parse import urlsplit  # noqa: PLC0415

    page = browser.new_context().new_page()
    outside: list[str] = []
    console: list[str] = []

    def _route(route: Any) -> None:
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1" or url.startswith(("blob:", "data:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    page.route("**/*", _route)
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    return page, outside, console


def test_api_docs_render_with_the_network_unplugged(
    federation: list[demo.DemoNode], browser: Any
) -> None:
    werkpad = federation[0]
    page, outside, console = _unplugged(browser)
    page.goto(f"{werkpad.url}/docs")
    page.locator(".opblock").first.wait_for(state="visible")
    assert page.locator(".opblock").count() > 10  # the node's operations, listed
    _shot(page, "api-docs")
    assert console == []  # nothing refused by the policy, nothing failed to load
    page.goto(f"{werkpad.url}/redoc")
    page.locator("[data-section-id^='tag/']").first.wait_for(state="attached")
    assert "Topmatch node" in page.locator("h1").first.inner_text()
    _shot(page, "api-redoc")
    # ReDoc's sidebar credit shows Redocly's logo from their CDN; our policy refuses it
    # (ReDoc then leaves the image out) and that refusal is the only console error.
    assert all("cdn.redoc.ly" in message for message in console), console
    assert outside == []
