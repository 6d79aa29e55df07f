"""The Temporal worker: wires adapters into activities and runs every workflow of saksflyt."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from activities.payroll import PayrollActivities
from activities.topdesk import TopdeskActivities
from adapters.dfo.sap import PayrollPort, SapStub
from adapters.topdesk.client import TopdeskClient
from adapters.topdesk.port import TopdeskPort
from workers.settings import Settings
from workers.temporal import connect
from workflows.extension import ExtensionWorkflow
from workflows.final_settlement import FinalSettlementWorkflow
from workflows.new_hire import NewHireWorkflow

WORKFLOWS = [NewHireWorkflow, ExtensionWorkflow, FinalSettlementWorkflow]
MAX_CONCURRENT_ACTIVITIES = 20


def build_worker(
    client: Client,
    task_queue: str,
    topdesk: TopdeskPort,
    payroll: PayrollPort,
    **options: Any,
) -> Worker:
    """A worker for `task_queue`; tests call this too, with their own adapters and options."""
    topdesk_activities = TopdeskActivities(topdesk)
    payroll_activities = PayrollActivities(payroll)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=[
            topdesk_activities.read_case,
            topdesk_activities.write_case,
            payroll_activities.register_new_hire,
            payroll_activities.update_start_date,
            payroll_activities.approval_status,
            payroll_activities.employee,
            payroll_activities.register_extension,
            payroll_activities.register_final_settlement,
            payroll_activities.settlement_status,
        ],
        activity_executor=ThreadPoolExecutor(MAX_CONCURRENT_ACTIVITIES),
        max_concurrent_activities=MAX_CONCURRENT_ACTIVITIES,
        **options,
    )


def adapters_from(settings: Settings) -> tuple[TopdeskPort, PayrollPort]:
    topdesk = TopdeskClient(
        settings.topdesk_url,
        settings.topdesk_login,
        settings.topdesk_app_password.get_secret_value(),
    )
    return topdesk, SapStub(settings.sap_stub_path)


async def run(settings: Settings) -> None:
    client = await connect(settings)
    topdesk, payroll = adapters_from(settings)
    async with build_worker(client, settings.task_queue, topdesk, payroll):
        await asyncio.Event().wait()
