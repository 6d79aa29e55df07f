"""The people around the cases, as production has them: the unit's HR sends forms in TOPdesk
(whose webhooks reach the intake), a caller answers when asked, the manager decides in SAP and the
DFØ portal tells the intake, an employee resigns in the DFØ portal. And the senders' webhooks,
each sent again several times and out of order, as an unreliable network and sender would.

Case kinds, by index: a final settlement ("Fratredelse", every other one on death, which sends SPK
a pension message), a resignation in the DFØ portal, and otherwise a new hire, every fifth of
which lacks the bank account until the caller answers.
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, TypeVar

import requests
from temporalio.client import Client

from adapters.dfo.portal import RESIGNATION_SUBMITTED
from adapters.dfo.sap import ApprovalState, Employee, SapStub, _person_key
from domain import final_settlement, new_hire, resignation
from tests.harness import SETTLEMENT_FORM, form_for_person
from workers.demo import portal_of, submit_form
from workers.intake import topdesk_of
from workers.routing import ROUTES
from workers.settings import Settings
from workflows import search_attributes as sa

NEW_HIRE, SETTLEMENT, RESIGNATION = "new_hire", "final_settlement", "resignation"
CATEGORIES = {
    NEW_HIRE: new_hire.CATEGORY,
    SETTLEMENT: final_settlement.CATEGORY,
    RESIGNATION: resignation.CATEGORY,
}
ANSWER = "Kontonummer: 8601 11 17947"
COPIES = 2  # each webhook is sent this many more times, at random moments
RESEND_PER_ROUND = 6
WAITING = "ExecutionStatus='Running' AND WaitState IN ('awaiting_caller', 'awaiting_approval')"

T = TypeVar("T")


@dataclass
class Case:
    index: int
    kind: str
    key: str = ""  # the TOPdesk case number, or (resignation) the DFØ portal's form id
    national_id: str = ""  # a new hire's
    employee_number: str = ""  # a leaver's
    missing_account: bool = False
    answered: bool = False
    approved: bool = False

    @property
    def workflow_id(self) -> str:
        """As the intake routes the case (a resignation by its portal form id)."""
        return f"{ROUTES[CATEGORIES[self.kind]].prefix}-{self.key}"


def kind_of(index: int) -> str:
    return {3: SETTLEMENT, 7: RESIGNATION}.get(index % 12, NEW_HIRE)


@dataclass
class Resend:
    path: str  # /webhooks/topdesk or /webhooks/dfo
    body: str
    left: int


class People:
    """Plays the people; `topdesk_lock` is held while TOPdesk is down (chaos.Chaos)."""

    def __init__(
        self, settings: Settings, client: Client, tally: Counter[str], topdesk_lock: asyncio.Lock
    ) -> None:
        self.settings = settings
        self.client = client
        self.tally = tally  # the faults
        self.notes: Counter[str] = Counter()  # what else happened, for the report
        self.topdesk_lock = topdesk_lock
        self.topdesk = topdesk_of(settings)
        self.sap = SapStub(settings.sap_stub_path)
        self.portal = portal_of(settings)
        self.cases: list[Case] = []
        self.resends: list[Resend] = []
        self.seen_deliveries: set[int] = set()
        self.hold_approvals = False  # the chaos may hold the manager off for a quiet moment
        self.count = 0  # cases to create
        self.waiting: dict[str, str | None] = {}  # workflow id → wait state, as last listed

    # -- unit HR and the employees: new cases ----------------------------------------------
    async def create(self, count: int, spread: float) -> None:
        """Create `count` cases, evenly over `spread` seconds."""
        self.count = count
        for index in range(count):
            case = Case(index, kind_of(index))
            await self._topdesk(lambda case=case: self._submit(case))  # type: ignore[misc]
            self.cases.append(case)
            await asyncio.sleep(spread / count)  # the pace the forms come in at

    def _submit(self, case: Case) -> None:
        if case.kind == NEW_HIRE:
            case.missing_account = case.index % 5 == 4
            without = ("Kontonummer",) if case.missing_account else ()
            form = form_for_person(case.index, *without)
            case.national_id = _field(form, "Fødselsnummer")
            case.key = self._form(new_hire.CATEGORY, form)
            return
        case.employee_number = f"{7000000 + case.index:08d}"
        self.sap.add_employee(
            Employee(
                ansattnummer=case.employee_number, startdato=date(2020, 8, 1), navn="Per Olsen"
            )
        )
        if case.kind == SETTLEMENT:
            reason = "Dødsfall" if case.index % 24 == 3 else "Midlertidig"
            form = SETTLEMENT_FORM.replace("05001234", case.employee_number)
            case.key = self._form(final_settlement.CATEGORY, form.replace("Midlertidig", reason))
            return
        case.key = self._resign(case).id

    def _form(self, category: str, form: str) -> str:
        return submit_form(self.topdesk, category, form)

    def _resign(self, case: Case) -> Any:
        form = self.portal.submit_resignation(
            ansattnummer=case.employee_number,
            navn="Per Olsen",
            epost="per.olsen@ntnu.no",
            siste_arbeidsdag=date.today() + timedelta(days=100),
            innsendt=date.today(),
            idempotency_key=f"fault-suite-{case.index}",
            leder="Ola Leder",
        )
        body = {"event": RESIGNATION_SUBMITTED, "form_id": form.id}
        self.resends.append(Resend("/webhooks/dfo", json.dumps(body), COPIES))
        return form

    # -- the people's loop -------------------------------------------------------------------
    async def play(self, stop: asyncio.Event) -> None:
        """Answer, decide and resend until told to stop; a round that fails (a system down)
        is simply tried again in the next."""
        while not stop.is_set():
            for step in (self._answer_and_decide, self._collect_webhooks, self._resend):
                try:
                    await step()
                except Exception as error:  # the next round tries again
                    self.notes[f"people's rounds failed ({type(error).__name__})"] += 1
            await asyncio.to_thread(self.portal.redeliver)  # the portal's own outbox
            await asyncio.sleep(0.5)  # the people's pace: a round every half second

    def quiet(self) -> bool:
        """Every case created, and every new hire waiting for the manager."""
        hires = [case.workflow_id for case in self.cases if case.kind == NEW_HIRE]
        waiting = all(self.waiting.get(hire) == "awaiting_approval" for hire in hires)
        return len(self.cases) == self.count and waiting

    async def _answer_and_decide(self) -> None:
        self.waiting = {
            execution.id: execution.typed_search_attributes.get(sa.WAIT_STATE)
            async for execution in self.client.list_workflows(WAITING)
        }
        pending = await asyncio.to_thread(self._pending_registrations)
        for case in self.cases:
            state = self.waiting.get(case.workflow_id)
            if state == "awaiting_caller" and case.missing_account and not case.answered:
                await self._topdesk(lambda case=case: self._answer(case))  # type: ignore[misc]
            elif state == "awaiting_approval" and not case.approved and not self.hold_approvals:
                registration = pending.get(_person_key(case.national_id))
                if registration is not None:
                    await asyncio.to_thread(self._approve, case, registration)

    def _answer(self, case: Case) -> None:
        url = f"{self.settings.topdesk_url}/_sim/incidents/{case.key}/reply"
        requests.post(url, json={"text": ANSWER}, timeout=10).raise_for_status()
        case.answered = True

    def _approve(self, case: Case, registration: str) -> None:
        """The DFØ portal's webhook once before the decision is recorded in SAP (a hint that
        finds nothing yet), then the decision, then the webhook of it; both are sent again later,
        the early one after the real one."""
        early = self._decision(case, registration)
        self._post("/webhooks/dfo", early)
        self.tally["approvals sent before the decision was in SAP"] += 1
        self.sap.decide(registration, approved=True)
        decided = self._decision(case, registration)
        self.resends.append(Resend("/webhooks/dfo", decided, COPIES + 1))
        self.resends.append(Resend("/webhooks/dfo", early, 1))
        case.approved = True

    def _decision(self, case: Case, registration: str) -> str:
        return json.dumps(
            {
                "case_number": case.key,
                "registration_id": registration,
                "event": "approved",
                "event_id": str(uuid.uuid4()),
            }
        )

    def _pending_registrations(self) -> dict[str, str]:
        """The manager's inbox in SAP: person → registration waiting for a decision."""
        with closing(sqlite3.connect(self.settings.sap_stub_path, timeout=10)) as db:
            rows = db.execute(
                "select person, id from registrations where status = ?", (ApprovalState.PENDING,)
            ).fetchall()
        return dict(rows)

    # -- every webhook again, several times, out of order -----------------------------------
    async def _collect_webhooks(self) -> None:
        """TOPdesk's webhooks as the simulator recorded them, each to be sent again."""
        response = await asyncio.to_thread(
            requests.get, f"{self.settings.topdesk_url}/_sim/webhooks", timeout=10
        )
        for delivery in response.json():
            if delivery["id"] not in self.seen_deliveries:
                self.seen_deliveries.add(delivery["id"])
                self.resends.append(Resend("/webhooks/topdesk", delivery["body"], COPIES))

    async def _resend(self) -> None:
        """A few webhooks picked at random: the order they reach the intake is not theirs."""
        due = [resend for resend in self.resends if resend.left > 0]
        for resend in random.sample(due, min(RESEND_PER_ROUND, len(due))):
            if await asyncio.to_thread(self._post, resend.path, resend.body):
                resend.left -= 1
                self.tally["webhooks sent again"] += 1

    async def nudge(self) -> None:
        """One webhook sent again now (the chaos wants one in the intake's outbox)."""
        if self.resends:
            resend = random.choice(self.resends)
            await asyncio.to_thread(self._post, resend.path, resend.body)

    def _post(self, path: str, body: str) -> bool:
        """True when the intake answered (whatever it said); False when it could not."""
        headers = {
            "Content-Type": "application/json",
            self.settings.webhook_secret_header: self.settings.webhook_secret.get_secret_value(),
        }
        try:
            response = requests.post(
                f"{self.settings.intake_url}{path}", data=body, headers=headers, timeout=10
            )
        except requests.RequestException:
            return False
        return response.status_code < 500

    async def _topdesk(self, write: Callable[[], T]) -> T:
        """A write to TOPdesk, retried until it lands; never while TOPdesk is being killed."""
        while True:
            async with self.topdesk_lock:
                try:
                    return await asyncio.to_thread(write)
                except Exception:  # 503/429 outlasting the client's retries
                    self.notes["TOPdesk writes by people retried"] += 1
            await asyncio.sleep(1)  # the person tries again a second later


def _field(form: str, label: str) -> str:
    return next(
        line.split(":", 1)[1].strip() for line in form.splitlines() if line.startswith(label)
    )


__all__ = ["NEW_HIRE", "RESIGNATION", "SETTLEMENT", "Case", "People", "kind_of"]
