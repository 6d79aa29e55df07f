"""Stuck-case radar: find the cases that have waited past their limit, and make them escalate.

Cases wait for people for weeks; a case whose manager never decides, whose payroll run came and
went, or whose SAP call has failed for days makes no noise of its own (peers.md, D3: the view
users of every engine ask for). A Temporal Schedule (`stuck-case-radar`, every hour) starts this
workflow. Steps:
1. Ask visibility for the open cases past a limit (`saksflyt radar` asks the same): in a wait
   state longer than that state's limit, or with an SLA clock past its due or expiry mark.
2. Signal each case `radar_flagged`. The case checks against its own state (which may have moved
   since) and climbs the escalation ladder of seed 000 itself, one rung per limit passed, or tells
   the handler once that its SLA is due; the level is the case's own, so a case flagged every
   hour still fires each rung once.
Limits and targets are settings, passed in by the schedule, so a change applies to every open
case at the next run.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.visibility import FindStuck, VisibilityActivities
    from domain.cases import RadarFlag
    from domain.processes import SLA_DEFAULTS
    from domain.sla import DEFAULT_WAIT_LIMITS, SlaTarget
    from workflows.case_workflow import CaseWorkflow
    from workflows.search_attributes import scheduled_start


class RadarInput(BaseModel):
    wait_limits: dict[str, float] = DEFAULT_WAIT_LIMITS
    sla_targets: dict[str, SlaTarget] = SLA_DEFAULTS
    # Look as of this moment instead of the run's start (tests, and a look ahead by hand).
    as_of: datetime | None = None


class RadarResult(BaseModel):
    checked_at: datetime
    flagged: dict[str, list[str]]  # reason → workflow ids


@workflow.defn(name="StuckCaseRadar")
class StuckCaseRadar:
    @workflow.run
    async def run(self, input: RadarInput) -> RadarResult:
        now = input.as_of or scheduled_start()
        found = await workflow.execute_activity_method(
            VisibilityActivities.find_stuck_cases,
            FindStuck(now=now, wait_limits=input.wait_limits, sla_targets=input.sla_targets),
            start_to_close_timeout=timedelta(minutes=5),
            summary="finn saker over grensen",
        )
        flagged: dict[str, list[str]] = {}
        this_run = workflow.info().workflow_id  # the schedule adds the start time: one per run
        for case in found.cases:
            flag = RadarFlag(
                event_id=f"{this_run}/{case.reason}",
                reason=case.reason,
                limit_days=case.limit_days,
                state=case.state,
            )
            handle = workflow.get_external_workflow_handle(case.workflow_id)
            try:
                await handle.signal(CaseWorkflow.radar_flagged, flag)
            except ApplicationError:
                continue  # the case ended after visibility listed it: nothing is stuck
            flagged.setdefault(case.reason, []).append(case.workflow_id)
        return RadarResult(checked_at=now, flagged=flagged)
