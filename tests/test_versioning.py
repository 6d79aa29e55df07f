"""The versioning policy of the README, exercised end to end on a real server: a step added
behind `workflow.patched`, the case started before still replays and finishes on the old branch;
the same change unguarded is caught with the replay's readable message; the patch deprecated once
no open case took the old branch, and removed once no open case carries the undeprecated marker,
each step decided by replaying the open cases.

The workflow is the smallest that has the shape of a case: a step, then a wait for a person.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():  # this module defines workflows below
    from tests.eventually import eventually
    from workers.replay import Named, Outcome, replay

PATCH = "notify-before-registering"
STEP = timedelta(seconds=10)


@activity.defn(name="register")
async def register() -> None:
    """The step every version makes."""


@activity.defn(name="notify")
async def notify() -> None:
    """The step the change adds in front."""


@workflow.defn(name="Versioned")
class Before:
    """Release 1: register, then wait for the manager."""

    def __init__(self) -> None:
        self.approved = False

    @workflow.run
    async def run(self) -> str:
        await workflow.execute_activity(register, start_to_close_timeout=STEP)
        await workflow.wait_condition(lambda: self.approved)
        return "done"

    @workflow.signal
    def approve(self) -> None:
        self.approved = True


@workflow.defn(name="Versioned")
class Patched(Before):
    """Release 2: notify first, for cases that reach the step under this code."""

    @workflow.run
    async def run(self) -> str:
        if workflow.patched(PATCH):
            await workflow.execute_activity(notify, start_to_close_timeout=STEP)
        await workflow.execute_activity(register, start_to_close_timeout=STEP)
        await workflow.wait_condition(lambda: self.approved)
        return "done"


@workflow.defn(name="Versioned")
class Unguarded(Before):
    """Release 2 as it must not be written: the new step for every case, old ones included."""

    @workflow.run
    async def run(self) -> str:
        await workflow.execute_activity(notify, start_to_close_timeout=STEP)
        await workflow.execute_activity(register, start_to_close_timeout=STEP)
        await workflow.wait_condition(lambda: self.approved)
        return "done"


@workflow.defn(name="Versioned")
class Deprecated(Before):
    """Release 3: only the new branch is left; the marker is still written for release 2."""

    @workflow.run
    async def run(self) -> str:
        workflow.deprecate_patch(PATCH)
        await workflow.execute_activity(notify, start_to_close_timeout=STEP)
        await workflow.execute_activity(register, start_to_close_timeout=STEP)
        await workflow.wait_condition(lambda: self.approved)
        return "done"


# Release 4, the patch removed, is the unguarded code of release 2 to the letter: what makes it
# safe is not the code but that no open case took the old branch any more.
Removed = Unguarded


def release(client: Client, task_queue: str, code: type) -> Worker:
    """A worker of one release. It caches no workflow: the test server does not move a task
    from a stopped worker's sticky queue, as a real cluster does after its timeout."""
    activities = [register, notify]
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[code],
        activities=activities,
        max_cached_workflows=0,
    )


async def replayed(histories: Sequence[WorkflowHistory], release: type) -> list[Outcome]:
    async def named():
        for history in histories:
            yield Named(history.workflow_id, history=history)

    return [outcome async for outcome in replay(named(), workflows=[release])]


async def finished(case: WorkflowHandle, env: WorkflowEnvironment) -> str:
    """A case's result, the clock held: skipping time while other cases wait would run them
    into the test server's execution timeout."""
    with env.auto_time_skipping_disabled():
        return await case.result()


async def waiting_for_the_manager(client: Client, task_queue: str) -> WorkflowHandle:
    handle = await client.start_workflow(
        "Versioned", id=f"case-{uuid.uuid4()}", task_queue=task_queue
    )

    async def registered() -> bool:
        events = (await handle.fetch_history()).events
        scheduled = {e.event_id: e.activity_task_scheduled_event_attributes for e in events}
        completed = [e.activity_task_completed_event_attributes.scheduled_event_id for e in events]
        return any(scheduled[i].activity_type.name == "register" for i in completed if i)

    await eventually(registered, "the case to register and wait for the manager")
    return handle


async def test_a_patch_from_change_to_removal(env: WorkflowEnvironment):
    client, task_queue = env.client, f"tq-{uuid.uuid4()}"

    async with release(client, task_queue, Before):
        old_case = await waiting_for_the_manager(client, task_queue)
    old = await old_case.fetch_history()

    # Release 2 must replay the open case; the same change unguarded cannot, and says where.
    assert [outcome.ok for outcome in await replayed([old], Patched)] == [True]
    [caught] = await replayed([old], Unguarded)
    report = caught.report()
    assert 'the history has activity "register" scheduled' in report
    assert 'the code now schedules activity "notify" instead' in report
    assert "tests/test_versioning.py" in report and "notify" in report.split("step in the code")[1]

    async with release(client, task_queue, Patched):
        new_case = await waiting_for_the_manager(client, task_queue)
        new = await new_case.fetch_history()
        names = [e.activity_task_scheduled_event_attributes.activity_type.name for e in new.events]
        assert [name for name in names if name] == ["notify", "register"]
        # While the old case is open, the old branch is needed: release 3 would break it.
        assert [o.ok for o in await replayed([old, new], Deprecated)] == [False, True]

        await old_case.signal(Before.approve)  # the old case finishes on the old branch
        assert await finished(old_case, env) == "done"

    # No open case took the old branch: release 3 replays every open case. Release 4 does not
    # yet: a case started under release 2 carries the patch's marker, which the code must still
    # name (deprecated, it names it without a branch).
    assert [o.ok for o in await replayed([await new_case.fetch_history()], Deprecated)] == [True]
    [too_soon] = await replayed([await new_case.fetch_history()], Removed)
    assert f'the history has patch marker "{PATCH}"' in too_soon.report()

    async with release(client, task_queue, Deprecated):
        newer_case = await waiting_for_the_manager(client, task_queue)
        await new_case.signal(Before.approve)
        assert await finished(new_case, env) == "done"

    # Open now: only cases started under release 3, whose marker says deprecated: release 4.
    open_cases = [await newer_case.fetch_history()]
    assert [o.ok for o in await replayed(open_cases, Removed)] == [True]
    async with release(client, task_queue, Removed):
        await newer_case.signal(Before.approve)
        assert await finished(newer_case, env) == "done"
