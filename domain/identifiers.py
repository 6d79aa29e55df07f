"""Norwegian identifiers the service centre checks before anything is registered in SAP.

Checksums come from python-stdnum; this module only turns its verdicts into sentences a caller
understands. Nothing here reads the clock: the caller passes `today`, so a workflow gets the same
answer when it is replayed years later.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from contextlib import suppress
from datetime import date
from typing import Protocol

from stdnum.exceptions import ValidationError
from stdnum.no import fodselsnummer, kontonr, orgnr

from domain.forms import InvalidAnswer


class InvalidIdentifier(InvalidAnswer):
    """The value is not a valid identifier; the message says why, in Norwegian, for the caller."""


# Eleven digits standing alone, as a fødselsnummer or D-nummer (6+5) or a bank account (4.2.5,
# spaced or dotted) is written; a longer run of digits (an id, a timestamp) is none of them.
IDENTIFIER_SHAPE = re.compile(r"(?<!\d)(?:\d{6} ?\d{5}|\d{4}[ .]?\d{2}[ .]?\d{5})(?!\d)")

NATIONAL_ID, ACCOUNT = "fnr", "konto"

# An identifier sealed where it was read (activities/sealing.py): the kinds of identifier it was
# checked to be, the key it is sealed under, and the ciphertext. A workflow carries these in
# place of the numbers; only the step that hands the number to SAP opens it.
SEALED = re.compile(r"⟨(?P<kinds>[a-z+]+):(?P<key>[A-Za-z0-9_.-]+):(?P<data>[A-Za-z0-9_-]+)⟩")


def sealed_kinds(value: str) -> frozenset[str] | None:
    """The kinds a sealed identifier was checked to be, or None if `value` is not sealed."""
    match = SEALED.fullmatch(value.strip())
    return frozenset(match["kinds"].split("+")) if match else None


def changed(old: object, new: object) -> bool:
    """Whether a form's answer changed between two reads. An identifier read in clear once and
    sealed the next time (in a case that was running when sealing came) or sealed under a rotated
    key cannot be compared, and is not reported as changed."""
    return old != new and _sealed_under(old) == _sealed_under(new)


def _sealed_under(value: object) -> str | None:
    match = SEALED.fullmatch(value.strip()) if isinstance(value, str) else None
    return match["key"] if match else None


def kinds_of(value: str, today: date) -> frozenset[str]:
    """Which identifiers `value` validly is: a fødselsnummer or D-nummer born by `today`, a bank
    account, both (a number can pass both checks) or neither."""
    kinds = set()
    with suppress(InvalidIdentifier):
        national_id(value, today)
        kinds.add(NATIONAL_ID)
    with suppress(InvalidIdentifier):
        bank_account(value)
        kinds.add(ACCOUNT)
    return frozenset(kinds)


def identifiers_in(text: str, today: date = date.max) -> list[re.Match[str]]:
    """The runs of `text` that are a valid fødselsnummer, D-nummer or bank account."""
    return [match for match in IDENTIFIER_SHAPE.finditer(text) if kinds_of(match[0], today)]


def _sealed_as(value: str, kind: str) -> str | None:
    """`value` itself if it is an identifier sealed as `kind`; None if it is not sealed."""
    kinds = sealed_kinds(value)
    if kinds is None:
        return None
    if kind not in kinds:
        raise InvalidIdentifier("kontrollsifrene stemmer ikke")
    return value.strip()


def national_id(value: str, today: date) -> str:
    """Return the compact fødselsnummer or D-nummer, or raise InvalidIdentifier. One sealed where
    it was read was checked there, and stays sealed.

    stdnum's own `validate` compares the birth date with the machine's clock; we compare with
    `today` instead so that a workflow's verdict never changes on replay.
    """
    if (sealed := _sealed_as(value, NATIONAL_ID)) is not None:
        return sealed
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
    """Return the 11-digit Norwegian account number (kontonummer), or raise InvalidIdentifier.
    One sealed where it was read was checked there, and stays sealed."""
    if (sealed := _sealed_as(value, ACCOUNT)) is not None:
        return sealed
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
