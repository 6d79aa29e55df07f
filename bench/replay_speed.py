"""Replay speed: histories/s through `saksflyt replay`'s code path, against the SDK's streaming
replayer and against one replay worker per history, on the same files in the same run.

    .venv/bin/python -m bench.replay_speed                 (the corpus, tests/histories/, 3 rounds)
    .venv/bin/python -m bench.replay_speed --rounds 5 FILE...

After one untimed warm-up each way, each round replays the files once each way, the order of
the ways turning from round to round, so that neither warm caches nor a busy neighbour favours
one way. The ratios are what to read: the box is shared, and its absolute figures move.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path

from temporalio.client import WorkflowHistory

from workers.logging import configure_logging
from workers.replay import replay_files, replayer

CORPUS = Path(__file__).parent.parent / "tests" / "histories"
Way = Callable[[Sequence[Path]], Awaitable[int]]


async def saksflyt(files: Sequence[Path]) -> int:
    """`saksflyt replay`'s path: read the files, replay, name the failures."""
    return len(await replay_files(files))


async def sdk_streaming(files: Sequence[Path]) -> int:
    """The SDK's own streaming replayer on the same files: the yardstick."""
    histories = [WorkflowHistory.from_json(path.stem, path.read_text()) for path in files]
    failed = 0
    async with replayer().workflow_replay_iterator(_each(histories)) as results:
        async for result in results:
            failed += result.replay_failure is not None
    return failed


async def one_at_a_time(files: Sequence[Path]) -> int:
    """What `saksflyt replay` did before: a replay worker per history."""
    replaying = replayer()
    failed = 0
    for path in files:
        history = WorkflowHistory.from_json(path.stem, path.read_text())
        result = await replaying.replay_workflow(history, raise_on_replay_failure=False)
        failed += result.replay_failure is not None
    return failed


WAYS: dict[str, Way] = {
    "saksflyt": saksflyt,
    "sdk_streaming": sdk_streaming,
    "one_at_a_time": one_at_a_time,
}


async def _each(histories: list[WorkflowHistory]) -> AsyncIterator[WorkflowHistory]:
    for history in histories:
        yield history


async def _measure(files: Sequence[Path], rounds: int) -> dict[str, object]:
    seconds = dict.fromkeys(WAYS, 0.0)
    failed = dict.fromkeys(WAYS, 0)
    names = list(WAYS)
    for name in names:  # untimed: the first replay in a process imports the workflows' modules
        await WAYS[name](files[:1])
    for round_ in range(rounds):
        turn = round_ % len(names)
        for name in names[turn:] + names[:turn]:
            began = time.perf_counter()
            failed[name] += await WAYS[name](files)
            seconds[name] += time.perf_counter() - began
    rate = {name: len(files) * rounds / seconds[name] for name in WAYS}
    return {
        "histories": len(files),
        "rounds": rounds,
        "per_second": rate,
        "failed": failed,
        "saksflyt_vs_sdk_streaming": rate["saksflyt"] / rate["sdk_streaming"],
        "saksflyt_vs_one_at_a_time": rate["saksflyt"] / rate["one_at_a_time"],
    }


def measure(files: Sequence[Path] | None = None, rounds: int = 3) -> dict[str, object]:
    """The figures as a dict (for `make bench`'s aggregator): histories/s each way, failures
    each way (0 expected), and saksflyt's rate as a ratio of the other two."""
    return asyncio.run(_measure(files or sorted(CORPUS.glob("*/*.json")), rounds))


def report(figures: dict[str, object]) -> str:
    rates = figures["per_second"]
    failed = figures["failed"]
    assert isinstance(rates, dict) and isinstance(failed, dict)
    lines = [f"{figures['histories']} histories, {figures['rounds']} rounds each way, same run"]
    lines += [
        f"{name:<14} {rates[name]:7.1f} histories/s  ({failed[name]} failed)" for name in WAYS
    ]
    lines.append(
        f"ratio saksflyt/sdk_streaming {figures['saksflyt_vs_sdk_streaming']:.2f}, "
        f"saksflyt/one_at_a_time {figures['saksflyt_vs_one_at_a_time']:.2f}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="default: tests/histories/*/*.json")
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    configure_logging("console", logging.WARNING)
    print(report(measure(arguments.files, arguments.rounds)))
