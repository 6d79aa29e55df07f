"""Norwegian identifiers the service centre checks before anything is registered in SAP.

Checksums come from python-stdnum; this module only turns its verdicts into sentences a caller
understands. Nothing here reads the clock: the caller passes `today`, so a workflow gets the same
answer when it is replayed years later.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date
from typing import Protocol

from stdnum.exceptions import ValidationError
from stdnum.no import fodselsnummer, kontonr, orgnr

from domain.forms import InvalidAnswer


class InvalidIdentifier(InvalidAnswer):
    """The value is not a valid identifier; the message says why, in Norwegian, for the caller."""


def national_id(value: str, today: date) -> str:
    """Return the compact fødselsnummer or D-nummer, or raise InvalidIdentifier.

    stdnum's own `validate` compares the birth date with the machine's clock; we compare with
    `today` instead so that a workflow's verdict never changes on replay.
    """
    number = fodselsnummer.compact(value)
    if not number.isdigit() or len(number) != 11:
        raise InvalidIdentifier("må ha 11 siffer")
    if number[9] != fodselsnummer.calc_check_digit1(number) or number[
        10
    ] != fodselsnummer.calc_check_digit2(number):
        raise InvalidIdentifier("kontrollsifrene stemmer ikke")
    try:
        born = fodselsnummer.get_birth_date(number)
    except ValidationError as error:
        raise InvalidIdentifier("inneholder ingen gyldig fødselsdato") from error
    if born > today:
        raise InvalidIdentifier("fødselsdatoen ligger i fremtiden")
    return number


def is_d_number(number: str) -> bool:
    """A D-nummer (for people without a fødselsnummer) has 40 added to the day of birth."""
    return int(number[0]) >= 4


def bank_account(value: str) -> str:
    """Return the 11-digit Norwegian account number (kontonummer), or raise InvalidIdentifier."""
    # stdnum also accepts 7-digit postgiro numbers; SAP pays salaries to 11-digit accounts only.
    return _checked(kontonr, value, digits=11)


class _StdnumModule(Protocol):
    def compact(self, number: str) -> str: ...

    def validate(self, number: str) -> str: ...


def _checked(module: _StdnumModule, value: str, digits: int) -> str:
    """Compact `value` with stdnum, demand exactly `digits` ASCII digits, then let stdnum check
    the check digit; stdnum's verdicts become the caller's reasons."""
    number = module.compact(value)
    if re.fullmatch(f"[0-9]{{{digits}}}", number) is None:
        raise InvalidIdentifier(f"må ha {digits} siffer")
    try:
        return module.validate(number)
    except ValidationError as error:
        raise InvalidIdentifier("kontrollsifferet stemmer ikke") from error


_ARCHIVE_CASE = re.compile(r"(\d{4})\s*/\s*(\d{1,7})")


def archive_case_number(value: str) -> str:
    """Return an ePhorte/Elements case number `YYYY/NNNNN` (saksnummer), or raise InvalidIdentifier.

    The archive numbers cases by year and sequence (dfo-domain.md §4); a journal post adds `-D`,
    which is not a case number.
    """
    match = _ARCHIVE_CASE.fullmatch(value.strip())
    if match is None:
        raise InvalidIdentifier("må ha formen ÅÅÅÅ/NNNNN, for eksempel 2024/12345")
    year, sequence = match.groups()
    if not 1990 <= int(year) <= 2099:
        raise InvalidIdentifier(f"årstallet {year} er ikke et gyldig saksår")
    return f"{year}/{int(sequence)}"


def organisation_number(value: str) -> str:
    """Return the 9-digit organisasjonsnummer, or raise InvalidIdentifier.

    dfo-domain.md §5: nine digits whose weighted sum (3,2,7,6,5,4,3,2,1) is divisible by 11, checked
    by stdnum. Only spaces are allowed between the digits, as Brønnøysund prints them
    ("974 767 880"); an MVA number ("NO974767880MVA") names a VAT registration, not the employer.
    """
    return _checked(orgnr, value, digits=9)


_EMPLOYEE_NUMBER = re.compile(r"[0-9]{8}")


def employee_number(value: str) -> str:
    """Return the DFØ ansattnummer as the 8-character string SAP uses, or raise InvalidIdentifier.

    dfo-domain.md §1.3: the ansattnummer is an 8-digit string with leading zeros ("05001234"),
    the key of `ansatte/v2/{id}` and the archive's ordering value. It is text, never a number:
    "5001234" is a different (and invalid) key. Only ASCII digits count, because `str.isdigit`
    also accepts other scripts' digits, which SAP does not.
    """
    number = value.strip()
    if _EMPLOYEE_NUMBER.fullmatch(number) is None:
        raise InvalidIdentifier("må ha 8 siffer, med ledende nuller, for eksempel 05001234")
    return number


def employee_key(employee_number: str, key: str) -> str:
    """A pseudonym of the employee that visibility may index: HMAC-SHA256 of the employee number
    under the deployment's secret key, 32 hex digits. The same employee gets the same key in every
    process, so all their cases are found together, but without the key neither the number nor
    the person can be read back or guessed from the 10^8 possible numbers."""
    digest = hmac.new(key.encode(), employee_number.strip().encode(), hashlib.sha256)
    return digest.hexdigest()[:32]
