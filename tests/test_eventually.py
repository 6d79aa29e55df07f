"""The wait helper itself: it returns what the check found, and a timeout says what never came."""

from __future__ import annotations

import pytest

from tests.eventually import eventually, eventually_sync


async def test_eventually_returns_the_first_truthy_value():
    calls: list[int] = []

    def check() -> list[int]:
        calls.append(1)
        return calls if len(calls) >= 3 else []

    assert await eventually(check, "three calls", interval=0.001) == [1, 1, 1]


async def test_eventually_awaits_an_async_check_and_retries_a_failed_assertion():
    calls: list[int] = []

    async def check() -> str:
        calls.append(1)
        assert len(calls) >= 2, "not yet"
        return "done"

    assert await eventually(check, interval=0.001) == "done"


async def test_eventually_times_out_naming_what_it_waited_for_and_the_last_value():
    with pytest.raises(AssertionError, match=r"waited 0.05 s for the queue to drain; last 0"):
        await eventually(lambda: 0, "the queue to drain", timeout=0.05)


async def test_eventually_times_out_with_the_last_assertion_and_the_lambda_source():
    def never() -> None:
        raise AssertionError("status is Open")

    with pytest.raises(AssertionError, match="for never; the last check failed: status is Open"):
        await eventually(never, timeout=0.05, interval=0.01)
    with pytest.raises(AssertionError, match=r"lambda: 1 > 2"):
        await eventually(lambda: 1 > 2, timeout=0.01)


def test_eventually_sync_returns_the_value_and_times_out_with_the_message():
    values = iter([0, "", "ready"])
    assert eventually_sync(lambda: next(values), interval=0.001) == "ready"
    with pytest.raises(AssertionError, match=r"waited 0.05 s for nothing; last None"):
        eventually_sync(lambda: None, "nothing", timeout=0.05, interval=0.01)
