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
from domain import extension, final_settlement, new_hire, pension, resignation
from domain.extension import ExtensionInput
from domain.final_settlement import FinalSettlementInput
from domain.new_hire import NewHireInput
from domain.pension import PensionInput
from workflows.extension import ExtensionWorkflow
from workflows.final_settlement import FinalSettlementWorkflow
from workflows.new_hire import NewHireWorkflow
from workflows.pension import PensionWorkflow


@dataclass(frozen=True)
class Route:
    """Where a case's events go. `run` and `input_type` are None for a process a TOPdesk event
    never starts (the resignation: the DFØ portal starts it)."""

    prefix: str
    run: Any = None
    input_type: type[BaseModel] | None = None
    by_external_number: bool = False
    category: str = ""  # the TOPdesk category, as Temporal UI's summary names the process

    def workflow_id(self, incident: Incident) -> str | None:
        """The case's workflow id; None when the case lacks the key it is found by."""
        key = incident.external_number if self.by_external_number else incident.number
        return f"{self.prefix}-{key}" if key else None

    def case_workflow_id(self, case_number: str) -> str | None:
        """The workflow id of a case this process's form starts, from its number alone; None
        for a process found by the case's external number (which only TOPdesk knows)."""
        return None if self.by_external_number else f"{self.prefix}-{case_number}"

    def start_input(self, case_number: str) -> BaseModel | None:
        return self.input_type(case_number=case_number) if self.input_type else None


ROUTES: dict[str, Route] = {
    new_hire.CATEGORY: Route(
        "new-hire", NewHireWorkflow.run, NewHireInput, category=new_hire.CATEGORY
    ),
    extension.CATEGORY: Route(
        "extension", ExtensionWorkflow.run, ExtensionInput, category=extension.CATEGORY
    ),
    final_settlement.CATEGORY: Route(
        "final-settlement",
        FinalSettlementWorkflow.run,
        FinalSettlementInput,
        category=final_settlement.CATEGORY,
    ),
    pension.CATEGORY: Route(
        "pension", PensionWorkflow.run, PensionInput, category=pension.CATEGORY
    ),
    resignation.CATEGORY: Route(
        "resignation", by_external_number=True, category=resignation.CATEGORY
    ),
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
