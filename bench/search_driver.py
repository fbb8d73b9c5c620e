"""Time ``topmatch.matching.service.search`` of whichever Topmatch is on ``PYTHONPATH``.

Run by :mod:`bench.search_compare` as a script, once with the code under test and once
with a baseline commit's ``src/`` first on ``PYTHONPATH``, so that both versions answer
the same queries over the same database in one run::

    PYTHONPATH=<root>/src python bench/search_driver.py DATABASE QUERIES.json OUT.json ROOT

It imports nothing from ``bench`` (the baseline may not have the same one), and refuses
to run when ``topmatch`` was not imported from ``ROOT``: a timing of the wrong code is
worse than none.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any


def main(argv: list[str]) -> int:
    database, queries_file, out, root = (Path(a) for a in argv)
    from sqlmodel import Session  # noqa: PLC0415

    import topmatch  # noqa: PLC0415 - imported after PYTHONPATH decides which one
    from topmatch import db  # noqa: PLC0415
    from topmatch.matching import service  # noqa: PLC0415

    imported = Path(topmatch.__file__).resolve()
    if not imported.is_relative_to(root.resolve()):
        print(f"topmatch came from {imported}, not from {root}", file=sys.stderr)
        return 2
    spec: dict[str, Any] = json.loads(queries_file.read_text())
    names: dict[str, str] = spec["names"]
    engine = db.make_engine(f"sqlite:///{database}")

    def once(fields: dict[str, Any]) -> tuple[float, int]:
        request = service.SearchRequest(origins=frozenset(names), **fields)
        started = time.perf_counter()
        with Session(engine) as session:
            result = service.search(session=session, request=request, bureau_names=names)
        return time.perf_counter() - started, len(result.hits)

    try:
        for fields in spec["warm"]:
            once(fields)
        timed = [once(fields) for fields in spec["timed"]]
    finally:
        engine.dispose()
    out.write_text(
        json.dumps({"seconds": [s for s, _ in timed], "hits": [h for _, h in timed]}) + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
