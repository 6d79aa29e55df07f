"""Pension paths of the replay corpus (seed 001, "Pensjon"), and the helpers the pension tests
share. Dates are counted from the test server's clock, in Norwegian time as the workflow counts
them, so that the SPK windows (two and four months before the pension date) fall the same way
whatever day the tests run."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.service import RPCError

from adapters.dfo.sap import Employee
from domain.cases import OSLO, CaseEvent, WaitState
from domain.forms import format_date
from domain.payroll_calendar import PayrollCalendar
from domain.pension import OperatorOverride, PensionInput, months_before, spk_opens
from tests.eventually import eventually
from tests.harness import Harness
from workflows.pension import PensionWorkflow
from workflows.pension_message import TAKE_UP_AT

EMPLOYEE = "05001234"
MANAGER = "Ola Leder"


def pension_form(
    from_date: date,
    percentage: int = 100,
    kind: str = "Alderspensjon",
    new_position: str | None = None,
    without: tuple[str, ...] = (),
) -> str:
    lines = {
        "Navn": "Kari Nordmann",
        "Ansattnummer": EMPLOYEE,
        "Pensjonstype": kind,
        "Uttaksgrad": f"{percentage} %",
        "Fra dato": format_date(from_date),
        "Leder": MANAGER,
    }
    if new_position is not None:
        lines["Ny stillingsprosent"] = new_position
    body = "\n".join(f"{label}: {value}" for label, value in lines.items() if label not in without)
    return "Skjema: Pensjon\n" + body


async def today(h: Harness) -> date:
    """The day it is in Norway on the test server's clock: the day the workflow counts from."""
    return (await h.env.get_current_time()).astimezone(OSLO).date()


async def first_of_month_in(h: Harness, months: int) -> date:
    """The first of the month `months` after this one."""
    return months_before((await today(h)).replace(day=1), -months)


def take_up(from_date: date) -> datetime:
    """When a case on hold is taken up again: the morning four months before the pension date."""
    return datetime.combine(spk_opens(from_date), TAKE_UP_AT, tzinfo=OSLO)


def submit_pension(h: Harness, form: str, position: Decimal = Decimal(100)) -> str:
    """The employee sends the form Pensjon; SAP knows the employee at `position` percent."""
    h.sap.add_employee(
        Employee(
            ansattnummer=EMPLOYEE,
            startdato=date(2001, 8, 1),
            navn="Kari Nordmann",
            stillingsprosent=position,
        )
    )
    return h.submit(form, "Pensjon")


async def start_pension(h: Harness, number: str) -> WorkflowHandle[PensionWorkflow, Any]:
    return await h.start_process(PensionWorkflow.run, PensionInput, "pension", number)


def settlement_of(h: Harness, number: str) -> WorkflowHandle:
    """The final settlement a full pension starts as its child, on the same case."""
    return h.client.get_workflow_handle(f"final-settlement-{number}")


async def wait_settlement(h: Harness, number: str, state: WaitState) -> WorkflowHandle:
    """Wait until the child settlement has started and is in `state`."""
    child = settlement_of(h, number)

    async def started() -> bool:
        try:
            await child.describe()
        except RPCError as error:  # not started yet
            raise AssertionError(error) from error
        return True

    await eventually(started, f"the final settlement for {number} to start")
    await h.wait_state(child, state)
    return child


def settlement_run(from_date: date) -> date:
    """Seed 001: the settlement is paid with the run of the month after the last day."""
    return PayrollCalendar().settlement_run_after(from_date - timedelta(days=1))


async def sleep_until(h: Harness, moment: datetime) -> None:
    """Let the test server's clock run to `moment` (and a minute past it)."""
    now = await h.env.get_current_time()
    await h.env_sleep(moment - now + timedelta(minutes=1))


async def withdraw(h: Harness, handle: WorkflowHandle, number: str) -> None:
    """The caller closes the case in the portal; TOPdesk's webhook wakes the workflow."""
    h.topdesk.set_status(number, "Lukket")
    await handle.signal(PensionWorkflow.caller_replied, CaseEvent(event_id=str(uuid.uuid4())))


async def send_now(h: Harness, handle: WorkflowHandle, event_id: str = "override-1") -> None:
    await handle.signal(
        PensionWorkflow.send_now,
        OperatorOverride(event_id=event_id, operator="Siri Saksbehandler", reason="Avtalt med SPK"),
    )


# -- scenarios: each drives one path to its end and returns the handle ----------------------


async def started(
    h: Harness, from_date: date, percentage: int = 50, new_position: str = "50"
) -> tuple[str, WorkflowHandle]:
    """A partial pension from `from_date`, submitted and started."""
    number = submit_pension(h, pension_form(from_date, percentage, new_position=new_position))
    return number, await start_pension(h, number)


async def approved(h: Harness, handle: WorkflowHandle) -> WorkflowHandle:
    """The manager approves the position change, and the case ends."""
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.decide(handle)
    await handle.result()
    return handle


