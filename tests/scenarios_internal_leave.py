"""Internal-leave paths of the replay corpus (seed 001, "Intern permisjon"), and the helpers the
internal-leave tests share: the employee who applies in NTNU Hjelp, and the manager who answers
in the case the centre opens to them."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from temporalio.client import WorkflowHandle

from adapters.dfo.sap import Employee
from domain.cases import CaseEvent, WaitState
from domain.internal_leave import CATEGORY, InternalLeaveInput
from tests.eventually import eventually
from tests.harness import Harness
from workflows.internal_leave import InternalLeaveWorkflow

EMPLOYEE = "05001234"
APPLICATION = """Skjema: Intern permisjon
Navn: Kari Nordmann
Ansattnummer: 05001234
Permisjon fra: 01.03.2027
Permisjon til: 29.02.2028
Ny stilling: Prosjektleder, Institutt for datateknologi og informatikk
Leder: Ola Leder
Leders e-post: ola.leder@ntnu.no
Enhet: Institutt for fysikk"""


def application_without(*labels: str, extra: str = "") -> str:
    lines = [line for line in APPLICATION.splitlines() if line.split(":")[0] not in labels]
    return "\n".join(lines) + (f"\n{extra}" if extra else "")


def submit_leave(h: Harness, form: str = APPLICATION, **employee: Any) -> str:
    """The employee applies in NTNU Hjelp; SAP knows them (permanent unless told)."""
    h.sap.add_employee(
        Employee(
            ansattnummer=EMPLOYEE, startdato=date(2019, 8, 1), navn="Kari Nordmann", **employee
        )
    )
    return h.submit(form, CATEGORY)


async def start_leave(h: Harness, number: str) -> WorkflowHandle[InternalLeaveWorkflow, Any]:
    return await h.start_process(
        InternalLeaveWorkflow.run, InternalLeaveInput, "internal-leave", number
    )


async def with_manager(h: Harness, handle: WorkflowHandle) -> str:
    """Wait until the application waits for the manager; the manager's case number."""
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    number = (await handle.query(InternalLeaveWorkflow.progress)).case_number
    found = h.topdesk.find_by_external_number(number)
    assert found is not None, "no case was opened to the manager"
    return found.number


async def manager_answers(h: Harness, handle: WorkflowHandle, manager_case: str, text: str) -> None:
    """The manager answers in their case; TOPdesk's webhook for it, routed by the case's
    external number, reaches the application's workflow as this signal."""
    h.simulator.caller_reply(manager_case, text)
    await handle.signal(InternalLeaveWorkflow.caller_replied, CaseEvent(event_id=str(uuid.uuid4())))


# -- scenarios: each drives one path to its end and returns the handle ----------------------


async def granted(h: Harness) -> WorkflowHandle:
    handle = await start_leave(h, submit_leave(h))
    await manager_answers(h, handle, await with_manager(h, handle), "Innvilget")
    await handle.result()
    return handle


async def refused(h: Harness) -> WorkflowHandle:
    handle = await start_leave(h, submit_leave(h))
    manager_case = await with_manager(h, handle)
    await manager_answers(h, handle, manager_case, "Avslått: Vi har ikke vikar for perioden.")
    await handle.result()
    return handle


async def incomplete_then_granted(h: Harness) -> WorkflowHandle:
    number = submit_leave(h, application_without("Leders e-post", "Permisjon til"))
    handle = await start_leave(h, number)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    await h.reply(handle, number, "Permisjon til: 31.12.2027\nLeders e-post: ola.leder@ntnu.no")
    await manager_answers(h, handle, await with_manager(h, handle), "Innvilget")
    await handle.result()
    return handle


async def unclear_then_refused(h: Harness) -> WorkflowHandle:
    handle = await start_leave(h, submit_leave(h))
    manager_case = await with_manager(h, handle)
    await manager_answers(h, handle, manager_case, "Hva betyr dette for budsjettet?")
    await eventually(lambda: len(h.replies(manager_case)) >= 1, "the manager asked again")
    await manager_answers(h, handle, manager_case, "Avslått: Prosjektet kan ikke avgi deg nå.")
    await handle.result()
    return handle


async def manager_silent_then_found_by_polling(h: Harness) -> WorkflowHandle:
    """The manager does not answer for eight days (reminded, the case escalated); then the
    answer's webhook is lost and the daily look in the manager's case finds it."""
    handle = await start_leave(h, submit_leave(h))
    manager_case = await with_manager(h, handle)
    await h.env_sleep(timedelta(days=8))
    await eventually(lambda: h.replies(manager_case), "the manager reminded")
    h.simulator.caller_reply(manager_case, "Innvilget")
    await handle.result()
    return handle


async def withdrawn(h: Harness) -> WorkflowHandle:
    number = submit_leave(h)
    handle = await start_leave(h, number)
    await with_manager(h, handle)
    h.topdesk.set_status(number, "Lukket")
    await handle.signal(InternalLeaveWorkflow.caller_replied, CaseEvent(event_id="closed"))
    await handle.result()
    return handle


async def toa_refused(h: Harness) -> WorkflowHandle:
    handle = await start_leave(h, submit_leave(h, toa=True))
    await handle.result()
    return handle


SCENARIOS = {
    "internal_leave/granted": granted,
    "internal_leave/refused": refused,
    "internal_leave/incomplete_then_granted": incomplete_then_granted,
    "internal_leave/unclear_then_refused": unclear_then_refused,
    "internal_leave/manager_silent_then_found_by_polling": manager_silent_then_found_by_polling,
    "internal_leave/withdrawn": withdrawn,
    "internal_leave/toa_refused": toa_refused,
}
