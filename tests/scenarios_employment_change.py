"""Paths of "Andre endringer arbeidsforhold" (seed 001) for the replay corpus, one or more per kind
of change and one per wait state, and the helpers the tests of the process share."""

from __future__ import annotations

from datetime import date
from typing import Any

from temporalio.client import WorkflowHandle

from adapters.dfo.sap import Employee
from domain.cases import CaseEvent, WaitState
from domain.employment_change import EmploymentChangeInput
from tests.eventually import eventually
from tests.harness import Harness
from workflows.employment_change import EmploymentChangeWorkflow

EMPLOYEE = "05001234"
CATEGORY = "Andre endringer arbeidsforhold"
HEAD = {"Navn": "Kari Nordmann", "Ansattnummer": EMPLOYEE, "Fra dato": "01.03.2027"}

COST_ALLOCATION = {"Endringstype": "Kontering", **HEAD, "Fra dato": "01.09.2026",
                   "Ny kontering": "Koststed 194000, prosjekt 81234567"}  # fmt: skip
LASTING_REDUCTION = {"Endringstype": "Stillingsandel", **HEAD, "Ny stillingsandel": "80 %",
                     "Varighet": "Varig", "Dokumentasjon": "2026/12345"}  # fmt: skip
UNIT_MOVE = {
    "Endringstype": "Organisasjonsenhet",
    **HEAD,
    "Ny organisasjonsenhet": "IE-IDI",
    "Bruk": "Konstituering",
    "Til dato": "31.12.2027",
    "Andel som flyttes": "50",
}
SALARY = {"Endringstype": "Lønn", **HEAD, "Lønnsavtale": "Lønnstrinn", "Nytt lønnstrinn": "62",
          "Hjemmel": "HTA 2.5.3", "Leder": "Ola Leder"}  # fmt: skip
WORK_COUNTRY = {"Endringstype": "Arbeidsland", **HEAD, "Arbeidsland": "Sverige",
                "Til dato": "31.08.2027"}  # fmt: skip
FIXED_ALLOWANCE = {"Endringstype": "Faste tillegg", **HEAD, "Tillegg": "Funksjonstillegg",
                   "Beløp": "30 000"}  # fmt: skip


def change_form(fields: dict[str, str], *without: str, **changed: str) -> str:
    """The form's text, one `Label: value` line per field; `changed` by label with _ for space."""
    lines = {**fields, **{label.replace("_", " "): value for label, value in changed.items()}}
    body = "\n".join(f"{label}: {value}" for label, value in lines.items() if label not in without)
    return "Skjema: Andre endringer arbeidsforhold\n" + body


def submit_change(h: Harness, form: str, **employee: Any) -> str:
    """The unit sends the form; SAP knows the employee (full position in unit IE-IKT)."""
    h.sap.add_employee(
        Employee(ansattnummer=EMPLOYEE, startdato=date(2020, 8, 1), navn="Kari Nordmann",
                 organisasjon="IE-IKT", **employee)
    )  # fmt: skip
    return h.submit(form, CATEGORY)


async def start_change(h: Harness, number: str) -> WorkflowHandle[EmploymentChangeWorkflow, Any]:
    return await h.start_process(
        EmploymentChangeWorkflow.run, EmploymentChangeInput, "employment-change", number
    )


async def approved(h: Harness, fields: dict[str, str], **employee: Any) -> WorkflowHandle:
    handle = await start_change(h, submit_change(h, change_form(fields), **employee))
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.decide(handle)
    await handle.result()
    return handle


async def registered_directly(h: Harness, fields: dict[str, str]) -> WorkflowHandle:
    handle = await start_change(h, submit_change(h, change_form(fields)))
    await handle.result()
    return handle


async def cost_allocation_back_in_time(h: Harness) -> WorkflowHandle:
    return await approved(h, COST_ALLOCATION)


async def lasting_reduction(h: Harness) -> WorkflowHandle:
    return await approved(h, LASTING_REDUCTION)


