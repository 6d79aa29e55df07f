"""Internal leave ("Intern permisjon", seed 001): leave from one's position to work in another
position at NTNU, which the employee applies for in NTNU Hjelp because the DFØ portal has no such
leave type.

Rules:
- seed 001, "Intern permisjon": the centre checks the application and gives the manager advice, a
  basis for the decision; the manager decides, under the employer's right to manage and by the
  unit's needs, so saksflyt never decides; the employee gets the answer in the case; the centre
  files the documentation in the personnel file in ePhorte;
- what the centre checks (the conditions it can see): the application names the employee, the
  leave period, the other position at NTNU and the manager who decides; the employee is in SAP;
  the period runs forwards and, in a temporary position, ends by its end date (there is no
  position to take leave from after it); an hourly, monthly or assignment contract from TOA has
  no position to take leave from;
- the manager is reached in NTNU Hjelp: the centre opens a case to the manager (category
  `MANAGER_CATEGORY`, its external number the application's case number, so that its events reach
  the application's workflow) with the advice, and the manager answers there. The manager's own
  case, not the application, carries the answer: the employee cannot answer for the manager.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from pydantic import BaseModel

from domain import identifiers
from domain.cases import CaseOutcome, CaseTimings
from domain.employment import Employment
from domain.forms import Field, FormSpec, InvalidAnswer, format_date, parse_date, text

CATEGORY = "Intern permisjon"
MANAGER_CATEGORY = "Intern permisjon, leders vedtak"

RECEIVED_REPLY = (
    "Vi har mottatt søknaden om intern permisjon og kontrollerer den nå. Deretter sender vi den "
    "til lederen din med vår vurdering. Du får svaret her i saken."
)
WAITING_FOR_MANAGER = "venter på leders vedtak i NTNU Hjelp"


def email(value: str) -> str:
    """An e-mail address, which NTNU Hjelp reaches the manager by."""
    address = value.strip()
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address):
        raise InvalidAnswer("må være en e-postadresse, for eksempel ola.leder@ntnu.no")
    return address


class LeaveApplication(BaseModel):
    name: str
    employee_number: str
    from_date: date
    to_date: date
    new_position: str
    manager: str
    manager_email: str
    unit: str | None = None


class LeaveCheck(BaseModel):
    application: LeaveApplication | None = None
    problems: list[str] = []


FORM = FormSpec(
    {
        "name": Field("Navn", text, ("Navn på ansatt",), required=True),
        "employee_number": Field(
            "Ansattnummer", identifiers.employee_number, ("Ansattnr",), required=True
        ),
        "from_date": Field(
            "Permisjon fra", parse_date, ("Fra dato", "Fra"), required=True,
            why_required="Oppgi første dag i permisjonen.",
        ),
        "to_date": Field(
            "Permisjon til", parse_date, ("Til dato", "Til"), required=True,
            why_required="Oppgi siste dag i permisjonen; intern permisjon gis for en bestemt "
            "periode.",
        ),
        "new_position": Field(
            "Ny stilling", text, ("Annen stilling", "Stilling ved NTNU"), required=True,
            why_required="Oppgi stillingen ved NTNU du skal jobbe i (tittel og enhet).",
        ),
        "manager": Field(
            "Leder", text, ("Nærmeste leder", "Leders navn"), required=True,
            why_required="Lederen din avgjør søknaden.",
        ),
        "manager_email": Field(
            "Leders e-post", email, ("E-post til leder",), required=True,
            why_required="Vi sender søknaden til lederen din i NTNU Hjelp på denne adressen.",
        ),
        "unit": Field("Enhet", text),
    }
)  # fmt: skip


def check_application(texts: Iterable[str]) -> LeaveCheck:
    """What the application says, or what is missing or wrong in it, each in words for the
    caller. The newest answer to a field counts (a reply corrects the application)."""
    values, problems = FORM.read(texts)
    if problems:
        return LeaveCheck(problems=problems)
    application = LeaveApplication.model_validate(values)
    if application.to_date < application.from_date:
        return LeaveCheck(
            problems=[
                f"Permisjon til ({format_date(application.to_date)}) er før Permisjon fra "
                f"({format_date(application.from_date)}). Oppgi perioden på nytt."
            ]
        )
    return LeaveCheck(application=application)


def leave_problems(application: LeaveApplication, employment: Employment) -> list[str]:
    """What stops this leave from this employment, in words for the caller."""
    end = employment.end_date
    if end is not None and application.to_date > end:
        return [
            f"Stillingen din er midlertidig og slutter {format_date(end)}, så permisjonen kan "
            f"ikke vare lenger enn dit. Oppgi Permisjon til senest {format_date(end)}."
        ]
    if application.from_date < employment.start_date:
        return [
            f"Permisjonen kan ikke begynne før du tiltrer stillingen "
            f"{format_date(employment.start_date)}. Oppgi Permisjon fra på nytt."
        ]
    return []


TOA_REFUSAL = (
    "Du er ansatt på timelønn, månedslønn eller oppdrag (Tilsetting og arbeidskontrakt), og har "
    "derfor ingen stilling å ta permisjon fra. Avtal det nye arbeidet med lederen din. Saken er "
    "avsluttet."
)


def advice(application: LeaveApplication, employment: Employment) -> str:
    """The centre's advice to the manager, the basis for the decision (seed 001, step 2), and
    how to answer so that saksflyt can read it."""
    end = employment.end_date
    position = f"midlertidig til {format_date(end)}" if end else "fast"
    percentage = f"{employment.position_percentage.normalize():f} %"
    return (
        f"{application.name} (ansattnummer {application.employee_number}) søker om intern "
        f"permisjon fra {format_date(application.from_date)} til "
        f"{format_date(application.to_date)} for å jobbe som {application.new_position}.\n\n"
        "Tjenestesenterets vurdering: søknaden er komplett, og perioden ligger innenfor "
        f"arbeidsforholdet i SAP ({position} stilling, {percentage}"
        f"{', ' + employment.unit if employment.unit else ''}). Om permisjonen skal innvilges, "
        "avgjør du som leder ut fra enhetens tjenstlige behov (arbeidsgivers styringsrett). "
        "Vurder også hvordan arbeidet skal dekkes i perioden.\n\n"
        "Svar her i saken med «Innvilget», eller «Avslått:» fulgt av begrunnelsen, som den "
        "ansatte får se."
    )


class ManagerDecision(BaseModel):
    granted: bool
    reason: str = ""


class ManagerAnswer(BaseModel):
    """What the manager's newest reply says: a decision, or nothing saksflyt can act on."""

    decision: ManagerDecision | None = None
    unclear: bool = False  # the manager wrote, but neither granted nor gave a reasoned refusal


