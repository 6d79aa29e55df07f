"""The standard letters as the workflows ask for them: which letter, and the fields to fill in.

Rendering them from the templates is the archive adapter's (`adapters/dfo/letters.py`).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel

from domain.pension import PensionType


class LetterKind(StrEnum):
    TERMINATION = "fratredelse"
    PENSION = "pensjon"
    EXTENSION = "forlengelse"
    SALARY = "lonn"


class LetterFields(BaseModel):
    """Everything a letter may need; each template takes what it uses and a letter that needs a
    field left empty is refused. `leder` is the manager's name, put in copy where seed 001 says."""

    navn: str | None = None
    ansattnummer: str | None = None
    dato: date | None = None
    saksnummer: str | None = None
    leder: str | None = None
    sluttdato: date | None = None
    arsak: str | None = None
    fradato: date | None = None
    pensjonstype: PensionType | None = None
    uttaksgrad: int | None = None
    ny_sluttdato: date | None = None
    ny_lonn: str | None = None  # "lønnstrinn 62" or "årslønn 650 000 kr", on the agreement
