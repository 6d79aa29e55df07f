"""`make bench`: every benchmark, one table, and a JSON record of the run.

    make bench                                   (everything: about 30 min on 2 cores)
    make bench ARGS="--only case_throughput,intake_load"
    make bench ARGS="--scale-sizes 500,1000"     (a quick scale curve)
    .venv/bin/python -m bench --out bench-results

Each benchmark measures saksflyt against a baseline in the same run and reports ratios; this
prints each one's own report, then one table of every figure, and writes
`<out>/bench-<date>-<commit>.json` (`.saksflyt/bench/` unless `--out`) with the machine (cores,
memory, CPU model), the date and the git commit. A benchmark whose module cannot be imported is
skipped with a note.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.cases import machine
from workers.logging import configure_logging


@dataclass
class Bench:
    """A benchmark module and how to call its `measure` from the command line's options."""

    name: str
    module: str
    call: Callable[[Any, argparse.Namespace], dict[str, Any]]


BENCHES = [
    Bench(
        "case_throughput",
        "bench.case_throughput",
        lambda m, a: m.measure(a.cases, a.concurrency),
    ),
    Bench(
        "intake_load", "bench.intake_load", lambda m, a: m.measure(a.intake_cases, a.concurrency)
    ),
    Bench("replay_speed", "bench.replay_speed", lambda m, a: m.measure()),
    Bench(
        "scale",
        "bench.scale",
        lambda m, a: m.measure(tuple(int(s) for s in a.scale_sizes.split(",")), plot=a.plot),
    ),
]


def run(bench: Bench, options: argparse.Namespace) -> dict[str, Any]:
    """One benchmark's figures, or why it did not run."""
    try:
        module = importlib.import_module(bench.module)
    except ImportError as error:
        print(f"[{bench.name}] skipped: {bench.module} cannot be imported ({error})", flush=True)
        return {"skipped": str(error)}
    print(f"[{bench.name}] running", flush=True)
    began = time.perf_counter()
    figures = bench.call(module, options)
    figures["seconds"] = round(time.perf_counter() - began, 1)
    if hasattr(module, "report"):
        print(module.report(figures), flush=True)
    return figures


def rows(name: str, value: Any, path: str = "") -> Iterator[tuple[str, str, str]]:
    """(benchmark, figure, value) for every number and flag in a result, nested keys dotted."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from rows(name, inner, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield from rows(name, inner, f"{path}[{i}]")
    elif isinstance(value, bool | int | float):
        shown = f"{value:.3g}" if isinstance(value, float) and abs(value) < 10 else f"{value:.0f}"
        yield name, path, str(value) if isinstance(value, bool) else shown


def table(results: dict[str, dict[str, Any]]) -> str:
    lines = [f"{'benchmark':<16} {'figure':<48} value"]
    for name, result in results.items():
        lines += [f"{b:<16} {f:<48} {v}" for b, f, v in rows(name, result)]
    return "\n".join(lines)


def commit() -> str:
    try:
        found = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return found.stdout.strip()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", default="", help="comma-separated: " + ", ".join(b.name for b in BENCHES)
    )
    parser.add_argument("--cases", type=int, default=200, help="case_throughput")
    parser.add_argument(
        "--intake-cases",
        type=int,
        default=1000,
        help="intake_load, a phase (its rounds of under a second each at 200 were noise)",
    )
    parser.add_argument("--concurrency", type=int, default=20, help="case_throughput, intake_load")
    parser.add_argument("--scale-sizes", default="1000,5000,10000")
    parser.add_argument("--plot", type=Path, default=Path("docs/scale.png"))
    parser.add_argument("--out", type=Path, default=Path(".saksflyt/bench"))
    options = parser.parse_args(argv)
    wanted = {name for name in options.only.split(",") if name}
    unknown = wanted - {b.name for b in BENCHES}
    if unknown:
        parser.error(f"no such benchmark: {', '.join(sorted(unknown))}")
    configure_logging("console", logging.WARNING)  # a line per activity would drown the figures
    results = {b.name: run(b, options) for b in BENCHES if not wanted or b.name in wanted}
    print(table(results))
    host, head = machine(), commit()
    record = {"machine": host, "commit": head, "results": results}
    options.out.mkdir(parents=True, exist_ok=True)
    path = options.out / f"bench-{host['today']}-{head}.json"
    path.write_text(json.dumps(record, indent=2, default=str) + "\n")
    print(f"written: {path}")


if __name__ == "__main__":
    main()
    sys.stdout.flush()
    os._exit(0)  # the SDK's bridge threads can abort an exiting interpreter (DESIGN.md)
