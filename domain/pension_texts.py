"""What a pension case tells its caller and its case handler, and the SPK message and the case
confirmation as filed in the personnel file (`domain.pension` has the form and the rules)."""

from __future__ import annotations

from datetime import date

from domain.forms import format_date
from domain.pension import (
    OperatorOverride,
    PensionForm,
    PensionKind,
    last_working_day,
    spk_on_time_by,
    spk_opens,
)

RECEIVED_REPLY = (
    "Vi har mottatt skjemaet om pensjon og behandler saken nå. Du får svar her i saken når "
    "pensjonsmeldingen er sendt til Statens pensjonskasse (SPK), eller straks hvis vi trenger "
    "mer fra deg."
)

SPK = "Statens pensjonskasse (SPK)"
SPK_NAMES = {PensionKind.RETIREMENT: "alderspensjon", PensionKind.AFP: "AFP"}


def on_hold_reply(from_date: date, opens: date, moved: bool) -> str:
    """Seed 000: a case on hold tells why, and the day it is taken up again."""
    changed = f"Vi har registrert ny pensjonsdato {format_date(from_date)}. " if moved else ""
    return (
        f"{changed}{SPK} tar imot pensjonsmeldingen tidligst fire måneder før pensjonen starter "
        f"{format_date(from_date)}. Saken står derfor på vent til {format_date(opens)}; da tar "
        "vi den opp igjen og sender meldingen. Du trenger ikke gjøre noe i mellomtiden."
    )


def on_hold_detail(opens: date) -> str:
    return f"venter til SPK tar imot pensjonsmeldingen {format_date(opens)}"


def message_resent_reply(from_date: date) -> str:
    return (
        f"Vi har registrert ny pensjonsdato {format_date(from_date)}. Den forrige "
        f"pensjonsmeldingen er trukket, og ny melding er sendt til {SPK}. Du får et nytt "
        "pensjonsbrev."
    )


def late_warning(from_date: date) -> str:
    return (
        f"Merk: Pensjonen starter {format_date(from_date)}, mindre enn to måneder fra i dag. "
        f"{SPK} skal ha pensjonsmeldingen senest {format_date(spk_on_time_by(from_date))} for å "
        "kunne love utbetaling fra pensjonsdatoen. Vi sender meldingen nå, men SPK rekker "
        "kanskje ikke å utbetale pensjonen i tide."
    )


def late_note(from_date: date, receipt_id: str) -> str:
    return (
        f"Pensjonsmeldingen {receipt_id} er sendt mindre enn to måneder før pensjonsdatoen "
        f"{format_date(from_date)}. Følg opp med SPK at pensjonen utbetales i tide."
    )


def override_note(override: OperatorOverride, from_date: date) -> str:
    return (
        f"Pensjonsmeldingen sendes før {format_date(spk_opens(from_date))} (fire måneder før "
        f"pensjonsdatoen {format_date(from_date)}) etter overstyring av {override.operator}: "
        f"{override.reason.rstrip('.')}."
    )


def spk_refused_problem(reason: str) -> str:
    return f"SPK avviste pensjonsmeldingen: {reason.rstrip('.')}. Rett opplysningene i saken."


def withdrawn_note(receipt_id: str, old: date, new: date) -> str:
    return (
        f"Pensjonsmeldingen {receipt_id} for pensjonsdato {format_date(old)} er trukket hos SPK, "
        f"fordi skjemaet er endret (pensjonsdato nå {format_date(new)})."
    )


def spk_message_text(form: PensionForm, receipt_id: str, sent: date, case_number: str) -> str:
    """The SPK message as filed in the personnel file: what was sent, and SPK's receipt."""
    lines = [
        f"Pensjonsmelding til {SPK}",
        f"Kvittering fra SPK: {receipt_id}",
        f"Sendt: {format_date(sent)}",
        f"Navn: {form.name}",
        f"Ansattnummer: {form.employee_number}",
        f"Pensjonstype: {SPK_NAMES[form.kind]}",
        f"Uttaksgrad: {form.percentage} %",
        f"Fra dato: {format_date(form.from_date)}",
    ]
    if form.full:
        lines.append(f"Siste dag i stillingen: {format_date(last_working_day(form))}")
    else:
        lines.append(f"Ny stillingsprosent: {form.new_position} %")
    lines.append(f"Sak i NTNU Hjelp: {case_number}")
    return "\n".join(lines) + "\n"


def confirmation_text(form: PensionForm, case_number: str, receipt_id: str) -> str:
    """The case confirmation from NTNU Hjelp, as filed in the personnel file."""
    return (
        f"Bekreftelse fra NTNU Hjelp, sak {case_number}\n"
        f"{form.name} (ansattnummer {form.employee_number}) har meldt overgang til "
        f"{SPK_NAMES[form.kind]} med uttaksgrad {form.percentage} % fra "
        f"{format_date(form.from_date)}. Pensjonsmelding er sendt til SPK ({receipt_id}), og "
        f"pensjonsbrev er sendt med {form.manager} på kopi.\n"
    )


def full_pension_reply(form: PensionForm) -> str:
    return (
        f"Pensjonsmeldingen er sendt til {SPK}, og pensjonsbrevet er sendt til deg med "
        f"{form.manager} på kopi og lagret i personalmappen din. Siste dag i stillingen er "
        f"{format_date(last_working_day(form))}; vi registrerer nå sluttoppgjøret i SAP."
    )


def partial_pension_reply(form: PensionForm) -> str:
    return (
        f"Pensjonsmeldingen er sendt til {SPK}, og pensjonsbrevet er sendt til deg med "
        f"{form.manager} på kopi og lagret i personalmappen din. Ny stillingsprosent "
        f"{form.new_position} % fra {format_date(form.from_date)} er registrert i SAP og "
        "godkjent av leder. Saken er fullført."
    )


def filed_stays_note(journal_posts: list[str]) -> str:
    return (
        "Pensjonsbrevet, pensjonsmeldingen og bekreftelsen er allerede lagret i personalmappen "
        f"({', '.join(journal_posts)}) og blir stående, da journalposter ikke kan trekkes. Gi "
        "den ansatte og lederen beskjed om at pensjoneringen er trukket."
    )


def unanswered_note(receipt_id: str) -> str:
    return (
        f"Saken er lukket uten svar fra innmelder, men pensjonsmeldingen {receipt_id} hos SPK "
        "står fortsatt. Avklar med den ansatte om den skal trekkes, og om stillingen skal endres."
    )


def change_not_used_reply(problems: list[str]) -> str:
    return "Endringen kunne ikke brukes: " + " ".join(problems)
