"""How long a consultant waits for the web app on the demo federation.

Starts the three-node demo federation (``topmatch demo``'s nodes, real ``topmatch serve``
processes on 127.0.0.1), signs in to Werkpad's web app, and times, over keep-alive
connections:

- the search page (``GET /zoeken?q=...``): retrieval, ranking and rendering the HTML;
- the JSON API's search with the same query (``GET /api/v1/search``): the baseline, the
  same work without the page;
- a client's page with matches at every bureau (``GET /clienten/{id}``), and the API's
  ``GET /api/v1/clients/{id}/matches`` as its baseline.

It reports p50/p95 per kind and the page/API ratio (what rendering costs). Results:
``bench/results/web.json``.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

from bench import common
from topmatch.cli import demo

QUERIES = ("medewerker", "magazijn", "kok", "chauffeur", "schoonmaak", "zorg", "verkoop")


def _timed(call: Callable[[], httpx.Response], rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = call()
        samples.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return samples


def _summary(samples: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(common.percentile(samples, 95), 2),
        "n": len(samples),
    }


def measure(rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        nodes = demo.prepare(Path(folder) / "federation", 0)
        try:
            for node in nodes:
                node.start()
            walk = demo.Walk(nodes, Path(folder))
            walk.sync()
            werkpad = nodes[0]
            client_id = walk._client_with_match(werkpad, nodes[1])[0]["id"]
            return _measure(werkpad, client_id, rounds)
        finally:
            for node in nodes:
                node.stop()


def sign_in(page: httpx.Client, token: str) -> None:
    """Sign in through the web form as a browser does: fetch the form (its pre-session
    cookie and CSRF token), post it with the token; RuntimeError when that fails."""
    form = page.get("/inloggen")
    found = re.search(r'name="csrf" value="([^"]+)"', form.text)
    if found is None:
        raise RuntimeError(f"the sign-in form has no CSRF token ({form.status_code})")
    answer = page.post("/inloggen", data={"token": token, "csrf": found[1]})
    if answer.status_code != httpx.codes.SEE_OTHER:  # the way in redirects; a refusal does not
        raise RuntimeError(f"sign-in refused: {answer.status_code}")


def _measure(node: demo.DemoNode, client_id: str, rounds: int) -> dict[str, Any]:
    token = node.tokens["consultant"]
    with (
        httpx.Client(base_url=node.url, timeout=30) as page,
        httpx.Client(
            base_url=node.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as api,
    ):
        sign_in(page, token)
        counter = iter(range(10**9))

        def query() -> str:
            return QUERIES[next(counter) % len(QUERIES)]

        for _ in range(5):  # warm up both paths
            page.get("/zoeken", params={"q": "kok"})
            api.get("/api/v1/search", params={"q": "kok"})
        results = {
            "search_page": _timed(lambda: page.get("/zoeken", params={"q": query()}), rounds),
            "search_api": _timed(lambda: api.get("/api/v1/search", params={"q": query()}), rounds),
            "client_page": _timed(lambda: page.get(f"/clienten/{client_id}"), rounds),
            "client_matches_api": _timed(
                lambda: api.get(f"/api/v1/clients/{client_id}/matches"), rounds
            ),
        }
    summary: dict[str, Any] = {kind: _summary(samples) for kind, samples in results.items()}
    summary["ratio_search_page_to_api_p50"] = round(
        summary["search_page"]["p50_ms"] / summary["search_api"]["p50_ms"], 2
    )
    summary["ratio_client_page_to_api_p50"] = round(
        summary["client_page"]["p50_ms"] / summary["client_matches_api"]["p50_ms"], 2
    )
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.web_bench", description=__doc__)
    parser.add_argument("--rounds", type=int, default=200)
    common.add_results_option(parser)
    options = parser.parse_args(argv)
    figures = measure(options.rounds)
    payload = {
        "title": "web app pages on the demo federation, against the JSON API's same answers",
        "command": common.command("bench.web_bench", {"rounds": options.rounds}),
        "rounds": options.rounds,
        **figures,
    }
    path = common.write_results("web", payload, options.results_dir)
    for kind in ("search_page", "search_api", "client_page", "client_matches_api"):
        f = figures[kind]
        print(f"{kind:20} p50 {f['p50_ms']:7.2f} ms   p95 {f['p95_ms']:7.2f} ms")
    print(f"search page / API (p50): {figures['ratio_search_page_to_api_p50']}")
    print(f"client page / API (p50): {figures['ratio_client_page_to_api_p50']}")
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
