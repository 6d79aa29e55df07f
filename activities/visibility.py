"""Visibility activities: Temporal's own index of the cases, as the stuck-case radar reads it.

The radar's workflow cannot list workflows itself (that is I/O), so this activity asks
visibility, with the same queries `saksflyt radar` and the metrics use (workers/case_index.py).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from temporalio import activity
from temporalio.client import Client

from domain.sla import SlaTarget
from workers.case_index import StuckCase, find_stuck


class FindStuck(BaseModel):
    now: datetime
    wait_limits: dict[str, float]
    sla_targets: dict[str, SlaTarget]


class StuckCases(BaseModel):
    cases: list[StuckCase]


class VisibilityActivities:
    def __init__(self, client: Client) -> None:
        self.client = client

    @activity.defn
    async def find_stuck_cases(self, request: FindStuck) -> StuckCases:
        found = await find_stuck(self.client, request.wait_limits, request.sla_targets, request.now)
        return StuckCases(cases=found)
