"""The SAP stub keeps the promises the workflows rely on: durable state, one registration per
idempotency key, a refusal for a person already registered, and faults on demand."""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.dfo.sap import ApprovalState, NewHire, PayrollRejected, PayrollUnavailable, SapStub


def hire(fnr: str = "15038510190") -> NewHire:
    return NewHire(
        navn="Kari Nordmann",
        fnr=fnr,
        startdato=date(2027, 2, 1),
        kontonummer="86011117947",
        dellonnsprosent=Decimal(100),
        sakarkivnr="2026/12345",
    )


def test_a_repeated_key_returns_the_first_registration_and_registers_nothing_more(tmp_path):
    sap = SapStub(tmp_path / "sap.db")
    first = sap.register_new_hire(hire(), "new-hire-I1/register/0")
    again = sap.register_new_hire(hire(), "new-hire-I1/register/0")
    assert again == first
    assert len(sap.registrations()) == 1
    assert first.status is ApprovalState.PENDING and len(first.ansattnummer) == 8


def test_a_person_with_a_live_registration_is_refused(tmp_path):
    sap = SapStub(tmp_path / "sap.db")
    sap.register_new_hire(hire(), "a")
    with pytest.raises(PayrollRejected, match="allerede registrert"):
        sap.register_new_hire(hire(), "b")


def test_a_rejected_form_does_not_block_a_new_one(tmp_path):
    sap = SapStub(tmp_path / "sap.db")
    first = sap.register_new_hire(hire(), "a")
    sap.decide(first.id, approved=False, reason="feil")
    second = sap.register_new_hire(hire(), "b")
    assert second.id != first.id


def test_state_survives_a_restart(tmp_path: Path):
    registration = SapStub(tmp_path / "sap.db").register_new_hire(hire(), "a")
    SapStub(tmp_path / "sap.db").decide(registration.id, approved=True)
    assert SapStub(tmp_path / "sap.db").approval_status(registration.id).status is (
        ApprovalState.APPROVED
    )


def test_moving_the_start_date_sends_the_form_back_for_approval_once_per_key(tmp_path):
    sap = SapStub(tmp_path / "sap.db")
    registration = sap.register_new_hire(hire(), "a")
    sap.decide(registration.id, approved=True)
    moved = sap.update_start_date(registration.id, date(2027, 3, 1), "move-1")
    assert moved.startdato == date(2027, 3, 1) and moved.status is ApprovalState.PENDING
    sap.decide(registration.id, approved=True)
    assert sap.update_start_date(registration.id, date(2027, 3, 1), "move-1") == moved
    assert sap.approval_status(registration.id).status is ApprovalState.APPROVED


def test_an_unknown_registration_is_refused(tmp_path):
    with pytest.raises(PayrollRejected):
        SapStub(tmp_path / "sap.db").approval_status("NH-999999")


def test_injected_outages_fail_exactly_that_many_calls(tmp_path):
    sap = SapStub(tmp_path / "sap.db")
    sap.inject_fault("unavailable", times=2)
    for _ in range(2):
        with pytest.raises(PayrollUnavailable):
            sap.register_new_hire(hire(), "a")
    assert sap.register_new_hire(hire(), "a").id == "NH-000001"


def test_injected_latency_delays_the_answer(tmp_path):
    sap = SapStub(tmp_path / "sap.db")
    sap.inject_fault("latency", seconds=0.2)
    started = time.monotonic()
    sap.register_new_hire(hire(), "a")
    assert time.monotonic() - started >= 0.2


def test_a_fault_injected_by_another_process_reaches_this_one(tmp_path):
    """The worker's stub and an operator's (or a test's) share the file, faults included."""
    SapStub(tmp_path / "sap.db").inject_fault("unavailable")
    with pytest.raises(PayrollUnavailable):
        SapStub(tmp_path / "sap.db").approval_status("NH-000001")


def test_the_stub_keeps_no_fodselsnummer(tmp_path):
    SapStub(tmp_path / "sap.db").register_new_hire(hire(), "a")
    assert b"15038510190" not in (tmp_path / "sap.db").read_bytes()
