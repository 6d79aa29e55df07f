"""The SAP stub keeps the promises the workflows rely on: durable state, one registration per
idempotency key, a refusal for a person already registered, and faults on demand."""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.dfo.sap import (
    ApprovalState,
    Employee,
    NewHire,
    PayrollRejected,
    PayrollUnavailable,
    SapStub,
    Settlement,
)

JUNE_30, JULY_RUN = date(2026, 6, 30), date(2026, 7, 12)


def hire(fnr: str = "15038510190") -> NewHire:
    return NewHire(
        navn="Kari Nordmann",
        fnr=fnr,
        startdato=date(2027, 2, 1),
        kontonummer="86011117947",
        dellonnsprosent=Decimal(100),
        sakarkivnr="2026/12345",
    )


def with_employees(path: Path, *employees: Employee) -> SapStub:
    sap = SapStub(path)
    for employee in employees:
        sap.add_employee(employee)
    return sap


def ending(number: str, end: date | None, **rest: object) -> Employee:
    return Employee.model_validate(
        {"ansattnummer": number, "startdato": date(2020, 1, 1), "sluttdato": end, **rest}
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


def test_cleared_faults_are_suffered_no_more(tmp_path):
    """An outage over: faults not yet suffered are forgotten (the fault suite's settle phase)."""
    sap = SapStub(tmp_path / "sap.db")
    sap.inject_fault("unavailable", times=5)
    with pytest.raises(PayrollUnavailable):
        sap.register_new_hire(hire(), "a")
    sap.store.clear_faults()
    assert sap.register_new_hire(hire(), "a").id


def test_the_stub_keeps_no_fodselsnummer(tmp_path):
    SapStub(tmp_path / "sap.db").register_new_hire(hire(), "a")
    assert b"15038510190" not in (tmp_path / "sap.db").read_bytes()


# -- withdrawing a registration -------------------------------------------------------------


def test_a_withdrawn_form_does_not_block_registering_the_person_again(tmp_path):
    sap = SapStub(tmp_path / "sap.db")
    first = sap.register_new_hire(hire(), "a")
    withdrawn = sap.cancel_registration(first.id, "withdraw-1")
    assert withdrawn.status is ApprovalState.WITHDRAWN
    assert sap.approval_status(first.id).status is ApprovalState.WITHDRAWN
    assert sap.register_new_hire(hire(), "b").id != first.id


def test_withdrawing_is_idempotent_and_a_withdrawn_form_stays_as_it_is(tmp_path):
    sap = SapStub(tmp_path / "sap.db")
    first = sap.register_new_hire(hire(), "a")
    sap.decide(first.id, approved=False, reason="feil")
    withdrawn = sap.cancel_registration(first.id, "withdraw-1")
    assert sap.cancel_registration(first.id, "withdraw-1") == withdrawn
    assert sap.cancel_registration(first.id, "withdraw-2") == withdrawn
    assert withdrawn.status is ApprovalState.WITHDRAWN and withdrawn.reason == "feil"


def test_an_approved_form_cannot_be_withdrawn(tmp_path):
    sap = SapStub(tmp_path / "sap.db")
    registration = sap.register_new_hire(hire(), "a")
    sap.decide(registration.id, approved=True)
    with pytest.raises(PayrollRejected, match="reverseres med en ny registrering"):
        sap.cancel_registration(registration.id, "withdraw-1")
    assert sap.approval_status(registration.id).status is ApprovalState.APPROVED


# -- stillingsendring --------------------------------------------------------------------------


def test_an_approved_position_change_sets_the_percentage_once_per_key(tmp_path):
    sap = with_employees(tmp_path / "sap.db", ending("05001234", None))
    form = sap.register_position_change("05001234", Decimal(60), date(2027, 1, 1), "se-1")
    assert sap.register_position_change("05001234", Decimal(60), date(2027, 1, 1), "se-1") == form
    assert len(sap.registrations()) == 1
    assert form.id.startswith("SE-") and form.status is ApprovalState.PENDING
    assert (form.type, form.stillingsprosent, form.gjelder_fra) == (
        "stillingsendring", Decimal(60), date(2027, 1, 1)
    )  # fmt: skip
    assert sap.employee("05001234").stillingsprosent == Decimal(100)
    sap.decide(form.id, approved=True)
    assert sap.employee("05001234").stillingsprosent == Decimal(60)


@pytest.mark.parametrize("percentage", [Decimal(0), Decimal(80), Decimal(90)])
def test_a_position_change_must_reduce_the_percentage(tmp_path, percentage):
    sap = with_employees(tmp_path / "sap.db", ending("05001234", None, stillingsprosent=80))
    with pytest.raises(PayrollRejected, match="stillingsprosent"):
        sap.register_position_change("05001234", percentage, date(2027, 1, 1), "se-1")
    assert sap.registrations() == []


# -- final settlements -------------------------------------------------------------------------


def settled(tmp_path: Path) -> tuple[SapStub, Settlement]:
    """An employee ending 30 June, settled with the July run."""
    sap = with_employees(tmp_path / "sap.db", ending("05001234", date(2026, 6, 30)))
    return sap, sap.register_final_settlement("05001234", JUNE_30, JULY_RUN, "so")


def test_a_cancelled_settlement_is_not_paid(tmp_path):
    sap, settlement = settled(tmp_path)
    cancelled = sap.cancel_final_settlement(settlement.id, "cancel-1")
    assert sap.cancel_final_settlement(settlement.id, "cancel-1") == cancelled
    assert cancelled.kansellert
    sap.run_payroll(JULY_RUN)
    assert not sap.settlement_status(settlement.id).utbetalt


def test_a_paid_settlement_can_be_neither_cancelled_nor_moved(tmp_path):
    sap, settlement = settled(tmp_path)
    sap.run_payroll(JULY_RUN)
    with pytest.raises(PayrollRejected, match="utbetalt og kan ikke kanselleres"):
        sap.cancel_final_settlement(settlement.id, "cancel-1")
    with pytest.raises(PayrollRejected, match="utbetalt og kan ikke flyttes"):
        sap.move_final_settlement(settlement.id, date(2026, 8, 31), date(2026, 9, 12), "move-1")
    assert sap.settlements() == [settlement.model_copy(update={"utbetalt": True})]


def test_a_cancelled_settlement_cannot_be_moved(tmp_path):
    sap, settlement = settled(tmp_path)
    sap.cancel_final_settlement(settlement.id, "cancel-1")
    with pytest.raises(PayrollRejected, match="kansellert og kan ikke flyttes"):
        sap.move_final_settlement(settlement.id, date(2026, 8, 31), date(2026, 9, 12), "move-1")


def test_a_moved_settlement_is_paid_with_the_new_run_not_the_old(tmp_path):
    sap, settlement = settled(tmp_path)
    moved = sap.move_final_settlement(settlement.id, date(2026, 8, 31), date(2026, 9, 12), "move-1")
    again = sap.move_final_settlement(
        settlement.id, date(2026, 10, 31), date(2026, 11, 12), "move-1"
    )
    assert again == moved and (moved.sluttdato, moved.utbetales) == (
        date(2026, 8, 31), date(2026, 9, 12)
    )  # fmt: skip
    sap.run_payroll(JULY_RUN)
    assert not sap.settlement_status(settlement.id).utbetalt
    sap.run_payroll(date(2026, 9, 12))
    assert sap.settlement_status(settlement.id).utbetalt


# -- stopping pay ------------------------------------------------------------------------------


def test_stopping_pay_is_idempotent_and_keeps_the_earliest_date(tmp_path):
    sap = with_employees(tmp_path / "sap.db", ending("05001234", JUNE_30))
    stopped = sap.stop_pay("05001234", date(2026, 7, 10), "stop-1")
    assert stopped.lonn_stoppet_fra == date(2026, 7, 10)
    assert sap.stop_pay("05001234", date(2026, 7, 1), "stop-1") == stopped
    assert sap.employee("05001234").lonn_stoppet_fra == date(2026, 7, 10)
    later = sap.stop_pay("05001234", date(2026, 7, 20), "stop-2")
    assert later.lonn_stoppet_fra == date(2026, 7, 10)
    earlier = sap.stop_pay("05001234", date(2026, 7, 1), "stop-3")
    assert earlier.lonn_stoppet_fra == date(2026, 7, 1) == sap.employee("05001234").lonn_stoppet_fra


def test_an_unknown_employee_can_neither_change_position_nor_have_pay_stopped(tmp_path):
    sap = SapStub(tmp_path / "sap.db")
    with pytest.raises(PayrollRejected, match="IKKE ANSATT"):
        sap.register_position_change("05009999", Decimal(50), date(2027, 1, 1), "se-1")
    with pytest.raises(PayrollRejected, match="IKKE ANSATT"):
        sap.stop_pay("05009999", date(2026, 7, 1), "stop-1")


# -- reports -----------------------------------------------------------------------------------


def test_employees_ending_takes_both_boundary_days_in_number_order(tmp_path):
    sap = with_employees(
        tmp_path / "sap.db",
        ending("05000004", date(2026, 7, 31)),
        ending("05000001", date(2026, 7, 1)),
        ending("05000002", date(2026, 6, 30)),
        ending("05000003", date(2026, 8, 1)),
        ending("05000005", None),
    )
    found = sap.employees_ending(date(2026, 7, 1), date(2026, 7, 31))
    assert [e.ansattnummer for e in found] == ["05000001", "05000004"]


def test_employees_missing_settlement_are_those_gone_without_a_live_one(tmp_path):
    today = date(2026, 7, 1)
    sap = with_employees(
        tmp_path / "sap.db",
        ending("05000006", date(2026, 6, 30)),  # ended yesterday, none: missing
        ending("05000001", today),  # ends today: not yet
        ending("05000002", date(2026, 6, 1)),  # has one: fine
        ending("05000003", date(2026, 6, 1)),  # only a cancelled one: missing
        ending("05000004", None, lonn_stoppet_fra=date(2026, 8, 1)),  # pay stopped: missing
        ending("05000005", None),  # permanent: fine
    )
    sap.register_final_settlement("05000002", date(2026, 6, 1), date(2026, 6, 12), "so-2")
    cancelled = sap.register_final_settlement(
        "05000003", date(2026, 6, 1), date(2026, 6, 12), "so-3"
    )
    sap.cancel_final_settlement(cancelled.id, "cancel-3")
    found = sap.employees_missing_settlement(today)
    assert [e.ansattnummer for e in found] == ["05000003", "05000004", "05000006"]


# -- faults ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda sap: sap.cancel_registration("NH-000001", "k"),
        lambda sap: sap.register_position_change("05001234", Decimal(50), date(2027, 1, 1), "k"),
        lambda sap: sap.cancel_final_settlement("SO-000001", "k"),
        lambda sap: sap.move_final_settlement(
            "SO-000001", date(2027, 1, 1), date(2027, 1, 12), "k"
        ),
        lambda sap: sap.stop_pay("05001234", date(2027, 1, 1), "k"),
        lambda sap: sap.employees_ending(date(2027, 1, 1), date(2027, 1, 31)),
        lambda sap: sap.employees_missing_settlement(date(2027, 1, 1)),
    ],
)
def test_a_fault_makes_each_new_call_unavailable_and_changes_nothing(tmp_path, call):
    sap = with_employees(tmp_path / "sap.db", ending("05001234", None))
    sap.inject_fault("unavailable")
    with pytest.raises(PayrollUnavailable):
        call(sap)
    assert sap.employee("05001234") == ending("05001234", None)
    assert sap.registrations() == [] and sap.settlements() == []
