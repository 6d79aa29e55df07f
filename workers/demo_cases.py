"""The demo's cases: what the people of `make run` send and answer, one `DemoCase` each.

Apart from `workers/demo.py`, which plays them through the running stack, so that a case is added
or changed here without reading how the demo follows cases.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from stdnum.no import fodselsnummer

from domain.cases import WaitState
from domain.processes import EMPLOYMENT_CHANGE, INTERNAL_LEAVE, NEW_HIRE, Process


@dataclass
class DemoCase:
    title: str
    changes: dict[str, str]  # label → value (None-like "" removes the line)
    process: Process = NEW_HIRE
    form: str | None = None  # the whole form, for a process other than the new hire
    manager_answer: str | None = None  # written in the case the centre opens to the manager
    answers: list[str] = field(default_factory=list)  # the caller's replies when asked
    change_while_approving: str | None = None  # what the caller writes while the manager decides
    decisions: list[tuple[bool, str | None]] = field(default_factory=lambda: [(True, None)])
    expected: str = "registered"
    number: str = ""
    workflow_id: str = ""
    settles_in: WaitState | None = None  # a case that settles in a wait state, not at its end
    seen: tuple[WaitState, str] | None = None
    outcome: str | None = None


def demo_cases() -> list[DemoCase]:
    return [
        DemoCase("komplett skjema", {}),
        DemoCase(
            "mangler kontonummer",
            {"Kontonummer": ""},
            answers=["Beklager, her er det:\nKontonummer: 8601 11 17947"],
        ),
        DemoCase("timelønn hører til TOA", {"Lønnsform": "Timelønn"}, expected="refused"),
        DemoCase("startdato flyttes underveis", {}, change_while_approving="Startdato: 01.04.2027"),
        DemoCase(
            "leder avviser først",
            {},
            answers=["Stillingsprosent: 80"],
            decisions=[(False, "Stillingsprosenten skal være 80"), (True, None)],
        ),
        DemoCase(
            "fast tillegg registreres",
            {},
            process=EMPLOYMENT_CHANGE,
            form=DEMO_EMPLOYEE_FORM.format(
                "Endringstype: Faste tillegg\nTillegg: Funksjonstillegg\nBeløp: 30 000"
            ),
        ),
        DemoCase(
            "intern permisjon innvilges",
            {},
            process=INTERNAL_LEAVE,
            form=DEMO_EMPLOYEE_FORM.format(
                "Permisjon fra: 01.03.2027\nPermisjon til: 28.02.2028\n"
                "Ny stilling: Prosjektleder, Institutt for datateknologi og informatikk\n"
                "Leder: Ola Leder\nLeders e-post: ola.leder@ntnu.no"
            ),
            manager_answer="Innvilget",
            expected="decided",
        ),
    ]


# An employee SAP knows (`Demo._hire`), for the forms of processes other than the new hire.
DEMO_EMPLOYEE_FORM = "Navn: Kari Nordmann\nAnsattnummer: {{employee}}\nFra dato: 01.03.2027\n{}"


def demo_form(changes: dict[str, str]) -> str:
    """A form for a made-up person with a valid, fresh fødselsnummer each run."""
    fields = {
        "Navn": random.choice(["Kari Nordmann", "Ola Hansen", "Ingrid Berg", "Nils Dahl"]),
        "Fødselsnummer": _made_up_national_id(),
        "Startdato": "01.02.2027",
        "Kontonummer": "8601 11 17947",
        "ePhorte-nummer": f"2026/{random.randint(10000, 99999)}",
        "Lønnsform": "Månedslønn",
        "Stillingsprosent": "100",
        "Enhet": "Institutt for datateknologi og informatikk",
    }
    fields.update(changes)
    return "<br>".join(f"{label}: {value}" for label, value in fields.items() if value)


def _made_up_national_id() -> str:
    while True:
        base = f"{random.randint(1, 28):02d}{random.randint(1, 12):02d}{random.randint(60, 99)}"
        base += f"{random.randint(0, 499):03d}"
        first = fodselsnummer.calc_check_digit1(base)
        second = fodselsnummer.calc_check_digit2(base + first)
        if len(first) == 1 and len(second) == 1:
            return base + first + second
