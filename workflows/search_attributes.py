"""Custom search attributes: how case handlers find cases with the stock Temporal tools.

`temporal workflow list --query "WaitState='awaiting_caller'"` works once these are registered
(`saksflyt dev` does it; on a cluster, `temporal operator search-attribute create`). They are
indexed in clear text, so no personal data ever goes into one.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

PROCESS = SearchAttributeKey.for_keyword("Process")
CASE_NUMBER = SearchAttributeKey.for_keyword("CaseNumber")
WAIT_STATE = SearchAttributeKey.for_keyword("WaitState")
WAITING_SINCE = SearchAttributeKey.for_datetime("WaitingSince")
DUE_DATE = SearchAttributeKey.for_datetime("DueDate")
ESCALATION_LEVEL = SearchAttributeKey.for_int("EscalationLevel")

ALL = (PROCESS, CASE_NUMBER, WAIT_STATE, WAITING_SINCE, DUE_DATE, ESCALATION_LEVEL)
