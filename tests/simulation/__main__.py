"""Run simulation schedules from the command line (docs/adr/0014-deterministic-simulation.md).

    PYTHONPATH=src python -m tests.simulation --schedules 5000 --seed random
    PYTHONPATH=src python -m tests.simulation --seed 17 --verbose      # replay one seed

Exit status 1 when any schedule broke an invariant; each failure prints its seed and the
one-line command that replays it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
import time
from collections.abc import Sequence

from tests.simulation import schedule


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.simulation", description=__doc__)
    parser.add_argument("--schedules", type=int, default=1, help="how many (default 1)")
    parser.add_argument(
        "--seed", default="0", help="first seed; the next schedules take the next seeds; "
        "'random' picks a random first seed (printed)"
    )  # fmt: skip
    parser.add_argument("--steps", type=int, default=30, help="random steps per schedule")
    parser.add_argument("--verbose", action="store_true", help="print actions and the network")
    parser.add_argument("--summary", action="store_true", help="print what each schedule checked")
    parser.add_argument(
        "--storm", type=float, default=1.0, help="fault rate factor (3: three times as many)"
    )
    parser.add_argument("--nodes", type=int, default=3, help="bureaus in the federation")
    parser.add_argument("--keep-going", action="store_true", help="do not stop at a failure")
    return parser.parse_args(argv)


def _show(outcome: schedule.Outcome) -> None:
    print(f"seed {outcome.seed} actions: {' '.join(outcome.actions)}")
    print(
        f"  {outcome.introductions} introductions asked, {outcome.placements} placements "
        f"recorded; network: {outcome.faults}"
    )
    print(f"  checked: {outcome.checked}")
    for (src, dst), events in sorted(outcome.trace.items()):
        print(f"  {src} -> {dst}: " + "; ".join(events))


async def _run(args: argparse.Namespace) -> int:
    first = random.SystemRandom().randrange(2**32) if args.seed == "random" else int(args.seed)
    print(f"seeds {first}..{first + args.schedules - 1}, {args.steps} steps each")
    failed, started = 0, time.monotonic()
    for seed in range(first, first + args.schedules):
        outcome = await schedule.run(seed, steps=args.steps, storm=args.storm, nodes=args.nodes)
        if args.verbose:
            _show(outcome)
        elif args.summary:
            print(f"seed {seed}: {outcome.checked} network {outcome.faults}", flush=True)
        if not outcome.ok:
            failed += 1
            print(outcome.report(), flush=True)
            if not args.keep_going:
                break
    took = time.monotonic() - started
    print(f"{seed - first + 1} schedules, {failed} failed, {took:.1f} s")
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    logging.disable(logging.CRITICAL)  # the nodes log every refused message: expected here
    return asyncio.run(_run(_parse(argv)))


if __name__ == "__main__":
    sys.exit(main())
