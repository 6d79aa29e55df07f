"""A TOPdesk simulator: a real HTTP server speaking the TOPdesk REST API subset saksflyt uses.

It exists so that the adapter, the workflows and the demo stack can run against something that
behaves like the service centre's TOPdesk ("NTNU Hjelp") without one: the same paths, status codes,
error bodies, date formats, paging headers and FIQL queries, the same seeded processing statuses and
categories, and the outbound webhooks an action sequence would send. Stock clients (TOPdeskPy and
its copy in topdesk-mcp) work against it too: trailing slashes, the old paging names, persons,
operators, the option lists, time spent, attachments, escalation. References of the form "§2.5"
point to ``/work/shared/reference/topdesk-api.md``.

The modules, each small:

- ``config``: the public configuration types and ``ApiError``
- ``dates``: TOPdesk's date forms, memo headers, the plain text of the HTML subset
- ``catalog``: the seeded search lists, operators and operator groups
- ``store``: the state in SQLite, so a restart on the same file continues
- ``fields``, ``fiql``, ``paging``: request checks, the query language, pages
- ``records``, ``incidents``, ``lifecycle``: the incident document and its rules
- ``webhooks``, ``faults``: outbound events and injected transport faults
- ``web``, ``api``, ``directory``: the HTTP layer (Starlette on uvicorn) and the routes
- ``server``: `TopdeskSimulator` and ``main``

Run standalone with ``python -m adapters.topdesk.simulator --db sim.db`` or ``saksflyt simulator``.
"""

from __future__ import annotations

from .config import API_PREFIX, API_VERSION, ApiError, FaultRule, SimulatorConfig, WebhookConfig
from .dates import format_date, parse_date
from .server import TopdeskSimulator, main

__all__ = [
    "API_PREFIX",
    "API_VERSION",
    "ApiError",
    "FaultRule",
    "SimulatorConfig",
    "TopdeskSimulator",
    "WebhookConfig",
    "format_date",
    "main",
    "parse_date",
]
