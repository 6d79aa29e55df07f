"""Asking the caller: the question, the last day to answer, the reminder, and the close.

When a form lacks something the case waits for the caller ("Venter på bruker", `cases.py`); these
are the replies saksflyt writes into the case meanwhile, and the problems a question lists that
come from SAP and the manager rather than the form. Apart from the case states because they are
the caller's words, in Norwegian, while the states are how saksflyt and TOPdesk keep the case.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from domain.calendar_day import OSLO


def answer_deadline(asked: datetime, period: timedelta) -> datetime:
    """The end of the Norwegian calendar day `period` after `asked`: a caller told "svar innen
    20.11" can answer all that day, in Norwegian time, not until the same hour in UTC."""
    last_day = (asked + period).astimezone(OSLO).date()
    return datetime.combine(last_day, time.max, tzinfo=OSLO)


def question(problems: list[str]) -> str:
    """What the caller is asked, with or without a last day to answer: every problem."""
    lines = "\n".join(f"- {problem}" for problem in problems)
    return (
        "Hei!\nVi trenger mer informasjon før vi kan behandle saken:\n"
        f"{lines}\n"
        "Svar i saken med én linje per felt, for eksempel «Kontonummer: 1234 56 78901». "
    )


def ask_caller(problems: list[str], answer_by: datetime) -> str:
    """The reply that moves a case to "Venter på bruker": every problem, and the deadline."""
    return (
        question(problems)
        + f"Får vi ikke svar innen {answer_by.astimezone(OSLO):%d.%m.%Y}, lukkes saken."
    )


def remind_caller(answer_by: datetime) -> str:
    return (
        "Påminnelse: Vi venter fortsatt på svar fra deg i denne saken. "
        f"Får vi ikke svar innen {answer_by.astimezone(OSLO):%d.%m.%Y}, lukkes saken."
    )


CLOSED_WITHOUT_REPLY = (
    "Vi har ikke fått svar på det vi ba om, og lukker derfor saken. "
    "Send et nytt skjema når opplysningene er klare."
)


def payroll_refused_problem(reason: str) -> str:
    return f"SAP avviste registreringen: {reason}"


def manager_rejected_problem(reason: str | None) -> str:
    because = f": {reason.rstrip('.')}." if reason else "."
    return (
        f"Leder avviste registreringen i SAP{because} Avklar med leder og svar i saken med "
        "rettede opplysninger, så sender vi den til godkjenning på nytt."
    )


def unknown_employee_problem(employee_number: str) -> str:
    return f"Ansattnummer {employee_number} finnes ikke i SAP. Sjekk nummeret."
