"""Identifiers sealed where a case is read (activities/sealing.py): a workflow carries a token that
says which identifier was checked valid, never the number; SAP's step opens it again. The same
number is the same token; a rotated key seals new tokens and still opens the old; a token under a
key that is missing, or altered, fails naming the key."""

from __future__ import annotations

from datetime import date

import pytest

from activities.sealing import IdentifierSeal, SealError
from domain import identifiers
from domain.cases import CaseOutcome
from domain.identifiers import InvalidIdentifier, changed, sealed_kinds
from tests import harness as scenarios
from tests.harness import Harness
from workers.codec import new_key, parse_key
from workers.histories import events_holding_identifiers
from workers.temporal import data_converter

OLD, NEW = parse_key("old", new_key()), parse_key("new", new_key())
TODAY = date(2026, 12, 6)
FNR, ACCOUNT = "01038510092", "86011117947"


def sealed(text: str, seal: IdentifierSeal | None = None) -> str:
    return (seal or IdentifierSeal({"old": OLD}, "old")).seal_text(text, TODAY)


def test_each_valid_identifier_is_sealed_as_its_kind_and_opens_compact():
    seal = IdentifierSeal({"old": OLD}, "old")
    text = seal.seal_text(f"Fødselsnummer: {FNR[:6]} {FNR[6:]}\nKontonummer: 8601 11 17947", TODAY)

    national_id, account = (line.split(": ")[1] for line in text.splitlines())
    assert sealed_kinds(national_id) == {"fnr", "konto"} and sealed_kinds(account) == {"konto"}
    assert seal.open(national_id) == FNR and seal.open(account) == ACCOUNT
    assert FNR[:6] not in text and "8601" not in text


def test_what_is_no_valid_identifier_stays_as_written():
    text = "Kontonummer: 1234 56 78901, ansattnummer 05001234, saksnr 2026/12345, tlf 73595000"
    assert sealed(text) == text
    future = "Fødselsnummer: 01012750036"  # born 01.01.2027: told to the caller, not sealed
    assert sealed(future) == future


def test_the_same_number_is_the_same_token_however_it_is_written():
    assert sealed("8601 11 17947") == sealed("86011117947") == sealed("8601.11.17947")
    assert sealed(ACCOUNT) != sealed("86011117955")


def test_a_rotated_key_seals_anew_and_still_opens_the_old():
    before = sealed(ACCOUNT)
    rotated = IdentifierSeal({"old": OLD, "new": NEW}, "new")
    after = rotated.seal_text(ACCOUNT, TODAY)

    assert ":new:" in after and after != before
    assert rotated.open(before) == rotated.open(after) == ACCOUNT


def test_a_token_under_a_missing_key_or_altered_fails_naming_the_key():
    token = sealed(ACCOUNT)
    with pytest.raises(SealError, match=r"'old'.*missing"):
        IdentifierSeal({"new": NEW}, "new").open(token)
    altered = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    with pytest.raises(SealError, match="does not open"):
        IdentifierSeal({"old": OLD}, "old").open(altered)


def test_a_value_that_is_no_token_opens_as_itself():
    assert IdentifierSeal({"old": OLD}, "old").open(ACCOUNT) == ACCOUNT  # a case read before


def test_the_forms_checks_take_a_token_for_the_kind_it_was_sealed_as():
    national_id, account = sealed(FNR), sealed(ACCOUNT)
    assert identifiers.national_id(national_id, TODAY) == national_id
    assert identifiers.bank_account(account) == account
    with pytest.raises(InvalidIdentifier):
        identifiers.national_id(account, TODAY)


def test_an_answer_is_changed_unless_only_its_sealing_differs():
    assert changed(sealed(ACCOUNT), sealed("86011117955"))
    assert changed(ACCOUNT, "86011117955")
    assert not changed(sealed(ACCOUNT), sealed(ACCOUNT))
    assert not changed(ACCOUNT, sealed(ACCOUNT))  # read in clear before sealing came
    rotated = IdentifierSeal({"old": OLD, "new": NEW}, "new").seal_text(ACCOUNT, TODAY)
    assert not changed(sealed(ACCOUNT), rotated)
    assert changed(date(2027, 1, 1), date(2027, 2, 1)) and not changed(1, 1)


async def test_no_event_of_a_new_hire_case_holds_an_identifier_even_opened_with_the_keys(
    h: Harness,
):
    """The form, a reply with the missing account, the SAP registration: all carried sealed."""
    handle = await scenarios.missing_data_then_reply(h)
    history = await handle.fetch_history()

    assert await events_holding_identifiers(history, data_converter()) == []
    # SAP got the numbers themselves (its API takes 11 digits, never a token)
    assert (await handle.result()).outcome is CaseOutcome.REGISTERED
    assert len(h.sap.registrations()) == 1
