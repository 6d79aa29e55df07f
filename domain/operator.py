"""What a case says when a system refuses one of its steps for good and a person must decide
(wait state `needs_operator`): the note to the case handler, and the note when the operator ends
the case. Both go to the handler only; the caller hears from a person."""

from __future__ import annotations

from domain.cases import OperatorAction

RETRY = "retry"
END = "cancel"  # `saksflyt bulk cancel`'s action, which ends a case waiting for an operator


def needs_operator_note(step: str, reason: str) -> str:
    """The handler's note: which step was refused, the system's own reason, and the two ways on."""
    return (
        f"Saksflyt stoppet: «{step}» ble avvist: {reason.rstrip('.')}. Saken venter på "
        "saksbehandler. Rett årsaken og kjør steget på nytt (saksflyt bulk retry), eller avslutt "
        "saken (saksflyt bulk cancel)."
    )


def ended_by_operator_note(action: OperatorAction) -> str:
    return (
        f"Saken er avsluttet i saksflyt av {action.operator}: {action.reason.rstrip('.')}. "
        "Resten av saken følges opp manuelt."
    )


def decision(actions: list[OperatorAction]) -> OperatorAction | None:
    """The first retry or end among an operator's actions (other signals do not decide)."""
    return next((a for a in actions if a.action in (RETRY, END)), None)
