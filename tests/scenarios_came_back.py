"""Paths of a case that comes back after its routine finished (workflows/came_back.py) for the
replay corpus, and the helpers its tests share: a new hire carried to its end, and the
came-back workflow started for a caller's event the way the intake starts it."""

from __future__ import annotations

import uuid

from temporalio.client import WorkflowHandle

from domain.came_back import CameBackInput, came_back_id
from domain.cases import WaitState
from domain.new_hire import NewHireResult
from domain.processes import NEW_HIRE
from tests.harness import Harness
from workflows.came_back import CameBackWorkflow

NEW_START = "15.03.2027"


async def registered_new_hire(h: Harness) -> tuple[str, NewHireResult]:
    """A new hire registered, approved and completed: the case is *Fullført*."""
    number = h.submit()
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.decide(handle)
    return number, await handle.result()


async def start_came_back(
    h: Harness, number: str, finished: NewHireResult, event: str = "reopened"
) -> WorkflowHandle:
    """The caller's event on the finished case, as the intake hands it on."""
    came = CameBackInput(
        case_number=number,
        process=NEW_HIRE.name,
        category=NEW_HIRE.category,
        event=event,
        outcome=finished.outcome.value,
        registration_id=finished.registration_id,
        timings=h.timings,
    )
    key = f"{number}/{event}/{uuid.uuid4()}"
    return await h.start_workflow(CameBackWorkflow.run, came, came_back_id(number, key))


# -- scenarios: each drives one path to its end and returns the handle ----------------------


async def start_date_after_done(h: Harness) -> WorkflowHandle:
    """Seed 001: the start date changes after the signed contract, as an update of the case."""
    number, finished = await registered_new_hire(h)
    h.simulator.caller_reply(number, f"Startdatoen er endret.\nStartdato: {NEW_START}")
    handle = await start_came_back(h, number, finished)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.decide(handle)
    await handle.result()
    return handle


async def nothing_to_carry(h: Harness) -> WorkflowHandle:
    """A reply that changes no start date: the case handlers get it, with a note."""
    number, finished = await registered_new_hire(h)
    h.simulator.caller_reply(number, "Takk for hjelpen!")
    handle = await start_came_back(h, number, finished, event="caller_replied")
    await handle.result()
    return handle


SCENARIOS = {
    "came_back/start_date_after_done": start_date_after_done,
    "came_back/nothing_to_carry": nothing_to_carry,
}
