"""An employment as SAP has it: what every process looks up before it acts on an employee."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel


class Employment(BaseModel):
    """The employment as SAP has it; `end_date` is None for a permanent position.

    `toa` marks a contract from "Tilsetting og arbeidskontrakt" (hourly, monthly or assignment),
    whose terminations do not follow the service centre's routines (seed 001); `other_position`
    says the employee continues in another position at NTNU.
    """

    employee_number: str
    start_date: date
    end_date: date | None
    name: str = ""
    unit: str | None = None
    unit_email: str | None = None
    position_percentage: Decimal = Decimal(100)
    toa: bool = False
    other_position: bool = False
    pay_stopped_from: date | None = None
    employee_key: str | None = None  # a pseudonym for visibility, set by the activity
