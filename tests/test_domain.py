"""Domain rules: identifiers, form reading and the new-hire checks, with their edge cases."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain import identifiers
from domain.forms import InvalidAnswer, parse_date, parse_percentage, read_answers
from domain.identifiers import InvalidIdentifier
from domain.new_hire import PayBasis, check_form, form_spec
from tests.harness import COMPLETE_FORM, form_without

TODAY = date(2026, 11, 23)
LABELS = form_spec(TODAY).labels


# -- fødselsnummer and D-nummer --------------------------------------------------------------


def test_a_valid_fodselsnummer_is_returned_compact():
    assert identifiers.national_id("150385 10190", TODAY) == "15038510190"


def test_a_d_number_is_accepted_and_recognised():
    number = identifiers.national_id("55038510184", TODAY)
    assert identifiers.is_d_number(number)
    assert not identifiers.is_d_number("15038510190")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("15038510191", "kontrollsifrene"),
        ("1503851019", "11 siffer"),
        ("150385101900", "11 siffer"),
        ("1503851019a", "11 siffer"),
        ("", "11 siffer"),
    ],
)
def test_an_invalid_fodselsnummer_says_why(value: str, reason: str):
    with pytest.raises(InvalidIdentifier, match=reason):
        identifiers.national_id(value, TODAY)


def test_a_fodselsnummer_born_after_today_is_invalid_on_that_day_only():
    from stdnum.no import fodselsnummer

    base = "011227" + "500"  # born 1 December 2027 (individual number 500 → 2000s)
    first = base + fodselsnummer.calc_check_digit1(base)
    number = first + fodselsnummer.calc_check_digit2(first)
    with pytest.raises(InvalidIdentifier, match="fremtiden"):
        identifiers.national_id(number, TODAY)
    assert identifiers.national_id(number, date(2028, 1, 1)) == number


def test_an_fh_number_without_a_birth_date_is_refused():
    from stdnum.no import fodselsnummer

    base = "811234567"
    digits = base + fodselsnummer.calc_check_digit1(base)
    number = digits + fodselsnummer.calc_check_digit2(digits)
    if len(number) == 11:  # some bases give a check digit of 10, which no number can have
        with pytest.raises(InvalidIdentifier, match="fødselsdato"):
            identifiers.national_id(number, TODAY)


# -- kontonummer -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["86011117947", "8601 11 17947", "8601.11.17947"])
def test_a_valid_bank_account_in_any_common_writing(value: str):
    assert identifiers.bank_account(value) == "86011117947"


@pytest.mark.parametrize(
    ("value", "reason"),
    [("8601 11 17949", "kontrollsifferet"), ("4090403", "11 siffer"), ("860111179", "11 siffer")],
)
def test_an_invalid_bank_account_says_why(value: str, reason: str):
    with pytest.raises(InvalidIdentifier, match=reason):
        identifiers.bank_account(value)


# -- ePhorte case number ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2024/12345", "2024/12345"), (" 2024 / 00042 ", "2024/42"), ("2026/1", "2026/1")],
)
def test_an_archive_case_number_is_normalised(value: str, expected: str):
    assert identifiers.archive_case_number(value) == expected


@pytest.mark.parametrize("value", ["12345", "2024/12345-3", "24/12345", "2024-12345", "2024/"])
def test_anything_but_a_case_number_is_refused(value: str):
    with pytest.raises(InvalidIdentifier, match="ÅÅÅÅ/NNNNN"):
        identifiers.archive_case_number(value)


def test_an_implausible_case_year_is_refused():
    with pytest.raises(InvalidIdentifier, match="saksår"):
        identifiers.archive_case_number("1024/12345")


# -- reading forms ---------------------------------------------------------------------------


def test_answers_are_read_by_label_without_case_or_html_and_later_texts_win():
    request = "23-11-2026 10:04 [GMT +1:00] Kari HR: <br>KONTONUMMER : 1111 11 11111<br>Navn: Kari"
    answers = read_answers([request, "Takk!\nKontonummer: 8601 11 17947"], LABELS)
    assert answers == {"bank_account": "8601 11 17947", "name": "Kari"}


def test_unknown_labels_prose_and_empty_answers_are_ignored():
    answers = read_answers(["Hei: dette er en kommentar\nKontonummer:\nStartdato:   "], LABELS)
    assert answers == {}


def test_an_empty_later_answer_does_not_erase_an_earlier_one():
    assert read_answers(["Navn: Kari", "Navn: "], LABELS) == {"name": "Kari"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("01.02.2027", date(2027, 2, 1)),
        ("1.2.2027", date(2027, 2, 1)),
        ("2027-02-01", date(2027, 2, 1)),
    ],
)
def test_dates_are_read_as_norwegians_and_iso_write_them(value: str, expected: date):
    assert parse_date(value) == expected


@pytest.mark.parametrize("value", ["31.02.2027", "februar 2027", "01.02.27", ""])
def test_a_wrong_date_is_refused(value: str):
    with pytest.raises(InvalidAnswer):
        parse_date(value)


@pytest.mark.parametrize(
    ("value", "expected"), [("100", 100), ("50 %", 50), ("37,5", Decimal("37.5"))]
)
def test_position_percentages(value: str, expected: Decimal):
    assert parse_percentage(value) == expected


@pytest.mark.parametrize("value", ["0", "101", "full", "-5"])
def test_a_percentage_outside_1_to_100_is_refused(value: str):
    with pytest.raises(InvalidAnswer):
        parse_percentage(value)


# -- the new-hire checks ---------------------------------------------------------------------


def test_a_complete_form_passes_with_every_field_read():
    form = check_form([COMPLETE_FORM], TODAY).form
    assert form is not None
    assert form.national_id == "15038510190" and form.bank_account == "86011117947"
    assert form.archive_case == "2026/12345" and form.pay_basis is PayBasis.MONTHLY
    assert form.start_date == date(2027, 2, 1) and form.position_percentage == 100


def test_every_missing_required_field_is_named_at_once():
    check = check_form([form_without("Navn", "Startdato", "Kontonummer", "ePhorte-nummer")], TODAY)
    assert check.form is None
    assert [p.split()[0] for p in check.problems] == [
        "Navn",
        "Startdato",
        "Kontonummer",
        "ePhorte-nummer",
    ]


def test_an_end_date_before_the_start_date_is_a_problem():
    check = check_form([form_without(extra="Sluttdato: 01.01.2027")], TODAY)
    assert check.problems == ["Sluttdato er ugyldig: den ligger før startdatoen."]


@pytest.mark.parametrize("pay", ["Timelønn", "Oppdrag"])
def test_hourly_pay_and_assignments_are_refused_as_toa(pay: str):
    check = check_form([form_without("Lønnsform", extra=f"Lønnsform: {pay}")], TODAY)
    assert check.form is None and check.refusal is not None and "TOA" in check.refusal


@pytest.mark.parametrize("end", ["31.03.2027", "31.07.2027", "31.12.2028"])
def test_a_monthly_contract_of_any_length_from_recruitment_is_ours(end: str):
    check = check_form([form_without(extra=f"Sluttdato: {end}")], TODAY)  # starts 01.02.2027
    assert check.refusal is None and check.form is not None


def test_an_unknown_pay_basis_is_a_problem_naming_the_choices():
    check = check_form([form_without("Lønnsform", extra="Lønnsform: Stipend")], TODAY)
    assert check.problems == ["Lønnsform er ugyldig: må være Månedslønn, Timelønn eller Oppdrag."]