async def unit_second_employment(h: Harness) -> WorkflowHandle:
    return await approved(h, UNIT_MOVE)


async def salary_with_letter(h: Harness) -> WorkflowHandle:
    return await approved(h, SALARY)


async def work_country(h: Harness) -> WorkflowHandle:
    return await registered_directly(h, WORK_COUNTRY)


async def fixed_allowance(h: Harness) -> WorkflowHandle:
    return await registered_directly(h, FIXED_ALLOWANCE)


async def missing_then_reply(h: Harness) -> WorkflowHandle:
    number = submit_change(h, change_form(SALARY, "Nytt lønnstrinn"))
    handle = await start_change(h, number)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    await h.reply(handle, number, "Nytt lønnstrinn: 62")
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.decide(handle)
    await handle.result()
    return handle


async def third_employment_then_whole_position(h: Harness) -> WorkflowHandle:
    """SAP refuses a third employment; the unit moves the whole position instead."""
    number = submit_change(h, change_form(UNIT_MOVE), arbeidsforhold=2)
    handle = await start_change(h, number)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    await h.reply(handle, number, "Andel som flyttes: 100")
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.decide(handle)
    await handle.result()
    return handle


async def reorganisation_refused(h: Harness) -> WorkflowHandle:
    handle = await start_change(h, submit_change(h, change_form(UNIT_MOVE, Antall_ansatte="12")))
    await handle.result()
    return handle


async def no_reply(h: Harness) -> WorkflowHandle:
    handle = await start_change(h, submit_change(h, change_form(COST_ALLOCATION, "Ny kontering")))
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    await h.env_sleep(h.timings.caller_gives_up_after + h.timings.caller_reminder_after)
    await handle.result()
    return handle


async def changed_while_approving(h: Harness) -> WorkflowHandle:
    """A new share written while the manager decides: the first form is withdrawn in SAP and the
    new share goes to the manager."""
    number = submit_change(h, change_form(LASTING_REDUCTION))
    handle = await start_change(h, number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    first = (await handle.query(EmploymentChangeWorkflow.progress)).registration_id
    await h.reply(handle, number, "Ny stillingsandel: 60 %")
    await h.wait_progress(
        handle,
        lambda p: p.registration_id != first and p.state is WaitState.AWAITING_APPROVAL,
        "the new share registered and waiting for the manager",
    )
    await h.decide(handle)
    await handle.result()
    return handle


async def manager_rejects_then_approves(h: Harness) -> WorkflowHandle:
    number = submit_change(h, change_form(COST_ALLOCATION))
    handle = await start_change(h, number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.decide(handle, approved=False, reason="Feil prosjekt")
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    await h.reply(handle, number, "Ny kontering: Koststed 194000, prosjekt 81234568")
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.decide(handle)
    await handle.result()
    return handle


async def withdrawn_while_approving(h: Harness) -> WorkflowHandle:
    number = submit_change(h, change_form(SALARY))
    handle = await start_change(h, number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    h.topdesk.set_status(number, "Lukket")
    await handle.signal(EmploymentChangeWorkflow.caller_replied, CaseEvent(event_id="closed"))
    await handle.result()
    return handle


async def escalated_then_approved(h: Harness) -> WorkflowHandle:
    number = submit_change(h, change_form(COST_ALLOCATION))
    handle = await start_change(h, number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.env_sleep(h.timings.approval_reminder_after + h.timings.approval_poll_every)
    await eventually(lambda: any("eskalert" in n for n in h.notes(number)), "an escalation")
    await h.decide(handle)
    await handle.result()
    return handle


SCENARIOS = {
    f"employment_change/{scenario.__name__}": scenario
    for scenario in (
        cost_allocation_back_in_time,
        lasting_reduction,
        unit_second_employment,
        salary_with_letter,
        work_country,
        fixed_allowance,
        missing_then_reply,
        third_employment_then_whole_position,
        reorganisation_refused,
        no_reply,
        changed_while_approving,
        manager_rejects_then_approves,
        withdrawn_while_approving,
        escalated_then_approved,
    )
}
