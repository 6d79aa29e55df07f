"""The bare baseline of `bench/case_throughput.py`: a workflow with the new-hire case's shape and
none of its work.

A completed new-hire case runs six activities (read the case, acknowledge it, read it again,
register in SAP, ask SAP for the decision, complete the case), waits once for the DFØ signal with
a daily timer beside it, and ends. This does the same with activities that do nothing, so the
ratio of the two is what saksflyt's own code costs on top of Temporal. Its own module, with only
temporalio imported, so that the sandbox re-imports nothing else for it.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from temporalio import workflow

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
    async def run(self, case_number: str) -> str:
        for name in STEPS_BEFORE_WAIT:
            await workflow.execute_activity(STEP, name, start_to_close_timeout=TIMEOUT)
        # The new hire waits the same way: the signal, or the daily look at SAP.
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: self.approved, timeout=timedelta(days=1))
        for name in STEPS_AFTER_WAIT:
            await workflow.execute_activity(STEP, name, start_to_close_timeout=TIMEOUT)
        return case_number

    @workflow.signal
    def approval_decided(self) -> None:
        self.approved = True