async def full(h: Harness) -> WorkflowHandle:
    """Full pension three months ahead: SPK, letter, files, then the child's paid settlement."""
    from_date = await first_of_month_in(h, 3)
    number = submit_pension(h, pension_form(from_date))
    handle = await start_pension(h, number)
    await wait_settlement(h, number, WaitState.AWAITING_PAYROLL)
    h.sap.run_payroll(settlement_run(from_date))
    await handle.result()
    return handle


async def partial(h: Harness) -> WorkflowHandle:
    """Half pension, half position: the position change is approved by the manager."""
    _number, handle = await started(h, await first_of_month_in(h, 3))
    return await approved(h, handle)


async def early_on_hold(h: Harness) -> WorkflowHandle:
    """Six months ahead: on hold until four months before, then sent and approved."""
    from_date = await first_of_month_in(h, 6)
    _number, handle = await started(h, from_date, 60, new_position="40")
    await h.wait_state(handle, WaitState.ON_HOLD)
    await sleep_until(h, take_up(from_date))
    return await approved(h, handle)


async def date_moved(h: Harness) -> WorkflowHandle:
    """Awaiting approval, the pension date moves six months out: the SPK message and the
    position change are taken back, the case waits on hold for the new window, then goes again."""
    from_date = await first_of_month_in(h, 3)
    number = submit_pension(h, pension_form(from_date, 50, new_position="50"))
    handle = await start_pension(h, number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    moved = await first_of_month_in(h, 6)
    await h.reply(handle, number, f"Pensjonen starter senere.\nFra dato: {format_date(moved)}")
    await h.wait_state(handle, WaitState.ON_HOLD)
    await sleep_until(h, take_up(moved))
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.decide(handle)
    await handle.result()
    return handle


async def moved_while_on_hold(h: Harness) -> WorkflowHandle:
    """On hold, the pension date moves a month later: the hold's timer moves with it."""
    from_date = await first_of_month_in(h, 6)
    number = submit_pension(h, pension_form(from_date, 50, new_position="50"))
    handle = await start_pension(h, number)
    await h.wait_state(handle, WaitState.ON_HOLD)
    moved = await first_of_month_in(h, 7)
    await h.reply(handle, number, f"Fra dato: {format_date(moved)}")
    await eventually(lambda: format_date(spk_opens(moved)) in h.replies(number)[-1], "re-armed")
    await h.wait_state(handle, WaitState.ON_HOLD)
    await sleep_until(h, take_up(moved))
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.decide(handle)
    await handle.result()
    return handle


async def operator_override(h: Harness) -> WorkflowHandle:
    """On hold, a case handler sends the message at once."""
    _number, handle = await started(h, await first_of_month_in(h, 6))
    await h.wait_state(handle, WaitState.ON_HOLD)
    await send_now(h, handle)
    return await approved(h, handle)


async def late_warning(h: Harness) -> WorkflowHandle:
    """Next month's first: less than two months, sent with a warning."""
    _number, handle = await started(h, await first_of_month_in(h, 1))
    return await approved(h, handle)


async def withdrawn(h: Harness) -> WorkflowHandle:
    """Withdrawn while the manager decides: the position change, then the SPK message, undone."""
    number, handle = await started(h, await first_of_month_in(h, 3))
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await withdraw(h, handle, number)
    await handle.result()
    return handle


async def missing_field_then_reply(h: Harness) -> WorkflowHandle:
    """No Leder, and a pension date not on the first: asked, answered, then sent."""
    from_date = await first_of_month_in(h, 3)
    mid_month = format_date(from_date + timedelta(days=14))
    form = pension_form(from_date, 50, new_position="50", without=("Leder",))
    number = submit_pension(h, form.replace(format_date(from_date), mid_month))
    handle = await start_pension(h, number)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    await h.reply(handle, number, f"Leder: {MANAGER}\nFra dato: {format_date(from_date)}")
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.decide(handle)
    await handle.result()
    return handle


async def spk_outage_recovers(h: Harness) -> WorkflowHandle:
    h.spk.inject_fault("unavailable", times=3)
    from_date = await first_of_month_in(h, 3)
    number = submit_pension(h, pension_form(from_date, 50, new_position="50"))
    handle = await start_pension(h, number)
    await h.env_sleep(timedelta(minutes=5))  # the retries' back-off: 5 s, 10 s, 20 s
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.decide(handle)
    await handle.result()
    return handle


SCENARIOS = {
    "pension/full": full,
    "pension/partial": partial,
    "pension/early_on_hold": early_on_hold,
    "pension/date_moved": date_moved,
    "pension/moved_while_on_hold": moved_while_on_hold,
    "pension/operator_override": operator_override,
    "pension/late_warning": late_warning,
    "pension/withdrawn": withdrawn,
    "pension/missing_field_then_reply": missing_field_then_reply,
    "pension/spk_outage_recovers": spk_outage_recovers,
}
