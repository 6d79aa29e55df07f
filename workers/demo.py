"""The demo of `make run`: sample forms carried through the running stack.

It plays the people around the cases: the unit's HR submits new-hire forms and an employment
change in TOPdesk (the simulator sends the "created" webhooks to the intake), answers when asked,
and the manager approves or rejects in the DFØ portal (a webhook to the intake); an employee
applies for internal leave, which the manager grants in the case the centre opens to them; an
employee resigns in the DFØ portal (its stub posts the event to the intake), and that case
settles once its final settlement waits for the payroll run of the month after the last day. It
prints every change of a case's wait state as it happens, and a summary once every case has
settled.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from datetime import date, timedelta

import requests
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from adapters.dfo.portal import PortalStub
from adapters.dfo.sap import Employee, SapStub
from adapters.topdesk.models import NewIncident, Ref
from adapters.topdesk.port import TopdeskPort
from domain.cases import CaseProgress, WaitState
from workers.demo_cases import DemoCase, demo_cases, demo_form
from workers.intake import resignation_id, topdesk_of
from workers.settings import Settings
from workflows.new_hire import NewHireWorkflow

SETTLE_SECONDS = 120.0


class Ended(BaseModel):
    """What the demo reads of any process's result."""

    outcome: str


def submit_form(topdesk: TopdeskPort, category: str, form: str) -> str:
    """A unit's HR sends a form in TOPdesk: its answers, one line each, as the request text of a
    new case of the form's category. Returns the case number."""
    incident = topdesk.create_incident(
        NewIncident(
            caller_lookup={"email": "hr@ntnu.no"},
            brief_description=category,
            request=form.replace("\n", "<br>"),
            category=Ref(name=category),
            entry_type=Ref(name="Skjema"),
        )
    )
    return incident.number


def portal_of(settings: Settings) -> PortalStub:
    """The DFØ portal stub as the stack's people use it: it tells the intake of each form."""
    return PortalStub(
        settings.portal_stub_path,
        intake_url=f"{settings.intake_url}/webhooks/dfo",
        secret=settings.webhook_secret.get_secret_value(),
        secret_header=settings.webhook_secret_header,
    )


