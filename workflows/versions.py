"""The versions of the workflows' routines that running cases predate.

A case waits for weeks, so a change to what a workflow does (an activity, a timer, an upsert, their
order) meets cases that started under the old routine. Each such change asks `workflow.patched`
whether this run takes it; here each is asked in one function that says what changed. The ids are
written into histories: never rename one.
"""

from __future__ import annotations

from datetime import date

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.calendar_day import norwegian_day

ESCALATION_LADDER = "escalation-ladder"
READ_BEFORE_WORKING = "read-before-working"
HINT_BEFORE_WAIT = "approval-hint-before-wait"
UNDO_ON_WITHDRAWAL = "undo-on-withdrawal"
STUCK_CASE_RADAR = "stuck-case-radar"
HAND_OFF = "hand-off-wrong-category"
SETTLEMENT_LETTER_AND_SPK = "settlement-letter-and-spk"
SETTLEMENT_END_DATE_MOVE = "settlement-end-date-move"
EXTENSION_END_DATE_MOVE = "extension-end-date-move"
EXTENSION_CONFIRMATION = "extension-confirmation"
NORWEGIAN_TODAY = "norwegian-today"
SUMMER_RULE = "summer-rule"
NEEDS_OPERATOR = "needs-operator"
UNCHANGED_AFTER_REJECTION = "unchanged-after-rejection"
SETTLEMENT_LATE_NOTICE = "settlement-late-notice"


def escalates_undecided_manager() -> bool:
    """A manager who has not decided escalates the case (seed 000) instead of leaving one
    reminder note."""
    return workflow.patched(ESCALATION_LADDER)


def reads_before_working() -> bool:
    """After asking the caller, the case is read before it is shown "I arbeid" again; cases
    started before wrote the status first, which reopened a case the caller had just closed."""
    return workflow.patched(READ_BEFORE_WORKING)


def keeps_early_hint() -> bool:
    """A DFØ hint that came while the registration was still being written (the manager
    approved at once) counts when the wait begins; before, it was dropped, and the case waited
    for the next daily look at SAP."""
    return workflow.patched(HINT_BEFORE_WAIT)


def undoes_on_withdrawal() -> bool:
    """A withdrawn case takes back what was registered; cases started before ended without a
    word to SAP."""
    return workflow.patched(UNDO_ON_WITHDRAWAL)


def answers_radar() -> bool:
    """A case answers the stuck-case radar; a worker from before the radar took its signal
    without a handler (no commands), and replaying that must not now escalate."""
    return workflow.patched(STUCK_CASE_RADAR)


def hands_off_wrong_category() -> bool:
    """A case of another category goes to its own process."""
    return workflow.patched(HAND_OFF)


def settlement_letter_and_spk() -> bool:
    """A final settlement sends the termination letter, the SPK message on death, and asks for
    the manager's name the letter needs."""
    return workflow.patched(SETTLEMENT_LETTER_AND_SPK)


def settlement_follows_end_date() -> bool:
    """A new end date written while the settlement is on hold moves the settlement; cases
    started before only noted it."""
    return workflow.patched(SETTLEMENT_END_DATE_MOVE)


def extension_follows_end_date() -> bool:
    """A new end date written while the manager decides is registered anew."""
    return workflow.patched(EXTENSION_END_DATE_MOVE)


def extension_confirms() -> bool:
    """The employee gets the standard confirmation letter once the extension is approved."""
    return workflow.patched(EXTENSION_CONFIRMATION)


def waits_for_operator() -> bool:
    """A system's refusal in the middle of a case waits for an operator (`needs_operator`);
    cases started before failed there. Asked only when a refusal comes."""
    return workflow.patched(NEEDS_OPERATOR)


def asks_again_when_unchanged() -> bool:
    """A reply to the manager's rejection that changes nothing registered is asked again;
    cases started before registered it again. Asked only when a reply changed nothing."""
    return workflow.patched(UNCHANGED_AFTER_REJECTION)


def warns_of_late_notice() -> bool:
    """A final settlement that ends a temporary employment of more than a year less than a
    month ahead warns the unit (seed 001); cases started before registered it without a word.
    Asked only when the warning applies, so other cases carry no marker."""
    return workflow.patched(SETTLEMENT_LATE_NOTICE)


def waits_through_summer() -> bool:
    """A wait for the caller that the summer period touches shows "På vent" in the period and
    never closes (seed 002); cases asked before ran to their last day and closed. Asked only
    for a wait the period touches, so other cases carry no marker."""
    return workflow.patched(SUMMER_RULE)


def today() -> date:
    """The day in Norway, for a rule whose answer decides what the workflow does next (a form
    refused, a warning sent). Cases started before judged the UTC day, which differs only from
    midnight to 01:00 (02:00 in summer) in Norway; the patch is asked only then, so only a case
    that meets that hour carries its marker."""
    now = workflow.now()
    if norwegian_day(now) == now.date() or workflow.patched(NORWEGIAN_TODAY):
        return norwegian_day(now)
    return now.date()
