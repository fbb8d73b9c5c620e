"""docs/benchmarks.md's generated sections say what the committed JSON results say."""

from __future__ import annotations

import json
from pathlib import Path

from bench import report


def test_the_page_matches_the_committed_results() -> None:
    assert report.main(["--check"]) == 0, "run: .venv/bin/python -m bench.report"


def test_a_changed_result_changes_the_page(tmp_path: Path) -> None:
    for path in report.RESULTS.glob("*.json"):
        (tmp_path / path.name).write_text(path.read_text())
    data = json.loads((tmp_path / "matching_eval.json").read_text())
    data["openings_for_client"]["ours"]["ndcg_at_10"] = 0.1234
    (tmp_path / "matching_eval.json").write_text(json.dumps(data))
    page = report.DOC.read_text()
    fresh = report.render(page, tmp_path)
    assert fresh != page
    assert "**0.123**" in fresh
    assert report.render(fresh, tmp_path) == fresh  # rendering twice changes nothing


def test_every_result_file_is_listed_with_its_commit() -> None:
    listed = report.provenance()
    for path in report.RESULTS.glob("*.json"):
        commit = json.loads(path.read_text())["code"]["commit"][:7]
        assert f"`{path.name}`" in listed
        assert f"`{commit}`" in listed
