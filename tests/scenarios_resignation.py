"""Resignation paths for the replay corpus, and the helpers its tests share: the employee submits
the form in the DFØ portal, the workflow opens the TOPdesk case, and the final settlement runs as
its child on that case."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.service import RPCError

from adapters.dfo.portal import PortalStub
from adapters.dfo.sap import Employee
from domain.calendar_day import norwegian_day
from domain.cases import CaseEvent, WaitState
from domain.payroll_calendar import settlement_pay_day
from domain.resignation import ResignationInput
from tests.eventually import eventually
from tests.harness import Harness
from workflows.final_settlement import FinalSettlementWorkflow
from workflows.resignation import ResignationWorkflow

EMPLOYEE = "05001234"


def months_later(day: date, months: int) -> date:
    """Date to date `months` on, or that month's last day when it has no such date."""
    years, month = divmod(day.month - 1 + months, 12)
    year = day.year + years
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


@dataclass(frozen=True)
class Notice:
    """The dates of a resignation given on the test server's day, whatever day the tests run
    (the server's clock starts at the real date, and the payroll runs come from it)."""

    submitted: date  # the Norwegian day of the test server's clock
    last_day: date  # employed since 2020: three months' notice, date to date
    pay_day: date  # the run of the month after the last day, months after its cut-off

    @classmethod
    async def of(cls, h: Harness) -> Notice:
        submitted = norwegian_day(await h.env.get_current_time())
        last_day = months_later(submitted, 3)
        return cls(submitted, last_day, settlement_pay_day(last_day))


def portal(h: Harness) -> PortalStub:
    assert h.portal is not None, "the harness has no DFØ portal"
    return h.portal


def employee(h: Harness, number: str = EMPLOYEE, **changes: Any) -> Employee:
    """An employee SAP knows, in a permanent position since 2020."""
    known = Employee(
        ansattnummer=number,
        startdato=date(2020, 1, 1),
        navn="Kari Nordmann",
        organisasjon="Institutt for datateknologi og informatikk",
        enhet_epost="hr-idi@ntnu.no",
    ).model_copy(update=changes)
    h.sap.add_employee(known)
    return known


async def submit(h: Harness, key: str = "submit-1", **changes: Any) -> str:
    """The employee resigns in the portal today, to the last day of the notice period (`Notice`);
    returns the form id."""
    return submit_with(h, await Notice.of(h), key, **changes)


def submit_with(h: Harness, notice: Notice, key: str = "submit-1", **changes: Any) -> str:
    """`submit` with the dates of `notice`, without the event loop (the portal posts
    synchronously)."""
    fields: dict[str, Any] = {
        "ansattnummer": EMPLOYEE,
        "navn": "Kari Nordmann",
        "epost": "kari.nordmann@ntnu.no",
        "siste_arbeidsdag": notice.last_day,
        "innsendt": notice.submitted,
        "tekst": "Jeg sier opp stillingen min fordi jeg flytter.",
        "leder": "Ola Leder",
        **changes,
    }
    return portal(h).submit_resignation(idempotency_key=key, **fields).id


async def start(h: Harness, form_id: str) -> WorkflowHandle:
    """Start the resignation as the intake does: id `resignation-<form id>`."""
    return await h.start_workflow(
        ResignationWorkflow.run,
        ResignationInput(form_id=form_id, timings=h.timings),
        f"resignation-{form_id}",
    )


async def case_of(h: Harness, handle: WorkflowHandle, timeout: float = 15) -> str:
    """The TOPdesk case the workflow opened for the form."""

    async def number() -> str | None:
        return (await handle.query(ResignationWorkflow.progress)).case_number

    return await eventually(number, "a TOPdesk case opened for the form", timeout=timeout)


async def settlement_of(h: Harness, number: str, timeout: float = 15) -> WorkflowHandle:
    """The final settlement running as the child on the case, once it has started."""
    handle = h.client.get_workflow_handle_for(
        FinalSettlementWorkflow.run, f"final-settlement-{number}"
    )

    async def started() -> WorkflowHandle:
        try:
            await handle.query(FinalSettlementWorkflow.progress)
        except RPCError as error:  # not started yet
            raise AssertionError(error) from error
        return handle

    return await eventually(started, "the final settlement to start", timeout=timeout)


async def on_hold(h: Harness, handle: WorkflowHandle) -> tuple[str, WorkflowHandle]:
    """Run the case until its settlement waits for the payroll run: the case and the child."""
    number = await case_of(h, handle)
    child = await settlement_of(h, number)
    await h.wait_state(child, WaitState.AWAITING_PAYROLL)
    return number, child


async def filing(handle: WorkflowHandle, timeout: float = 15) -> None:
    """Wait until the workflow is filing the resignation in the personnel file."""

    async def detail() -> str:
        detail = (await handle.query(ResignationWorkflow.progress)).detail
        assert detail.startswith("arkiverer"), f"the case shows {detail!r}"
        return detail

    await eventually(detail, "the resignation to be filed", timeout=timeout)


async def close_in_topdesk(h: Harness, handle: WorkflowHandle, number: str) -> None:
    """The caller closes the case in NTNU Hjelp; TOPdesk's webhook becomes the signal."""
    h.topdesk.set_status(number, "Lukket")
    await handle.signal(ResignationWorkflow.caller_replied, CaseEvent(event_id=f"closed-{number}"))


# -- scenarios: each drives one path to its end and returns the handle -------------------------


async def paid(h: Harness) -> WorkflowHandle:
    employee(h)
    notice = await Notice.of(h)
    handle = await start(h, await submit(h))
    await on_hold(h, handle)
    h.sap.run_payroll(notice.pay_day)
    await handle.result()
    return handle


async def toa_refused(h: Harness) -> WorkflowHandle:
    employee(h, toa=True)
    handle = await start(h, await submit(h))
    await handle.result()
    return handle


async def continues_elsewhere(h: Harness) -> WorkflowHandle:
    employee(h, annen_stilling=True)
    handle = await start(h, await submit(h))
    await handle.result()
    return handle


async def unknown_employee_answered(h: Harness) -> WorkflowHandle:
    employee(h)
    notice = await Notice.of(h)
    handle = await start(h, await submit(h, ansattnummer="05009999"))
    number = await case_of(h, handle)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    await h.reply(handle, number, f"Riktig nummer:\nAnsattnummer: {EMPLOYEE}")
    await on_hold(h, handle)
    h.sap.run_payroll(notice.pay_day)
    await handle.result()
    return handle


async def withdrawn_before_settlement(h: Harness) -> WorkflowHandle:
    """The archive is down while the caller closes the case: the resignation is filed when it
    comes back, and the settlement, which reads the case first, finds it closed."""
    employee(h)
    h.archive.inject_fault("unavailable", times=3)
    handle = await start(h, await submit(h))
    number = await case_of(h, handle)
    await filing(handle)  # past the workflow's last read of the case
    h.topdesk.set_status(number, "Lukket")
    await h.env_sleep(timedelta(minutes=5))  # the archive retries: 5 s, 10 s, 20 s
    await handle.result()
    return handle


SCENARIOS = {
    "resignation/paid": paid,
    "resignation/toa_refused": toa_refused,
    "resignation/continues_elsewhere": continues_elsewhere,
    "resignation/unknown_employee_answered": unknown_employee_answered,
    "resignation/withdrawn_before_settlement": withdrawn_before_settlement,
}
