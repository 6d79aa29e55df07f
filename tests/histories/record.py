"""Record the replay corpus: run every scenario of `tests/harness.py` on a fresh time-skipping
server, with the real worker, simulator and SAP stub, and write each history as JSON.

    make record-histories                        (python -m tests.histories.record)
    python -m tests.histories.record extension/registered     (one scenario)

Run it when a workflow gains a path, and keep the old files: they stand for cases that are running
in production under the earlier code, which the current code must still replay.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import uuid
from pathlib import Path

from adapters.dfo.archive import ArchiveStub
from adapters.dfo.portal import PortalStub
from adapters.dfo.sap import SapStub
from adapters.dfo.spk import SpkStub
from adapters.topdesk.client import TopdeskClient
from adapters.topdesk.simulator import SimulatorConfig, TopdeskSimulator
from tests.harness import Harness, start_test_server
from tests.scenarios import SCENARIOS
from workers.worker import Systems, build_worker

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
    path = HERE / f"{name}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(history.to_json())
    return path


async def main(names: list[str]) -> None:
    for name in names or list(SCENARIOS):
        print(f"recorded {await record(name)}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
