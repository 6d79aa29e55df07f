"""What the caller is told when they answer the manager's rejection without changing what was
registered (issue 13 item 7): the form is not sent back to the manager unchanged, and the manager's
own words are quoted again."""

from __future__ import annotations


def unchanged_after_rejection_problem(reason: str | None) -> str:
    quoted = f" Leder skrev: «{reason.rstrip('.')}»." if reason else ""
    return (
        "Skjemaet er ikke endret siden leder avviste registreringen i SAP, så vi sender det ikke "
        f"til godkjenning på nytt.{quoted} Avklar med leder og svar i saken med rettede "
        "opplysninger."
    )
