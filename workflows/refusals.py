"""How a workflow reads an activity's failure: a system that refused for good (the routine acts on
its reason) is told apart from a failure the retries have not cured (the routine fails, and a
person looks)."""

from __future__ import annotations

from temporalio.exceptions import ActivityError, ApplicationError


def final_reason(error: ActivityError) -> str | None:
    """Why a system refused for good (a non-retryable error); None for any other failure."""
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.non_retryable:
        return cause.message
    return None


def refused(error: ActivityError, kind: str) -> str | None:
    """The system's reason when it refused a request as it stands (a final error of type
    `kind`, activities/errors.py); None for any other failure."""
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.type == kind:
        return cause.message
    return None
