"""Other changes to an employment as SAP's forms take them ("Andre endringer arbeidsforhold",
seed 001): the change in DFØ's terms, what SAP refuses, and what an approved change does to the
employee. The SAP stub (`adapters/dfo/sap.py`) keeps them durable with the other forms.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from domain.employment_change import EmploymentChangeForm

if TYPE_CHECKING:
    from adapters.dfo.sap import Employee

# Seed 001, "Endre organisasjonsenhet": "Det er ikke mulig å ha flere enn to arbeidsforhold i SAP."
MAX_EMPLOYMENTS = 2


class Endring(BaseModel):
    """One change on SAP's form: its kind, its period and the new value. `til_godkjenning`: the
    form goes to the manager first; otherwise it takes effect when registered."""

    type: str
    gjelder_fra: date
    gjelder_til: date | None = None
    til_godkjenning: bool = True
    kontering: str | None = None
    stillingsprosent: Decimal | None = None
    varig: bool | None = None
    delvis_sluttoppgjor: date | None = None  # the payroll run that pays it
    organisasjon: str | None = None
    andel_flyttes: Decimal | None = None
    lonnsavtale: str | None = None
    lonnstrinn: int | None = None
    arslonn: Decimal | None = None
    arbeidsland: str | None = None
    tillegg: str | None = None
    belop: Decimal | None = None

    @classmethod
    def of(cls, form: EmploymentChangeForm, settlement_run: date | None) -> Endring:
        return cls(
            type=form.kind.value,
            gjelder_fra=form.from_date,
            gjelder_til=form.to_date,
            til_godkjenning=form.kind.needs_approval,
            kontering=form.cost_allocation,
            stillingsprosent=form.share,
            varig=form.lasting,
            delvis_sluttoppgjor=settlement_run,
            organisasjon=form.unit,
            andel_flyttes=form.moved_share,
            lonnsavtale=form.pay_scheme.value if form.pay_scheme else None,
            lonnstrinn=form.grade,
            arslonn=form.annual_salary,
            arbeidsland=form.country,
            tillegg=form.allowance,
            belop=form.amount,
        )

    def moves_part(self, employee: Employee) -> bool:
        """A unit change for part of the position: the part becomes a second employment."""
        moved = self.andel_flyttes or employee.stillingsprosent
        return self.type == "organisasjonsenhet" and moved < employee.stillingsprosent


def refusal(employee: Employee, endring: Endring) -> str | None:
    """Why SAP would not take the change for this employee, or None."""
    if endring.type == "lønn" and endring.lonnsavtale != employee.lonnsavtale:
        return (
            f"Den ansatte følger avtalen om {employee.lonnsavtale} i SAP, ikke "
            f"{endring.lonnsavtale}. Oppgi ny lønn etter den ansattes avtale."
        )
    if endring.moves_part(employee) and employee.arbeidsforhold >= MAX_EMPLOYMENTS:
        return (
            "Den ansatte har allerede to arbeidsforhold i SAP, og flere er ikke mulig. Avslutt "
            "ett av dem først, eller flytt hele stillingen."
        )
    return None


def applied(employee: Employee, endring: Endring) -> dict[str, Any]:
    """What the change does to the employee once it takes effect: the fields that change."""
    if endring.type == "stillingsandel":
        return {"stillingsprosent": endring.stillingsprosent}
    if endring.type == "organisasjonsenhet" and endring.moves_part(employee):
        return {"arbeidsforhold": employee.arbeidsforhold + 1}
    if endring.type == "organisasjonsenhet":  # the whole position: a new main position there
        return {"organisasjon": endring.organisasjon}
    return {}
