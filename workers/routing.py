"""Which process a TOPdesk case belongs to: its category, as TOPdesk itself has it.

A webhook only names the case (DESIGN.md, "Webhooks are hints"), so the intake reads the case and
routes on its category. Each process's workflow id is its business key: `<process>-<case number>`
for the processes a TOPdesk form starts, `resignation-<portal form id>` for the resignation, whose
case saksflyt opened itself with the form id as its external number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from adapters.topdesk.models import Incident
from domain import processes
from domain.cases import CaseTimings
from domain.employment_change import EmploymentChangeInput
from domain.extension import ExtensionInput
from domain.final_settlement import FinalSettlementInput
from domain.internal_leave import MANAGER_CATEGORY, InternalLeaveInput
from domain.new_hire import NewHireInput
from domain.pension import PensionInput
from domain.processes import Process
from workflows.employment_change import EmploymentChangeWorkflow
from workflows.extension import ExtensionWorkflow
from workflows.final_settlement import FinalSettlementWorkflow
from workflows.internal_leave import InternalLeaveWorkflow
from workflows.new_hire import NewHireWorkflow
from workflows.pension import PensionWorkflow


@dataclass(frozen=True)
class Route:
    """Where a case's events go: its process (`domain/processes.py`), and how a TOPdesk event
    starts its workflow. `run` and `input_type` are None for a process a TOPdesk event never
    starts (the resignation: the DFØ portal starts it)."""

    process: Process
    run: Any = None
    input_type: type[BaseModel] | None = None

    @property
    def prefix(self) -> str:
        return self.process.id_prefix

    @property
    def by_external_number(self) -> bool:
        return self.process.keyed_by_form_id

    @property
    def category(self) -> str:
        """The TOPdesk category, as Temporal UI's summary names the process."""
        return self.process.category

    def workflow_id(self, incident: Incident) -> str | None:
        """The case's workflow id; None when the case lacks the key it is found by."""
        key = incident.external_number if self.by_external_number else incident.number
        return self.process.workflow_id(key) if key else None

    def case_workflow_id(self, case_number: str) -> str | None:
        """The workflow id of a case this process's form starts, from its number alone; None
        for a process found by the case's external number (which only TOPdesk knows)."""
        return None if self.by_external_number else self.process.workflow_id(case_number)

    def start_input(self, case_number: str, timings: CaseTimings) -> BaseModel | None:
        if self.input_type is None:
            return None
        return self.input_type(case_number=case_number, timings=timings)


@dataclass(frozen=True)
class AnswerRoute(Route):
    """A case saksflyt opened to someone whose answer its process waits for (the manager's case
    of an internal leave): its external number is the case number of the process's own case,
    whose workflow takes its events. Its workflow runs already, so none of its events starts
    one."""

    answer_category: str = ""

    @property
    def by_external_number(self) -> bool:
        return True

    @property
    def category(self) -> str:
        return self.answer_category


ROUTES: dict[str, Route] = {
    route.category: route
    for route in (
        Route(processes.NEW_HIRE, NewHireWorkflow.run, NewHireInput),
        Route(processes.EXTENSION, ExtensionWorkflow.run, ExtensionInput),
        Route(processes.FINAL_SETTLEMENT, FinalSettlementWorkflow.run, FinalSettlementInput),
        Route(processes.PENSION, PensionWorkflow.run, PensionInput),
        Route(processes.RESIGNATION),
        Route(processes.EMPLOYMENT_CHANGE, EmploymentChangeWorkflow.run, EmploymentChangeInput),
        Route(processes.INTERNAL_LEAVE, InternalLeaveWorkflow.run, InternalLeaveInput),
        AnswerRoute(processes.INTERNAL_LEAVE, answer_category=MANAGER_CATEGORY),
    )
}


def route_named(category: str | None) -> Route | None:
    """The process a created case's webhook names by its category, when it can be started on
    that word alone: a process a TOPdesk form starts, keyed on the case number."""
    route = ROUTES.get(category or "")
    if route is None or route.run is None or route.by_external_number:
        return None
    return route


def route_of(incident: Incident) -> Route | None:
    """The case's process, or None for a category no process of saksflyt handles."""
    category = incident.category.name if incident.category else None
    return ROUTES.get(category or "")
