"""Idempotency keys (DESIGN.md, "Identity and idempotency"): every side effect that must happen
once carries a key made of the workflow id, the case's business key, and the step. A retried
activity, a replayed workflow or a second worker then never registers, sends or files twice.
"""

from __future__ import annotations

from temporalio import workflow


def idempotency_key(*step: object) -> str:
    """`<workflow id>/<step>/...`: e.g. ("register", 2) for a new hire's third registration."""
    return "/".join([workflow.info().workflow_id, *(str(part) for part in step)])