class Demo:
    def __init__(self, settings: Settings, client: Client, console: Console) -> None:
        self.settings = settings
        self.client = client
        self.console = console
        self.topdesk = topdesk_of(settings)
        self.sap = SapStub(settings.sap_stub_path)
        self.portal = portal_of(settings)
        self.cases = demo_cases()

    async def run(self) -> bool:
        """Submit every form and play along until each case has settled; True if all as expected."""
        for case in self.cases:
            form = self._employed(case.form) if case.form else demo_form(case.changes)
            case.number = submit_form(self.topdesk, case.process.category, form)
            case.workflow_id = case.process.workflow_id(case.number)
            self.console.print(f"[bold]{case.number}[/]  sendt inn: {case.title}")
        self.cases.append(self._resign())
        deadline = time.monotonic() + SETTLE_SECONDS
        while any(case.outcome is None for case in self.cases):
            if time.monotonic() > deadline:
                self.console.print("[red]Demoen ble ikke ferdig i tide.[/]")
                return False
            for case in self.cases:
                if case.outcome is None:
                    await self._follow(case)
            await asyncio.sleep(0.3)
        self.console.print(self._summary())
        return all(case.outcome == case.expected for case in self.cases)

    def _employed(self, form: str) -> str:
        """The form, for an employee in a permanent position SAP knows from 2019."""
        employee_number = f"{random.randint(5100000, 5999999):08d}"
        self.sap.add_employee(
            Employee(ansattnummer=employee_number, startdato=date(2019, 8, 1), navn="Kari Nordmann")
        )
        return form.replace("{employee}", employee_number)

    def _resign(self) -> DemoCase:
        """An employee of five years resigns in the DFØ portal, three months ahead."""
        employee_number = f"{random.randint(5100000, 5999999):08d}"
        self.sap.add_employee(
            Employee(ansattnummer=employee_number, startdato=date(2021, 8, 1), navn="Per Olsen")
        )
        today = date.today()
        form = self.portal.submit_resignation(
            ansattnummer=employee_number,
            navn="Per Olsen",
            epost="per.olsen@ntnu.no",
            siste_arbeidsdag=today + timedelta(days=100),
            innsendt=today,
            idempotency_key=str(uuid.uuid4()),
            leder="Ola Leder",
        )
        self.console.print(f"[bold]{form.id}[/]  sendt inn i DFØ-portalen: oppsigelse")
        return DemoCase(
            "oppsigelse fra DFØ-portalen",
            {},
            expected=WaitState.AWAITING_PAYROLL.value,
            number=form.id,
            workflow_id=resignation_id(form.id),
            settles_in=WaitState.AWAITING_PAYROLL,
        )

    async def _follow(self, case: DemoCase) -> None:
        handle = self.client.get_workflow_handle(case.workflow_id, result_type=Ended)
        try:
            description = await handle.describe()
            progress = await handle.query(
                NewHireWorkflow.progress.__name__, result_type=CaseProgress
            )
        except RPCError:
            return  # the webhook has not started the workflow yet
        if description.status is not WorkflowExecutionStatus.RUNNING:
            completed = description.status is WorkflowExecutionStatus.COMPLETED
            case.outcome = (await handle.result()).outcome if completed else "failed"
            self.console.print(f"[bold]{case.number}[/]  [green]ferdig[/]: {case.outcome}")
            return
        if case.seen == (progress.state, progress.detail):
            return
        case.seen = (progress.state, progress.detail)
        self.console.print(f"[bold]{case.number}[/]  {progress.state.value}: {progress.detail}")
        if progress.state is WaitState.HANDED_OVER:  # a child workflow carries the case on
            case.workflow_id = progress.detail
        if case.settles_in is not None and progress.state is case.settles_in:
            case.outcome = case.settles_in.value
            self.console.print(f"[bold]{case.number}[/]  [green]venter som den skal[/]")
            return
        self._act(case, progress)

    def _act(self, case: DemoCase, progress: CaseProgress) -> None:
        if progress.state is WaitState.AWAITING_CALLER and case.answers:
            self._reply(case, case.answers.pop(0))
        elif progress.state is WaitState.AWAITING_APPROVAL:
            if case.manager_answer:
                self._manager_answers(case, case.manager_answer)
                case.manager_answer = None
            elif case.change_while_approving:
                self._reply(case, case.change_while_approving)
                case.change_while_approving = None
            elif case.decisions and progress.registration_id:
                self._decide(case, progress.registration_id, *case.decisions.pop(0))

    def _reply(self, case: DemoCase, text: str) -> None:
        """The caller answers in the self-service portal; the simulator sends the webhook."""
        url = f"{self.settings.topdesk_url}/_sim/incidents/{case.number}/reply"
        requests.post(url, json={"text": text}, timeout=5).raise_for_status()
        self.console.print(f"[bold]{case.number}[/]  innmelder svarer: {text.splitlines()[-1]}")

    def _manager_answers(self, case: DemoCase, text: str) -> None:
        """The manager answers in the case the centre opened to them (its external number is
        the application's case); the simulator sends that case's webhook to the intake."""
        opened = self.topdesk.find_by_external_number(case.number)
        if opened is None:
            return
        url = f"{self.settings.topdesk_url}/_sim/incidents/{opened.number}/reply"
        requests.post(url, json={"text": text}, timeout=5).raise_for_status()
        self.console.print(f"[bold]{case.number}[/]  leder svarer i {opened.number}: {text}")

    def _decide(
        self, case: DemoCase, registration_id: str, approved: bool, reason: str | None
    ) -> None:
        """The manager decides in the DFØ portal, which sends its webhook to the intake."""
        self.sap.decide(registration_id, approved, reason)
        requests.post(
            f"{self.settings.intake_url}/webhooks/dfo",
            json={
                "case_number": case.number,
                "registration_id": registration_id,
                "event": "approved" if approved else "rejected",
                "reason": reason,
                "event_id": str(uuid.uuid4()),
            },
            headers={
                self.settings.webhook_secret_header: self.settings.webhook_secret.get_secret_value()
            },
            timeout=5,
        ).raise_for_status()
        verdict = "godkjenner" if approved else f"avviser ({reason})"
        self.console.print(f"[bold]{case.number}[/]  leder {verdict}")

    def _summary(self) -> Table:
        table = Table(title="Demo: nyansettelser, en endring, en permisjon og en oppsigelse")
        for column in ("Sak", "Scenario", "Utfall", "Forventet"):
            table.add_column(column)
        for case in self.cases:
            mark = "[green]" if case.outcome == case.expected else "[red]"
            table.add_row(case.number, case.title, f"{mark}{case.outcome}[/]", case.expected)
        return table
