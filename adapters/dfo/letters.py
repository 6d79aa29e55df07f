"""Standard letters from the service centre, rendered from the templates in `templates/`.

Seed 001 names three: the standard termination letter "inkludert sjekkliste ved fratreden" and the
standard pension letter, both "til ansatt med leder på kopi", and (issue 3) a confirmation that an
extension is registered; the extension letter itself is the unit's (seed 001, "Forlengelse").
The text lives in the templates so that the centre can change wording without touching code; the
code only fills in fields and refuses a letter with a hole in it, naming the missing field so the
workflow can ask for exactly that. Rendering is pure: the date on the letter is a field, never
the clock.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from importlib.resources import files
from string import Template

from pydantic import BaseModel

from domain.letters import LetterFields, LetterKind
from domain.pension import PensionType

# Seed 001, "Fratredelse ved oppsigelse", "Annen fratredelse", "Pensjon" and "Endre lønn": "med
# leder på kopi".
COPY_TO_MANAGER = frozenset({LetterKind.TERMINATION, LetterKind.PENSION, LetterKind.SALARY})


class LetterError(Exception):
    """The letter cannot be made as asked; `field` names what is missing or wrong."""

    def __init__(self, kind: LetterKind, field: str, problem: str = "mangler") -> None:
        super().__init__(f"Brevet «{kind}» kan ikke lages: feltet «{field}» {problem}.")
        self.kind = kind
        self.field = field


class Letter(BaseModel):
    tittel: str
    mottaker: str
    kopi_til: str | None
    tekst: str


_PENSION_NAMES = {
    PensionType.RETIREMENT: "alderspensjon",
    PensionType.AFP: "avtalefestet pensjon (AFP)",
    PensionType.DISABILITY: "uførepensjon",
}

# Seed 001, "Pensjon": full pension ends the position with a final settlement; partial pension
# means resigning part of it, registered in SAP, with a partial final settlement.
_POSITION_CHANGE = {
    True: "Stillingen din avsluttes, og sluttoppgjøret utbetales måneden etter siste arbeidsdag.",
    False: (
        "Ved delvis pensjon sier du opp en del av stillingen din. Tjenestesenteret registrerer "
        "den nye stillingsandelen i lønnssystemet, og delvis sluttoppgjør utbetales."
    ),
}

# A value the code derives, and the field the caller must give for it.
_DERIVED_FROM = {"stillingsendring": "uttaksgrad"}


def render_letter(kind: LetterKind, fields: LetterFields) -> Letter:
    """Fill in the template for `kind`; its first line is the title, the rest the text."""
    if kind is LetterKind.PENSION and fields.pensjonstype is PensionType.DEATH:
        raise LetterError(kind, "pensjonstype", "er dødsfall, og da sendes ikke pensjonsbrev")
    values = _values(fields)
    # The addressee and, where seed 001 says so, the manager in copy, whatever the template prints.
    for needed in ("navn", "leder") if kind in COPY_TO_MANAGER else ("navn",):
        if needed not in values:
            raise LetterError(kind, needed)
    try:
        rendered = _template(kind).substitute(values)
    except KeyError as missing:
        field = str(missing.args[0])
        raise LetterError(kind, _DERIVED_FROM.get(field, field)) from None
    title, _, text = rendered.partition("\n")
    return Letter(
        tittel=title.strip(),
        mottaker=values["navn"],
        kopi_til=values["leder"] if kind in COPY_TO_MANAGER else None,
        tekst=text.strip() + "\n",
    )


def _values(fields: LetterFields) -> dict[str, str]:
    """The fields as the letter prints them; an empty field is left out, so it counts as missing."""
    values: dict[str, str] = {}
    for name, value in fields.model_dump().items():
        if isinstance(value, date):
            values[name] = value.strftime("%d.%m.%Y")
        elif isinstance(value, PensionType):
            values[name] = _PENSION_NAMES.get(value, value.value)
        elif value is not None and str(value).strip():
            values[name] = str(value).strip()
    if fields.uttaksgrad is not None:
        values["stillingsendring"] = _POSITION_CHANGE[fields.uttaksgrad >= 100]
    return values


@cache
def _template(kind: LetterKind) -> Template:
    """The package's own template, read once; it is data shipped with the code, not user input."""
    path = files("adapters.dfo").joinpath("templates").joinpath(f"{kind.value}.txt")
    return Template(path.read_text(encoding="utf-8"))


__all__ = [
    "COPY_TO_MANAGER",
    "Letter",
    "LetterError",
    "LetterFields",
    "LetterKind",
    "render_letter",
]
