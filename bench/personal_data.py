"""How many events of each history hold a fødselsnummer or a bank account, read with the keys.

The codec seals every payload, but a case handler with the codec server reads them all; so the
workflows should carry no identifier to begin with (issue 10). This counts, per history file and
after opening every payload with the settings' keys, the events whose payloads hold anything that
is a valid fødselsnummer, D-nummer or bank account (spaced, dotted or compact):

    python -m bench.personal_data tests/histories/new_hire/v3_*.json      # recorded before
    python -m bench.personal_data tests/histories/new_hire/[a-z]*.json    # recorded now
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
from pathlib import Path

from temporalio.client import WorkflowHistory

from workers.histories import events_holding_identifiers
from workers.temporal import data_converter


async def main(files: list[Path]) -> None:
    converter = data_converter()
    counts = []
    print(f"{'history':<60} {'events':>7} {'with identifier':>16}")
    for path in sorted(files):
        history = WorkflowHistory.from_json(path.stem, path.read_text())
        holding = await events_holding_identifiers(history, converter)
        counts.append(len(holding))
        name = f"{path.parent.name}/{path.name}"
        print(f"{name:<60} {len(history.events):>7} {len(holding):>16}")
    if counts:
        print(
            f"{len(counts)} histories: events with an identifier per case: "
            f"min {min(counts)}, median {statistics.median(counts)}, max {max(counts)}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    asyncio.run(main(parser.parse_args().files))
