"""The one way tests wait for something to happen: poll a check until it holds.

A fixed sleep is either too short under load (the test flakes) or too long when idle (the suite
crawls), and says nothing when it fails. `eventually` polls instead, returns as soon as the check
holds, and on timeout names what it waited for and the last thing it saw.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

TIMEOUT = 15.0  # seconds: generous, since the suite runs four workers on two cores
INTERVAL = 0.05


async def eventually(
    check: Callable[[], T | Awaitable[T]],
    what: str | None = None,
    *,
    timeout: float = TIMEOUT,
    interval: float = INTERVAL,
) -> T:
    """Call `check` (sync or async) until it returns a truthy value without raising
    AssertionError, and return that value. Fail after `timeout` seconds with `what` (or the
    check's own source) and the last value or assertion seen, so a failure says what never came."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        last: Any
        try:
            value = check()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value  # type: ignore[return-value]
            last = value
        except AssertionError as error:
            last = error
        if loop.time() >= deadline:
            raise _timed_out(check, what, timeout, last)
        await asyncio.sleep(interval)


def eventually_sync(
    check: Callable[[], T],
    what: str | None = None,
    *,
    timeout: float = TIMEOUT,
    interval: float = INTERVAL,
) -> T:
    """`eventually` for tests without an event loop (threads, subprocesses, sync clients)."""
    deadline = time.monotonic() + timeout
    while True:
        last: Any
        try:
            value = check()
            if value:
                return value
            last = value
        except AssertionError as error:
            last = error
        if time.monotonic() >= deadline:
            raise _timed_out(check, what, timeout, last)
        time.sleep(interval)


def _timed_out(check: Callable[..., Any], what: str | None, timeout: float, last: Any) -> Exception:
    failed = isinstance(last, AssertionError)
    seen = f"the last check failed: {last}" if failed else f"last {last!r}"
    error = AssertionError(f"waited {timeout:g} s for {what or _describe(check)}; {seen}")
    if failed:
        error.__cause__ = last
    return error


def _describe(check: Callable[..., Any]) -> str:
    """The check's name, or a lambda's source line, for a timeout message without a `what`."""
    name = getattr(check, "__name__", repr(check))
    if "<lambda>" not in name:
        return name
    try:
        return inspect.getsource(check).strip()
    except (OSError, TypeError):
        return name
