"""The processes saksflyt runs, each spelled once.

A process is named in many places: the `Process` search attribute and the SLA settings
(`new_hire`), the workflow type Temporal registers (`NewHire`), the workflow id, its business
key (`new-hire-I2611-0042`), the TOPdesk category its form is filed under and that case handlers
know it by (`Nyansettelse`). Renaming any of them breaks recorded histories or running cases, so
they live in one entry per process, and routing, hand-offs, the CLI, the report, the metrics and
the benchmarks read them here. Domain cannot import workflows, so the workflow is its type name.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.sla import SlaTarget


@dataclass(frozen=True)
class Process:
    """One process of seed 001. `category` is also its label: the TOPdesk category is the name
    the case handlers know a case by. `keyed_by_form_id`: the workflow id's key is the DFØ
    portal's form id (the resignation, which the portal starts and whose TOPdesk case saksflyt
    opens itself with that id as its external number), not the TOPdesk case number."""

    name: str
    workflow: str
    id_prefix: str
    category: str
    sla: SlaTarget
    keyed_by_form_id: bool = False

    def workflow_id(self, key: str) -> str:
        """The business key (DESIGN.md, "Identity and idempotency"): one workflow per case."""
        return f"{self.id_prefix}-{key}"


# SLA defaults in working days with the centre. A new hire or an extension must reach SAP well
# before the payroll run; a final settlement and a pension case legitimately wait on hold for a
# run or a date months ahead, with the clock running, so their targets cover that wait.
_SHORT = SlaTarget(due_days=3, expires_days=5)

NEW_HIRE = Process("new_hire", "NewHire", "new-hire", "Nyansettelse", _SHORT)
EXTENSION = Process("extension", "Extension", "extension", "Forlengelse", _SHORT)
FINAL_SETTLEMENT = Process(
    "final_settlement",
    "FinalSettlement",
    "final-settlement",
    "Fratredelse",
    SlaTarget(due_days=40, expires_days=60),
)
PENSION = Process(
    "pension", "Pension", "pension", "Pensjon", SlaTarget(due_days=80, expires_days=100)
)
RESIGNATION = Process(
    "resignation", "Resignation", "resignation", "Oppsigelse", _SHORT, keyed_by_form_id=True
)

# Changes to cost allocation, position share, unit, salary, work country or fixed allowances: a
# registration in SAP and, for most, the manager's approval, like an extension.
EMPLOYMENT_CHANGE = Process(
    "employment_change",
    "EmploymentChange",
    "employment-change",
    "Andre endringer arbeidsforhold",
    _SHORT,
)

# Internal leave: no registration, the manager decides the application in NTNU Hjelp; the wait
# for the decision is the same kind as for a registration's approval.
INTERNAL_LEAVE = Process(
    "internal_leave", "InternalLeave", "internal-leave", "Intern permisjon", _SHORT
)

PROCESSES: tuple[Process, ...] = (
    NEW_HIRE,
    EXTENSION,
    FINAL_SETTLEMENT,
    PENSION,
    RESIGNATION,
    INTERNAL_LEAVE,
    EMPLOYMENT_CHANGE,
)
NAMES: tuple[str, ...] = tuple(process.name for process in PROCESSES)
SLA_DEFAULTS: dict[str, SlaTarget] = {process.name: process.sla for process in PROCESSES}

_BY_NAME = {process.name: process for process in PROCESSES}
_BY_CATEGORY = {process.category: process for process in PROCESSES}


def of_category(category: str | None) -> Process | None:
    """The process a TOPdesk case of this category belongs to; None when saksflyt runs none."""
    return _BY_CATEGORY.get(category or "")


def started_by_form(category: str | None) -> Process | None:
    """The process a TOPdesk form of this category starts, keyed on the case number; None for
    the resignation (the DFØ portal starts it) and for a category no process has."""
    process = of_category(category)
    return None if process is None or process.keyed_by_form_id else process


def label(name: str) -> str:
    """How a case handler names the process `name` ("new_hire" → "Nyansettelse"); a name no
    process has is shown as it is, so an old case of a retired process still reads."""
    process = _BY_NAME.get(name)
    return process.category if process else name
