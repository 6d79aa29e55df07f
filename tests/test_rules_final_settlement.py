"""Seed 001 "Annen fratredelse" as pure domain rules (docs/rules.md): the form is sent once the
end date is settled, the termination letter goes to the employee with the manager in copy (not on
death), and the end-date watch stops pay from the day after the end date."""

from __future__ import annotations

from datetime import date

from domain.final_settlement import (
    TerminationReason,
    check_form,
    letter_problems,
    needs_termination_letter,
)
from domain.follow_ups import pay_stop_from

FORM = """Skjema: Fratredelse
Navn: Kari Nordmann
Ansattnummer: 05001234
Sluttdato: 31.01.2027
Årsak: Midlertidig
Leder: Ola Leder"""


def without(label: str, form: str = FORM) -> str:
    return "\n".join(line for line in form.splitlines() if not line.startswith(f"{label}:"))


def test_a_form_without_an_end_date_is_asked_for_it_as_sent_once_the_end_date_is_settled():
    assert check_form([without("Sluttdato")]).problems == [
        "Sluttdato mangler. Skjemaet sendes når sluttdatoen er avklart."
    ]


def test_the_termination_letter_needs_the_manager_in_copy():
    form = check_form([without("Leder")]).form
    assert form is not None and needs_termination_letter(form)
    [problem] = letter_problems(form)
    assert problem.startswith("Leder mangler.") and "leder på kopi" in problem


def test_on_death_no_termination_letter_is_sent_so_no_manager_is_asked_for():
    form = check_form([without("Leder", FORM.replace("Midlertidig", "Dødsfall"))]).form
    assert form is not None and form.reason is TerminationReason.DEATH
    assert not needs_termination_letter(form)
    assert letter_problems(form) == []


def test_pay_is_stopped_from_the_day_after_the_end_date_which_is_still_paid():
    assert pay_stop_from(date(2027, 1, 31)) == date(2027, 2, 1)
    assert pay_stop_from(date(2026, 12, 31)) == date(2027, 1, 1)
    assert pay_stop_from(date(2028, 2, 28)) == date(2028, 2, 29)
