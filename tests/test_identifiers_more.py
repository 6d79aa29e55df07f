"""Organisation numbers and DFØ employee numbers: what a caller may type, and what is refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.identifiers import InvalidIdentifier, employee_number, organisation_number

# -- organisasjonsnummer -----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["974767880", "974 767 880", "  974 767 880 "])
def test_ntnus_organisation_number_is_returned_compact(value: str):
    assert organisation_number(value) == "974767880"


def test_stdnums_own_example_is_valid():
    assert organisation_number("988 077 917") == "988077917"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("974767881", "kontrollsifferet"),
        ("988 077 918", "kontrollsifferet"),
        ("97476788", "9 siffer"),
        ("9747678800", "9 siffer"),
        ("97476788O", "9 siffer"),  # a letter O typed for a zero
        ("NO974767880MVA", "9 siffer"),  # the VAT number, not the organisation number
        ("974-767-880", "9 siffer"),
        ("", "9 siffer"),
    ],
)
def test_an_invalid_organisation_number_is_refused_with_a_reason(value: str, reason: str):
    with pytest.raises(InvalidIdentifier, match=reason):
        organisation_number(value)


def test_organisation_numbers_with_non_ascii_digits_are_refused():
    with pytest.raises(InvalidIdentifier, match="9 siffer"):
        organisation_number("٩٧٤٧٦٧٨٨٠")  # Arabic-Indic digits for 974767880


# -- DFØ ansattnummer --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("05001234", "05001234"),
        (" 05001234 ", "05001234"),
        ("\t00000001\n", "00000001"),
        ("12345678", "12345678"),
    ],
)
def test_an_employee_number_keeps_its_leading_zeros(value: str, expected: str):
    assert employee_number(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "5001234",  # the leading zero lost, as a spreadsheet does
        "050012345",
        "0500123",
        "0500 1234",
        "05001234a",
        "A5001234",
        "05-001234",
        "+5001234",
        "5e+06",
        "",
        "        ",
        "\uff10\uff15\uff10\uff10\uff11\uff12\uff13\uff14",  # full-width digits
        "٠٥٠٠١٢٣٤",  # Arabic-Indic digits
    ],
)
def test_anything_but_eight_digits_is_refused(value: str):
    with pytest.raises(InvalidIdentifier, match="8 siffer"):
        employee_number(value)


@given(st.text(alphabet="0123456789", min_size=8, max_size=8))
@settings(max_examples=200)
def test_every_eight_digit_string_round_trips_unchanged(value: str):
    assert employee_number(value) == value
    assert employee_number(f"  {value} ") == value


@given(st.text(alphabet="0123456789", min_size=0, max_size=12).filter(lambda s: len(s) != 8))
@settings(max_examples=100)
def test_digit_strings_of_any_other_length_are_refused(value: str):
    with pytest.raises(InvalidIdentifier):
        employee_number(value)
