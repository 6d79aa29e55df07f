"""Record the replay corpus: run every scenario of `tests/harness.py` on a fresh time-skipping
server, with the real worker, simulator and SAP stub, and write each history as JSON.

    make record-histories                        (python -m tests.histories.record)
    python -m tests.histories.record extension/registered     (one scenario)

Run it when a workflow gains a path, and keep the old files: they stand for cases that are running
in production under the earlier code, which the current code must still replay.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from adapters.dfo.archive import ArchiveStub
from adapters.dfo.portal import PortalStub
from adapters.dfo.sap import SapStub
from adapters.dfo.spk import SpkStub
from adapters.topdesk.client import TopdeskClient
from adapters.topdesk.simulator import SimulatorConfig, TopdeskSimulator
from tests.harness import Harness, start_test_server
from tests.histories import corpus
from tests.scenarios import SCENARIOS
from workers.worker import WORKFLOWS, Systems, build_worker

HERE = Path(__file__).parent


async def record(name: str) -> Path:
    env = await start_test_server()
    try:
        with (
            tempfile.TemporaryDirectory() as scratch,
            TopdeskSimulator(SimulatorConfig(db_path=Path(scratch) / "topdesk.db")) as simulator,
        ):
            config = simulator.config
            topdesk = TopdeskClient(simulator.url, config.login, config.app_password)
            sap = SapStub(Path(scratch) / "sap.db")
            spk = SpkStub(Path(scratch) / "spk.db")
            archive = ArchiveStub(Path(scratch) / "archive.db")
            portal = PortalStub(Path(scratch) / "portal.db")
            task_queue = f"record-{uuid.uuid4()}"
            systems = Systems(topdesk, sap, spk, archive, portal)
            async with build_worker(env.client, task_queue, systems):
                harness = Harness(
                    env.client,
                    task_queue,
                    topdesk,
                    simulator,
                    sap,
                    env,
                    spk,
                    archive,
                    portal=portal,
                )
                handle = await SCENARIOS[name](harness)
                history = await handle.fetch_history()
    finally:
        await env.shutdown()
    return keep(HERE / f"{name}.json", history.to_json())


def keep(path: Path, text: str) -> Path:
    """Write the history with its ledger entry. An earlier recording that took another path
    stays, as `vN_<name>.json`: it stands for cases running under the earlier code."""
    history, entries = json.loads(text), corpus.ledger()
    if path.exists():
        earlier = json.loads(path.read_text())
        if corpus.commands(earlier) != corpus.commands(history):
            kept = _free_name(path)
            path.rename(kept)
            entries[_key(kept)] = entries.pop(_key(path), None) or corpus.entry(earlier, None)
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    entries[_key(path)] = corpus.entry(history, corpus.fingerprint(_workflow_class(history)))
    corpus.write_ledger(entries)
    return path


def _free_name(path: Path) -> Path:
    versions = [int(p.name[1:].split("_")[0]) for p in path.parent.glob(f"v*_{path.name}")]
    return path.with_name(f"v{max(versions, default=0) + 1}_{path.name}")


def _key(path: Path) -> str:
    return str(path.relative_to(HERE))


def _workflow_class(history: dict[str, Any]) -> type:
    by_name = {getattr(cls, "__temporal_workflow_definition").name: cls for cls in WORKFLOWS}
    return by_name[corpus.workflow_type(history)]


def ledger_every_file() -> None:
    """Files recorded before the ledger existed get an entry without a code fingerprint."""
    entries = corpus.ledger()
    for path in sorted(HERE.glob("*/*.json")):
        if _key(path) not in entries:
            entries[_key(path)] = corpus.entry(json.loads(path.read_text()), None)
    corpus.write_ledger(entries)


async def main(names: list[str]) -> None:
    for name in names or list(SCENARIOS):
        print(f"recorded {await record(name)}")
    ledger_every_file()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
