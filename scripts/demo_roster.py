#!/usr/bin/env python3
"""Write (or check) the demo federation's roster and its DEMO ONLY keys in peers/demo/.

    .venv/bin/python scripts/demo_roster.py           # write peers/demo/
    .venv/bin/python scripts/demo_roster.py --check   # exit 1 when the files differ

The files are reproduced from fixed seeds (src/topmatch/roster/demo.py), so the same bytes
come out on every run; tests/test_roster_demo.py checks the committed ones.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from topmatch.roster import demo

TARGET = Path(__file__).resolve().parent.parent / "peers" / "demo"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare")
    parser.add_argument("--out", type=Path, default=TARGET, help="target folder")
    args = parser.parse_args(argv)
    stale = []
    for item in demo.files():
        path = args.out / item.path
        if args.check:
            if not path.exists() or path.read_bytes() != item.data:
                stale.append(item.path)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(item.data)
        print(f"wrote {path}")
    if stale:
        print(f"out of date (run scripts/demo_roster.py): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
