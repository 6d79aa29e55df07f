"""TOA first (seed 001, "Nyansettelse"): the new-hire routine does not apply to hourly pay or
assignments at all, so such a form is refused at once, with the way to TOA, and never asked for
missing fields first."""

from __future__ import annotations

from datetime import date

import pytest

from domain.cases import CaseOutcome
from domain.new_hire import TOA_REFUSAL, check_form
from tests.harness import Harness, form_without

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize("pay", ["Timelønn", "Oppdrag", "honorar"])
def test_hourly_pay_or_an_assignment_is_refused_before_missing_fields_are_asked_for(pay: str):
    form = form_without("Kontonummer", "Startdato", "Lønnsform", extra=f"Lønnsform: {pay}")
    check = check_form([form], TODAY)
    assert check.refusal == TOA_REFUSAL
    assert check.problems == [] and check.form is None


def test_an_invalid_fodselsnummer_does_not_hold_up_the_toa_refusal():
    form = form_without("Fødselsnummer", "Lønnsform", extra="Lønnsform: Timelønn")
    check = check_form([form + "\nFødselsnummer: 15038510191"], TODAY)
    assert check.refusal == TOA_REFUSAL


def test_the_refusal_names_tilsetting_og_arbeidskontrakt_and_who_orders_there():
    assert "Tilsetting og arbeidskontrakt (TOA)" in TOA_REFUSAL
    assert "behovshaver kontrakt" in TOA_REFUSAL and "Lønnsform: Månedslønn" in TOA_REFUSAL


def test_a_pay_basis_changed_to_monthly_in_a_reply_is_checked_as_usual():
    form = form_without("Kontonummer", "Lønnsform", extra="Lønnsform: Timelønn")
    check = check_form([form, "Lønnsform: Månedslønn"], TODAY)
    assert check.refusal is None
    assert check.problems == [
        "Kontonummer mangler. Vi kan ikke registrere den nyansatte i lønnssystemet uten "
        "kontonummer."
    ]


def test_an_unknown_pay_basis_is_asked_about_with_the_rest_not_refused():
    form = form_without("Kontonummer", "Lønnsform", extra="Lønnsform: Stipend")
    check = check_form([form], TODAY)
    assert check.refusal is None and len(check.problems) == 2


async def test_an_incomplete_hourly_form_is_closed_at_once_without_asking_the_caller(
    h: Harness,
):
    number = h.submit(form_without("Kontonummer", "Lønnsform", extra="Lønnsform: Timelønn"))
    handle = await h.start(number)
    result = await handle.result()

    assert result.outcome is CaseOutcome.REFUSED
    replies = h.replies(number)
    assert not any("mangler" in reply for reply in replies)
    assert "Tilsetting og arbeidskontrakt" in replies[-1]
    assert h.topdesk.get_incident(number).completed
    assert h.sap.registrations() == []
    history = await handle.fetch_history()
    assert not any(e.HasField("timer_started_event_attributes") for e in history.events)