_GRANTED = re.compile(r"^\s*(innvilget|innvilges|godkjent|godkjennes|ja)\b", re.IGNORECASE)
_REFUSED = re.compile(r"^\s*(avslått|avslås|avslag|nei)\b[\s:.,-]*", re.IGNORECASE)


def read_answer(replies: list[str]) -> ManagerAnswer:
    """The manager's decision in the newest of their replies; a refusal needs its reason, for
    the employee is told why."""
    if not replies:
        return ManagerAnswer()
    newest = replies[-1].strip()
    if _GRANTED.match(newest):
        return ManagerAnswer(decision=ManagerDecision(granted=True))
    refused = _REFUSED.match(newest)
    if refused and newest[refused.end() :].strip():
        reason = newest[refused.end() :].strip()
        return ManagerAnswer(decision=ManagerDecision(granted=False, reason=reason))
    return ManagerAnswer(unclear=True)


UNCLEAR_ANSWER = (
    "Vi kunne ikke lese et vedtak i svaret ditt. Svar med «Innvilget», eller med «Avslått:» "
    "fulgt av begrunnelsen, som den ansatte får se."
)


def manager_reminder(days: int) -> str:
    return (
        f"Påminnelse: søknaden om intern permisjon har ventet på ditt vedtak i {days} dager. "
        "Svar her i saken med «Innvilget», eller «Avslått:» fulgt av begrunnelsen."
    )


def manager_overdue(days: int) -> str:
    return (
        f"Leder har ikke svart på søknaden om intern permisjon etter {days} dager. Purr på leder."
    )


MANAGER_CLOSED = (
    "Leder har lukket saken med søknaden om intern permisjon uten å svare. Kontakt leder; "
    "søknaden venter fortsatt på vedtak."
)
EMPLOYEE_WROTE = (
    "Den ansatte har skrevet i saken mens søknaden om intern permisjon ligger hos leder. "
    "Se svaret; vurder om leder må få vite det."
)
WITHDRAWN_FOR_MANAGER = (
    "Den ansatte har trukket søknaden om intern permisjon. Du trenger ikke gjøre noe mer."
)


def thanks_to_manager(decision: ManagerDecision, case_number: str) -> str:
    word = "innvilget" if decision.granted else "avslått"
    return (
        f"Takk. Den ansatte har fått svar i sak {case_number} om at søknaden er {word}, og "
        "dokumentasjonen lagres i personalmappen. Saken er fullført."
    )


def answer(application: LeaveApplication, decision: ManagerDecision) -> str:
    """The answer to the employee (seed 001, step 4)."""
    period = f"{format_date(application.from_date)} til {format_date(application.to_date)}"
    if decision.granted:
        return (
            f"Lederen din har innvilget søknaden om intern permisjon {period} for å jobbe som "
            f"{application.new_position}."
        )
    return (
        f"Lederen din har avslått søknaden om intern permisjon {period}. Begrunnelse: "
        f"{decision.reason}"
    )


def documentation(
    application: LeaveApplication, advice_text: str, decision: ManagerDecision
) -> str:
    """What is filed in the personnel file (seed 001, step 5): the application, the centre's
    advice and the manager's decision."""
    verdict = "Innvilget" if decision.granted else f"Avslått. Begrunnelse: {decision.reason}"
    return (
        f"Søknad om intern permisjon\nNavn: {application.name}\n"
        f"Ansattnummer: {application.employee_number}\n"
        f"Periode: {format_date(application.from_date)} til {format_date(application.to_date)}\n"
        f"Ny stilling: {application.new_position}\nLeder: {application.manager}\n\n"
        f"Tjenestesenterets råd til leder:\n{advice_text}\n\nLeders vedtak: {verdict}\n"
    )


def document_title(decision: ManagerDecision) -> str:
    return "Intern permisjon: " + ("innvilget" if decision.granted else "avslått")


def filed_reply(journal_post: str) -> str:
    return (
        "Søknaden, vår vurdering og leders vedtak er lagret i personalmappen din i ePhorte "
        f"(journalpost {journal_post}). Saken er fullført."
    )


class InternalLeaveInput(BaseModel):
    case_number: str
    timings: CaseTimings = CaseTimings()


class InternalLeaveResult(BaseModel):
    case_number: str
    outcome: CaseOutcome
    granted: bool | None = None
    manager_case: str | None = None
    journal_post: str | None = None
