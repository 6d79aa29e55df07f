"""`make faults` (`python -m tests.faults [--cases N] ...`): exit 0 only when every case reached
its end, nothing was duplicated, no identifier lies in clear in what saksflyt keeps, no hostile
request was answered 5xx and the secret is in no log line (tests/faults/exposure.py).

    make faults                                   150 cases, a worker killed every 8 s
    make faults ARGS="--cases 8 --kill-every 0"   the short version of `make test`

Phases: the stack starts; cases are created over `--spread` seconds while the chaos runs (and
`--chaos` seconds more); then every process is up again and the people play on, the backfill
(every 15 minutes in production) run every `BACKFILL_EVERY` seconds, until every case has reached
its end or `--settle` seconds have passed; then the stores are counted. Every process the suite
started is stopped at the end, also on failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from types import FrameType

from temporalio.client import Client

from tests.eventually import eventually
from tests.faults.cases import People
from tests.faults.chaos import Chaos
from tests.faults.count import REACHED, Figures, figures, settled
from tests.faults.exposure import Exposure, exposure
from tests.faults.stack import FaultStack, fault_settings
from workers.logging import configure_logging
from workers.schedules import BACKFILL
from workers.settings import Settings
from workers.temporal import connect

BACKFILL_EVERY = 30.0


async def run(stack: FaultStack, settings: Settings, args: argparse.Namespace) -> bool:
    configure_logging("console", logging.WARNING)  # the figures, not a line per TOPdesk call
    tally: Counter[str] = Counter()
    client = await connect(settings)
    people = People(settings, client, tally, asyncio.Lock())
    people.hold_approvals = args.kill_every <= 0  # until the one quiet kill
    chaos = Chaos(stack, settings, tally, people, args.kill_every, args.pause)
    stop_chaos, stop_people = asyncio.Event(), asyncio.Event()
    chaos_task = asyncio.create_task(chaos.run(stop_chaos))
    people_task = asyncio.create_task(people.play(stop_people))
    await people.create(args.cases, args.spread)
    await asyncio.sleep(args.chaos)  # the chaos runs this long: the faults are the test
    stop_chaos.set()
    await chaos_task
    await chaos.restore()
    people.hold_approvals = False
    print(f"chaos over after {time.monotonic() - STARTED:.0f} s; settling", flush=True)
    await settle(client, settings, people, args.settle)
    stop_people.set()
    await people_task
    result = await figures(client, settings, people.cases)
    found = await asyncio.to_thread(exposure, settings)
    report(result, tally, people.notes, found)
    return result.ok and found.ok


async def settle(client: Client, settings: Settings, people: People, seconds: float) -> None:
    """Until every case has reached its end, or the deadline; the backfill run now and then.
    A case still short of its end is left to the figures, which count it."""
    backfill_at = time.monotonic()

    async def done() -> bool:
        nonlocal backfill_at
        if await settled(client, people.cases, settings):
            return True
        if time.monotonic() >= backfill_at:
            await client.get_schedule_handle(BACKFILL).trigger()
            people.notes["backfill runs triggered"] += 1
            backfill_at = time.monotonic() + BACKFILL_EVERY
        return False

    with contextlib.suppress(AssertionError):
        await eventually(done, "every case to settle", timeout=seconds, interval=1)


def report(result: Figures, faults: Counter[str], notes: Counter[str], found: Exposure) -> None:
    kills = sum(count for name, count in faults.items() if name.endswith("kills"))
    lines = [
        f"cases                {result.cases}",
        f"kills                {kills}",
        f"faults injected      {sum(faults.values())}",
        *(f"  {name:<45} {count}" for name, count in sorted(faults.items())),
        "also",
        *(f"  {name:<45} {count}" for name, count in sorted(notes.items())),
        f"completed            {result.states[REACHED]}",
        f"stuck                {result.states['stuck']}",
        f"lost                 {result.states['lost']}",
        "duplicates",
        *(f"  {name:<45} {count}" for name, count in sorted(result.duplicates.items())),
        *(f"  {key}: {why}" for key, why in sorted(result.unfinished.items())),
        *found.lines(),
    ]
    print("\n".join(lines), flush=True)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.faults", description=__doc__)
    parser.add_argument("--cases", type=int, default=150)
    parser.add_argument("--spread", type=float, help="seconds to create them over (0.4 s each)")
    parser.add_argument("--chaos", type=float, default=20.0, help="seconds of faults after that")
    parser.add_argument(
        "--kill-every", type=float, default=8.0, help="seconds between worker kills (0: one)"
    )
    parser.add_argument("--pause", type=float, default=4.0, help="seconds between other faults")
    parser.add_argument("--settle", type=float, default=360.0, help="seconds to reach the end")
    parser.add_argument("--data-dir", type=Path, help="default: a new temporary folder")
    return parser


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


STARTED = time.monotonic()


def main() -> None:
    args = parser().parse_args()
    args.spread = args.cases * 0.4 if args.spread is None else args.spread
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="saksflyt-faults-"))
    print(f"fault suite: {args.cases} cases, data and logs in {data_dir}", flush=True)
    signal.signal(signal.SIGTERM, _interrupt)  # stop the stack as Ctrl-C does
    code = 1
    try:
        stack = FaultStack(fault_settings(data_dir))
        with stack:
            ok = asyncio.run(run(stack, stack.settings, args))
        code = 0 if ok else 1
    except KeyboardInterrupt:
        code = 130
    print(
        f"{'passed' if code == 0 else 'FAILED'} in {time.monotonic() - STARTED:.0f} s", flush=True
    )
    sys.stdout.flush()
    os._exit(code)  # the Temporal client's known abort at interpreter exit (DESIGN.md)


if __name__ == "__main__":
    main()
