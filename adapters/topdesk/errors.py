"""TOPdesk errors, chosen from the HTTP status in one place (`error_for`).

`TopdeskUnavailable` is worth retrying later; `TopdeskRejected` and its subclasses are business
answers that no retry will change.
"""

from __future__ import annotations


class TopdeskError(Exception):
    """Anything that went wrong talking to TOPdesk."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class TopdeskUnavailable(TopdeskError):
    """TOPdesk could not be reached or was overloaded (connection, 408, 429, 5xx)."""


class TopdeskAuthFailed(TopdeskError):
    """401: the application password is wrong or has expired; an operator must renew it."""


class TopdeskRejected(TopdeskError):
    """TOPdesk refused the request as it stands (400, 403, 404, ...)."""


class TopdeskBadRequest(TopdeskRejected):
    """400: unknown field, wrong format, text too long, unknown status name."""


class TopdeskForbidden(TopdeskRejected):
    """403: no permission, or the incident is archived and read-only."""


class TopdeskNotFound(TopdeskRejected):
    """404: no incident with that number or id."""


_BY_STATUS: dict[int, type[TopdeskError]] = {
    400: TopdeskBadRequest,
    401: TopdeskAuthFailed,
    403: TopdeskForbidden,
    404: TopdeskNotFound,
}


def error_for(status: int, message: str) -> TopdeskError:
    """Map a non-2xx status to its typed error."""
    if status in (408, 429) or status >= 500:
        return TopdeskUnavailable(message, status)
    return _BY_STATUS.get(status, TopdeskRejected)(message, status)
