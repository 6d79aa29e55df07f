"""The webhook intake: TOPdesk and DFØ events in, workflows started or signalled.

A webhook is a hint (DESIGN.md, "Webhooks are hints"): the intake checks the shared secret and
the body's shape, learns the case's category and so its process (`workers/routing.py`), then
starts or signals that process's workflow, which re-reads the case before it acts. A "created"
webhook that names a known category is routed by it (the workflow hands a case of another
category to its own process); any other event is routed by reading the case from TOPdesk. The
workflow id is the business key, so a repeated "created" webhook finds the running (or finished)
workflow instead of starting a second one. An event that cannot be routed
(a category no process handles, a case TOPdesk does not know) is answered 202 and quarantined
(`workers/quarantine.py`; one row per distinct event, with a cap: full, a new event is a 503).
While Temporal is unreachable a routed event is answered 202 "queued" and kept in the outbox
(`workers/outbox.py`, which says why) until it is back. While TOPdesk is unreachable (or slower
than its time limit) a DFØ decision is queued unrouted the same way and routed once TOPdesk
answers; a TOPdesk event stays a 503, which the backfill covers.

The package, one concern a module:

    models.py     the webhook bodies, and how an event is kept and read back
    security.py   the shared secrets, the HMAC signature, what of a path may be logged
    body.py       what the gate refuses in a body (not UTF-8, NaN, 1e999, too deep, ...)
    gate.py       the ASGI gate every request meets first, and the access log
    threads.py    TOPdesk reads on a bounded pool of their own, with a time limit; the store's pool
    targets.py    routing by category: where an event goes, read from TOPdesk if need be
    delivery.py   starting or signalling the routed event's workflow
    accept.py     what becomes of an event: delivered, queued, quarantined
    metrics.py    `/metrics` for Prometheus
    app.py        `create_app`: the routes and their answers
"""

from workers.intake.app import SIGNATURE_HEADER, TIMESTAMP_HEADER, create_app
from workers.intake.body import MAX_DEPTH
from workers.intake.delivery import CaseNotRunning, dispatch, redeliver
from workers.intake.models import (
    CASE_NUMBER,
    FORM_ID,
    Accepted,
    DfoResignation,
    DfoWebhook,
    TopdeskWebhook,
    WebhookEvent,
    event_from,
    kept,
    new_hire_id,
    resignation_id,
)
from workers.intake.security import logged_path, sign, signature_ok
from workers.intake.targets import Target, target_of, topdesk_of

__all__ = [
    "CASE_NUMBER",
    "FORM_ID",
    "MAX_DEPTH",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "Accepted",
    "CaseNotRunning",
    "DfoResignation",
    "DfoWebhook",
    "Target",
    "TopdeskWebhook",
    "WebhookEvent",
    "create_app",
    "dispatch",
    "event_from",
    "kept",
    "logged_path",
    "new_hire_id",
    "redeliver",
    "resignation_id",
    "sign",
    "signature_ok",
    "target_of",
    "topdesk_of",
]
