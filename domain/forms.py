"""Reading a TOPdesk self-service form out of a case's text.

A TOPdesk form delivers its answers as one `Label: value` line per field in the case's request
text. Callers who correct something answer in the case the same way (`Kontonummer: 1234 56 78901`),
so the form is the request text followed by the caller's replies, and a later answer to a label
replaces an earlier one. Each process has its own label table; this module only knows how to read
lines and values, never which fields a process needs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

_LINE_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_ANSWER = re.compile(r"^\s*([^:\n]{1,60}?)\s*:\s*(.*?)\s*$")


def normalise_label(label: str) -> str:
    """Labels are matched without case, surrounding marks or repeated spaces."""
    return " ".join(label.replace("*", "").split()).casefold()


def read_answers(texts: Iterable[str], labels: Mapping[str, str]) -> dict[str, str]:
    """Return {field: raw value} for every known label found in `texts`, later texts winning.

    `labels` maps normalised label → field name; several labels may name one field (aliases).
    Lines with an unknown label (TOPdesk's own "23-11-2026 10:04 [GMT +1:00] Name:" headers,
    greetings, prose) are ignored. An empty answer counts as not given.
    """
    answers: dict[str, str] = {}
    for text in texts:
        plain = _TAG.sub("", _LINE_BREAK.sub("\n", text))
        for line in plain.splitlines():
            match = _ANSWER.match(line)
            if match is None:
                continue
            field = labels.get(normalise_label(match.group(1)))
            value = match.group(2).strip()
            if field is not None and value:
                answers[field] = value
    return answers


class InvalidAnswer(ValueError):
    """An answer could not be read as the type its field needs; the message is for the caller."""


@dataclass(frozen=True)
class Field:
    """One field of a process's form: the label the caller sees, how its answer is read."""

    label: str
    parse: Callable[[str], object]
    aliases: tuple[str, ...] = ()
    required: bool = False
    why_required: str = ""  # told to the caller when the field is missing


class FormSpec:
    """A process's form: its fields by name. Reading a form reports every problem at once, each
    naming its field, so the caller can fix them all in one reply."""

    def __init__(self, fields: Mapping[str, Field]) -> None:
        self.fields = fields
        self.labels = {
            normalise_label(label): name
            for name, field in fields.items()
            for label in (field.label, *field.aliases)
        }

    def read(self, texts: Iterable[str]) -> tuple[dict[str, object], list[str]]:
        """Return (values by field name, problems for the caller)."""
        answers = read_answers(texts, self.labels)
        values: dict[str, object] = {}
        problems: list[str] = []
        for name, field in self.fields.items():
            raw = answers.get(name)
            if raw is None:
                if field.required:
                    problems.append(f"{field.label} mangler. {field.why_required}".strip())
                continue
            try:
                values[name] = field.parse(raw)
            except InvalidAnswer as error:
                problems.append(f"{field.label} er ugyldig: {error}.")
        return values, problems


def text(value: str) -> str:
    """A free-text answer, taken as written."""
    return value


_DATE_FORMATS = (
    re.compile(r"(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4})"),
    re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"),
    re.compile(r"(?P<d>\d{1,2})/(?P<m>\d{1,2})/(?P<y>\d{4})"),
)


def parse_date(value: str) -> date:
    """Read a date as Norwegians write it (15.01.2027) or as ISO (2027-01-15)."""
    for pattern in _DATE_FORMATS:
        match = pattern.fullmatch(value.strip())
        if match:
            try:
                return date(int(match["y"]), int(match["m"]), int(match["d"]))
            except ValueError as error:
                raise InvalidAnswer("er ikke en gyldig dato") from error
    raise InvalidAnswer("må være en dato på formen DD.MM.ÅÅÅÅ")


def parse_percentage(value: str) -> Decimal:
    """Read a position percentage such as `100`, `50 %` or `37,5`."""
    cleaned = value.replace("%", "").replace(",", ".").strip()
    try:
        percentage = Decimal(cleaned)
    except InvalidOperation as error:
        raise InvalidAnswer("må være et tall mellom 1 og 100") from error
    if not Decimal(0) < percentage <= Decimal(100):
        raise InvalidAnswer("må være et tall mellom 1 og 100")
    return percentage


def format_date(value: date) -> str:
    """Dates in replies to callers are written the Norwegian way."""
    return value.strftime("%d.%m.%Y")
