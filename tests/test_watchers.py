"""Watchers see every case: a case never escalated is found by its escalation level, and a case
its unit must act on (an incomplete or refused form) is found by its unit. On the dev server,
through visibility, as `saksflyt cases` and `temporal workflow list` find cases."""

from __future__ import annotations

from temporalio.client import Client, WorkflowHandle

from domain.cases import CaseOutcome, WaitState
from tests.eventually import eventually
from tests.harness import Harness, form_for_person
from workflows import search_attributes as sa

UNIT = "Institutt for fysikk"


async def found(client: Client, handle: WorkflowHandle, query: str, timeout: float = 15) -> bool:
    """True once a visibility search for `query` finds the case; fails after `timeout` seconds:
    visibility lags the workflow a little, so an empty answer is asked again."""
    full = f"WorkflowId = '{handle.id}' AND {query}"

    async def listed() -> bool:
        return bool([execution async for execution in client.list_workflows(full)])

    return await eventually(listed, f"visibility to find the case by {query}", timeout=timeout)


async def test_a_case_never_escalated_shows_escalation_level_0(dev_h: Harness):
    h = dev_h
    handle = await h.start(h.submit(form_for_person(0)))
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)

    assert await found(h.client, handle, f"{sa.ESCALATION_LEVEL.name} < 2")
    assert await found(h.client, handle, f"{sa.ESCALATION_LEVEL.name} = 0")


async def test_an_incomplete_forms_case_shows_its_unit_while_awaiting_the_caller(dev_h: Harness):
    h = dev_h
    handle = await h.start(h.submit(form_for_person(1, "Kontonummer", unit=UNIT)))
    await h.wait_state(handle, WaitState.AWAITING_CALLER)

    query = f"{sa.UNIT.name} = '{UNIT}' AND {sa.WAIT_STATE.name} = 'awaiting_caller'"
    assert await found(h.client, handle, query)


async def test_a_refused_toa_forms_case_shows_its_unit(dev_h: Harness):
    h = dev_h
    hourly = form_for_person(2, "Lønnsform", unit=UNIT) + "\nLønnsform: Timelønn"
    handle = await h.start(h.submit(hourly))
    assert (await handle.result()).outcome is CaseOutcome.REFUSED

    assert await found(h.client, handle, f"{sa.UNIT.name} = '{UNIT}'")
