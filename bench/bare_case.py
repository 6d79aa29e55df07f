"""The bare baseline of `bench/case_throughput.py`: a workflow with the new-hire case's shape and
none of its work.

A completed new-hire case runs six activities (read the case, acknowledge it, read it again,
register in SAP, ask SAP for the decision, complete the case), waits once for the DFØ signal with
a daily timer beside it, and ends. This does the same with activities that do nothing, so the
ratio of the two is what saksflyt's own code costs on top of Temporal. Run `visible`, it also
makes the new hire's upserts and patch markers: what a case costs Temporal to be seen (the
radar, the report, the CLI and the UI read it), apart from what saksflyt's code costs. Its own
module, importing little, so that a sandbox has little to re-import for it.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows import search_attributes

STEPS_BEFORE_WAIT = ("read", "acknowledge", "read_again", "register")
STEPS_AFTER_WAIT = ("approval_status", "complete")
TIMEOUT = timedelta(minutes=2)
# The activity (`bench/case_throughput.py` defines it) does nothing but say when "register" ran.
STEP = "bare.step"


@workflow.defn(name="BareCase")
class BareCase:
    def __init__(self) -> None:
        self.approved = False

    @workflow.run
    async def run(self, case_number: str, visible: bool = False) -> str:
        """`visible`: also what a case shows Temporal's visibility, as a completed new hire's
        history has it (`tests/histories/new_hire/complete_form.json`): its five upserts of the
        case's search attributes and two patch markers, each with the SDK's own upsert."""
        shown = _Shown(case_number) if visible else None
        for name in STEPS_BEFORE_WAIT:
            await workflow.execute_activity(STEP, name, start_to_close_timeout=TIMEOUT)
            if shown:
                shown.after(name)
        # The new hire waits the same way: the signal, or the daily look at SAP.
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: self.approved, timeout=timedelta(days=1))
        for name in STEPS_AFTER_WAIT:
            await workflow.execute_activity(STEP, name, start_to_close_timeout=TIMEOUT)
        if shown:
            shown.state("completed")
        return case_number

    @workflow.signal
    def approval_decided(self) -> None:
        self.approved = True


class _Shown:
    """The new hire's upserts and patch markers, at the steps where the new hire makes them."""

    def __init__(self, case_number: str) -> None:
        self.case_number = case_number

    def after(self, step: str) -> None:
        if step == "read":
            self.state("working")
        elif step == "acknowledge":
            workflow.patched("bench-first")
        elif step == "read_again":
            self.state("working")
            self.state("working", unit="IE")
        elif step == "register":
            workflow.patched("bench-second")
            self.state("awaiting_approval", unit="IE", due=workflow.now() + timedelta(days=5))

    def state(self, state: str, unit: str | None = None, due: datetime | None = None) -> None:
        now = workflow.now()
        updates = [
            search_attributes.PROCESS.value_set("new_hire"),
            search_attributes.CASE_NUMBER.value_set(self.case_number),
            search_attributes.WAIT_STATE.value_set(state),
            search_attributes.WAITING_SINCE.value_set(now),
            search_attributes.ESCALATION_LEVEL.value_set(0),
            search_attributes.SLA_CLOCK_START.value_set(now),
            search_attributes.SLA_ELAPSED.value_set(0.0),
        ]
        if unit:
            updates.append(search_attributes.UNIT.value_set(unit))
        if due:
            updates.append(search_attributes.DUE_DATE.value_set(due))
        workflow.upsert_search_attributes(updates)
