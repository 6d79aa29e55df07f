"""How a case's routine stops before its end: the exception every process catches."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.cases import CaseOutcome


class CaseClosed(Exception):
    """The case ended before the routine could finish; `outcome` says how."""

    def __init__(self, outcome: CaseOutcome) -> None:
        super().__init__(outcome.value)
        self.outcome = outcome
