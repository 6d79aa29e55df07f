"""Seed 001 "Nyansettelse" as pure domain rules (docs/rules.md): a field the routine demands is
asked for with the routine's own reason, so the unit learns why, not only what."""

from __future__ import annotations

from datetime import date

from domain.new_hire import check_form

TODAY = date(2026, 11, 23)

FORM = """Skjema: Nyansettelse
Navn: Kari Nordmann
Fødselsnummer: 150385 10190
Startdato: 01.02.2027
Kontonummer: 8601 11 17947
ePhorte-nummer: 2026/12345
Lønnsform: Månedslønn"""


def without(label: str) -> str:
    return "\n".join(line for line in FORM.splitlines() if not line.startswith(f"{label}:"))


def test_the_complete_form_passes():
    assert check_form([FORM], TODAY).form is not None


def test_a_missing_start_date_is_asked_for_as_settled_before_the_case_is_sent():
    assert check_form([without("Startdato")], TODAY).problems == [
        "Startdato mangler. Startdatoen må være avklart før saken sendes."
    ]


def test_a_missing_bank_account_is_asked_for_because_sap_cannot_register_without_it():
    assert check_form([without("Kontonummer")], TODAY).problems == [
        "Kontonummer mangler. Vi kan ikke registrere den nyansatte i lønnssystemet uten "
        "kontonummer."
    ]


def test_a_missing_ephorte_number_is_asked_for_where_the_signed_contract_is_filed():
    [problem] = check_form([without("ePhorte-nummer")], TODAY).problems
    assert problem.startswith("ePhorte-nummer mangler.")
    assert "signerte arbeidsavtalen" in problem and "ePhorte" in problem
