"""Where retryability is decided: at the activity boundary, in one place.

Adapters raise typed errors. The ones that say "this request is wrong as it stands" become
non-retryable `ApplicationError`s carrying the error's class name as their type, so a workflow can
react to them (ask the caller, tell an operator). Everything else propagates and Temporal's retry
policy keeps trying through outages that last minutes or days.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from temporalio.exceptions import ApplicationError


@contextmanager
def final_errors(*final: type[Exception]) -> Iterator[None]:
    """Turn the `final` error types into non-retryable application errors."""
    try:
        yield
    except final as error:
        raise ApplicationError(str(error), type=type(error).__name__, non_retryable=True) from error
