"""The fault schedule: what the suite does to the stack while the cases run.

Two loops run side by side until told to stop. One kills a worker (SIGKILL) every few seconds and
starts it again; from the start a second worker polls the same task queue, so a kill takes one of
two workers away mid-case. The other goes round the remaining faults, one at a time: Temporal
killed, with the intake killed while events wait in its outbox; TOPdesk stopped; TOPdesk answering
503 and then 429; the DFØ-side stubs failing. A third loop starts again any process that died
without being killed on purpose (a worker started while Temporal was down exits at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import Counter
from collections.abc import Callable

import requests
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.service import RPCError

from adapters.dfo.archive import ArchiveStub
from adapters.dfo.portal import PortalStub
from adapters.dfo.sap import SapStub
from adapters.dfo.spk import SpkStub
from tests.eventually import eventually
from tests.faults.cases import People
from tests.faults.stack import WORKERS, FaultStack
from workers.outbox import Outbox
from workers.settings import Settings

SERVICES = ("temporal", "topdesk-simulator", "codec-server", *WORKERS, "intake")
OUTBOX_WAIT_SECONDS = 20.0
QUIET_WAIT_SECONDS = 30.0


class Chaos:
    """Faults on `stack`, each counted in `tally`, a fault every `pause` seconds and a worker
    killed every `kill_every` (0: once, at a quiet moment, see `quiet_kill`). Holds the people's
    `topdesk_lock` while TOPdesk is down: a form sent to a TOPdesk that dies mid-request may be
    created without its sender knowing, and the HR user's retry would then be a second case (not
    saksflyt's fault)."""

    def __init__(
        self,
        stack: FaultStack,
        settings: Settings,
        tally: Counter[str],
        people: People,
        kill_every: float,
        pause: float,
    ) -> None:
        self.stack = stack
        self.settings = settings
        self.tally = tally
        self.people = people
        self.kill_every = kill_every
        self.pause = pause
        self.topdesk_lock = people.topdesk_lock
        self.temporal_up = asyncio.Event()
        self.temporal_up.set()
        self.held: set[str] = set()  # down on purpose: not for the supervisor to start

    async def run(self, stop: asyncio.Event) -> None:
        await self._restart("worker-2")
        await asyncio.gather(self._kill_workers(stop), self._faults(stop), self._supervise(stop))

    async def restore(self) -> None:
        """After the chaos: every process up, TOPdesk answering, and the DFØ-side stubs' faults
        not yet suffered forgotten (counted down only by the calls they fail, a few could
        otherwise meet one case's retries, each further apart, long after the chaos)."""
        self.held.clear()
        for name in SERVICES:
            if not self.stack.alive(name):
                await self._restart(name)
        await asyncio.to_thread(self._topdesk_faults, None)
        await asyncio.to_thread(self._dfo_faults_cleared)

    def _dfo_faults_cleared(self) -> None:
        s = self.settings
        for stub in (
            SapStub(s.sap_stub_path),
            SpkStub(s.spk_stub_path),
            ArchiveStub(s.archive_stub_path),
            PortalStub(s.portal_stub_path),
        ):
            stub.store.clear_faults()

    # -- the loops -----------------------------------------------------------------------
    async def _kill_workers(self, stop: asyncio.Event) -> None:
        if self.kill_every <= 0:
            await self.quiet_kill()
            return
        for name in itertools.cycle(WORKERS):
            if await _waited(stop, self.kill_every):
                return
            await self.temporal_up.wait()  # a worker cannot start while Temporal is away
            await self._kill(name, "worker kills")
            await self._restart(name)

    async def _faults(self, stop: asyncio.Event) -> None:
        """Round after round of every fault; a round once begun is finished, so even a short
        run has each fault once."""
        steps = [self.temporal_and_intake, self.topdesk_down, self.topdesk_errors, self.dfo_fails]
        while not stop.is_set():
            for step in steps:
                await asyncio.sleep(self.pause)  # the pace of the faults, not a wait for one
                await step()

    async def _supervise(self, stop: asyncio.Event) -> None:
        while not await _waited(stop, 1.0):
            for name in SERVICES:
                down = name not in self.held and not self.stack.alive(name)
                if down and (self.temporal_up.is_set() or name not in WORKERS):
                    self.people.notes["processes that died by themselves"] += 1
                    await self._restart(name)

    # -- the faults ----------------------------------------------------------------------
    async def quiet_kill(self) -> None:
        """One worker killed while both run and every case waits for the manager (who is held
        off meanwhile), and started again. A worker killed mid-activity strands that activity
        until its start-to-close timeout (two minutes), which a short run cannot wait out."""

        async def quiet() -> bool:
            return self.people.quiet() and await self._nothing_in_flight()

        with contextlib.suppress(AssertionError):  # no quiet moment came: kill anyway
            await eventually(quiet, "a quiet moment", timeout=QUIET_WAIT_SECONDS, interval=0.5)
        await self._kill("worker", "worker kills")
        await self._restart("worker")
        self.people.hold_approvals = False

    async def temporal_and_intake(self) -> None:
        """Temporal killed; once the intake keeps an event in its outbox, the intake killed too
        and started again; then Temporal started again on its SQLite file."""
        self.temporal_up.clear()
        self.held.update({"temporal", "intake"})
        await self._kill("temporal", "Temporal kills")
        queued = await self._outbox_filled()
        await self._kill("intake", "intake kills")
        self.people.notes["events in the outbox at the intake's kill"] += queued
        await self._restart("intake")
        await self._restart("temporal")
        self.held.clear()
        self.temporal_up.set()

    async def topdesk_down(self) -> None:
        async with self.topdesk_lock:
            self.held.add("topdesk-simulator")
            await self._kill("topdesk-simulator", "TOPdesk kills")
            await asyncio.sleep(self.pause)  # TOPdesk stays down this long: the fault itself
            await self._restart("topdesk-simulator")
            self.held.discard("topdesk-simulator")

    async def topdesk_errors(self) -> None:
        """TOPdesk answers every API call with 503, then with 429 and Retry-After, a while each."""
        for rule in ({"status": 503}, {"status": 429, "retry_after": 1}):
            await asyncio.to_thread(self._topdesk_faults, {"kind": "status", "times": None, **rule})
            self.tally[f"TOPdesk {rule['status']} windows"] += 1
            await asyncio.sleep(self.pause)  # the window's length: the fault itself
            await asyncio.to_thread(self._topdesk_faults, None)

    async def dfo_fails(self) -> None:
        """The next calls to each DFØ-side system fail as unavailable; SAP's also answer late."""
        s = self.settings
        sap = SapStub(s.sap_stub_path)
        faults: list[tuple[str, Callable[[], None]]] = [
            ("SAP", lambda: sap.inject_fault("unavailable", times=8)),
            ("SAP latency", lambda: sap.inject_fault("latency", times=3, seconds=1.0)),
            ("SPK", lambda: SpkStub(s.spk_stub_path).inject_fault("unavailable", times=2)),
            ("ePhorte", lambda: ArchiveStub(s.archive_stub_path).inject_fault("unavailable", 3)),
            ("DFØ portal", lambda: PortalStub(s.portal_stub_path).inject_fault("unavailable", 2)),
        ]
        for system, inject in faults:
            await asyncio.to_thread(inject)
            self.tally[f"{system} faults"] += 1

    # -- helpers -------------------------------------------------------------------------
    async def _kill(self, name: str, counter: str) -> None:
        await asyncio.to_thread(self.stack.kill, name)
        self.tally[counter] += 1

    async def _restart(self, name: str) -> None:
        """Start `name` again; one that does not come up is left to the supervisor."""
        try:
            await asyncio.to_thread(self.stack.restart, name)
        except Exception as error:  # the supervisor tries again
            print(f"  {name} did not start again: {type(error).__name__}", flush=True)

    async def _outbox_filled(self) -> int:
        """Events in the intake's outbox, once there is one (nudged by a webhook), or 0 by the
        deadline."""
        outbox = Outbox(self.settings.outbox_path)

        async def queued() -> int:
            await self.people.nudge()
            return len(await asyncio.to_thread(outbox.events))

        try:
            return await eventually(
                queued, "an event in the outbox", timeout=OUTBOX_WAIT_SECONDS, interval=0.5
            )
        except AssertionError:
            return 0

    async def _nothing_in_flight(self) -> bool:
        """No case's workflow has an activity running on a worker: the last TOPdesk writes of
        the states entered have landed, and a worker killed now strands none. Every case, not
        only the new hires: a final settlement still reading its case after a TOPdesk outage,
        stranded by the kill, waited out its two-minute timeout past the short run's end."""
        for case in self.people.cases:
            handle = self.people.client.get_workflow_handle(case.workflow_id)
            try:
                described = await handle.describe()
            except RPCError:  # Temporal away, or the case not started yet
                return False
            pending = described.raw_description.pending_activities
            if any(activity.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
                   for activity in pending):  # fmt: skip
                return False
        return True

    def _topdesk_faults(self, rule: dict[str, object] | None) -> None:
        """Add a fault rule in front of TOPdesk's API, or clear them all (None)."""
        url = f"{self.settings.topdesk_url}/_sim/faults"
        try:
            if rule is None:
                requests.delete(url, timeout=5)
            else:
                requests.post(url, json=rule, timeout=5).raise_for_status()
        except requests.RequestException as error:
            print(f"  TOPdesk fault not set: {error}", flush=True)


async def _waited(stop: asyncio.Event, seconds: float) -> bool:
    """Wait `seconds`, or less if told to stop; True when told to stop."""
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return False
    return True
