"""Portal activities: forms employees submit in DFØ's self-service portal, via the portal port."""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import activity

from activities.errors import final_errors
from adapters.dfo.portal import PortalPort, PortalRejected
from domain.resignation import SubmittedResignation

# The error type a workflow sees when the portal has no such form.
NO_SUCH_FORM = PortalRejected.__name__


class FormRef(BaseModel):
    form_id: str


class PortalActivities:
    def __init__(self, portal: PortalPort) -> None:
        self.portal = portal

    @activity.defn(name="portal.resignation")
    def resignation(self, ref: FormRef) -> SubmittedResignation:
        """Read the resignation form: the webhook only named it. An unknown id is final."""
        with final_errors(PortalRejected):
            form = self.portal.resignation(ref.form_id)
        return SubmittedResignation(
            form_id=form.id,
            employee_number=form.ansattnummer,
            name=form.navn,
            email=form.epost,
            last_day=form.siste_arbeidsdag,
            submitted=form.innsendt,
            text=form.tekst,
            manager=form.leder,
        )
