"""What the suite finds of personal data and of hostile input, at the end of a run, with the stack
still up (so Temporal's WAL is there to search too).

Identifiers: every fødselsnummer, bank account (spaced and compact) and name of the forms the
TOPdesk simulator holds, searched for in what saksflyt keeps itself (Temporal's database file and
its WAL, every log, the intake's outbox and quarantine). TOPdesk and the DFØ-side stubs are
systems of record and are not searched.

Hostile input: a fixed set of requests a careless or hostile sender might make to the intake
(numbers no JSON can hold, bodies too deep, too large or not UTF-8, wrong types, unknown events,
the secret in mistyped URLs, no secret at all); none may be answered 5xx, and the secret may
not appear in any log line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import requests

from workers.settings import Settings


@dataclass
class Exposure:
    identifiers: int  # distinct identifiers and names in the forms
    in_clear: list[str]  # where one was found: "file: kind"
    hostile: int  # requests sent
    server_errors: list[str]  # "status path" of each 5xx
    secret_lines: int  # log lines holding the webhook secret

    @property
    def ok(self) -> bool:
        return not self.in_clear and not self.server_errors and not self.secret_lines

    def lines(self) -> list[str]:
        return [
            f"identifiers in clear {len(self.in_clear)} of {self.identifiers}",
            *(f"  {where}" for where in self.in_clear),
            f"hostile requests     {self.hostile}, answered 5xx {len(self.server_errors)}",
            *(f"  {error}" for error in self.server_errors),
            f"secret in log lines  {self.secret_lines}",
        ]


def exposure(settings: Settings) -> Exposure:
    sent, errors = hostile(settings)
    identifiers = identifiers_in_forms(settings.simulator_path)
    secret = settings.webhook_secret.get_secret_value()
    logs = list(settings.data_dir.glob("logs/*"))
    secret_lines = sum(
        secret in line for path in logs for line in path.read_text(errors="replace").splitlines()
    )
    return Exposure(
        len(identifiers), in_clear(settings.data_dir, identifiers), sent, errors, secret_lines
    )


def identifiers_in_forms(simulator_db: Path) -> dict[str, str]:
    """{value: kind} for the names, fødselsnumre and accounts written in the forms TOPdesk
    holds, each also in the other spelling (spaced or compact)."""
    text = simulator_db.read_bytes().decode(errors="replace").replace("\\u00f8", "ø")
    values: dict[str, str] = {}
    for label, pattern in (
        ("Navn", r"([A-ZÆØÅ][a-zæøå]+ [A-ZÆØÅ][a-zæøå]+)"),
        ("Fødselsnummer", r"(\d{6}) ?(\d{5})\b"),
        ("Kontonummer", r"(\d{4}) ?(\d{2}) ?(\d{5})\b"),
    ):
        for match in re.finditer(f"{label}: {pattern}", text):
            values[" ".join(match.groups())] = values["".join(match.groups())] = label
    return values


def in_clear(data_dir: Path, identifiers: dict[str, str]) -> list[str]:
    """Where in saksflyt's own files an identifier lies: `file: kind`, once per pair."""
    searched = [
        *data_dir.glob("temporal.db*"),
        *data_dir.glob("logs/*"),
        *data_dir.glob("intake-outbox.db*"),
        *data_dir.glob("quarantine.db*"),
    ]
    found = set()
    for path in searched:
        content = path.read_bytes()
        found |= {
            f"{path.name}: {kind}"
            for value, kind in identifiers.items()
            if value.encode() in content
        }
    return sorted(found)


def hostile(settings: Settings) -> tuple[int, list[str]]:
    """Send every hostile request; return how many, and each answered 5xx."""
    secret = settings.webhook_secret.get_secret_value()
    authorised = {settings.webhook_secret_header: secret, "Content-Type": "application/json"}
    errors = []
    requests_sent = 0
    for path, body, headers in _hostile_requests(secret, authorised):
        requests_sent += 1
        try:
            answer = requests.post(
                f"{settings.intake_url}{path}", data=body, headers=headers, timeout=15
            )
        except requests.RequestException as error:
            errors.append(f"no answer {path.replace(secret, '{secret}')}: {type(error).__name__}")
            continue
        if answer.status_code >= 500:
            errors.append(f"{answer.status_code} {path.replace(secret, '{secret}')}")
    return requests_sent, errors


def _hostile_requests(
    secret: str, authorised: dict[str, str]
) -> list[tuple[str, bytes, dict[str, str]]]:
    deep = b"[" * 200 + b"]" * 200
    bodies = [
        b'{"number": 1e999, "event": "incident_created"}',
        b'{"number": -1e999, "event": "caller_replied"}',
        b'{"number": NaN, "event": "incident_created"}',
        b'{"number": "I2612-0001", "event": "incident_created", "x": Infinity}',
        b'{"case_number": 1e999, "registration_id": "NH-1", "event": "approved"}',
        b'{"number": "I2612-0001", "event": "incident_created", "extra": [1, 2, 1e400]}',
        b'{"number": ' + b"9" * 5000 + b', "event": "incident_created"}',
        b'{"number": "\\ud800", "event": "incident_created"}',
        b'{"number": [], "event": "incident_created"}',
        b'{"number": "I2612-0001", "event": "deleted"}',
        b'{"number": "../../etc/passwd", "event": "incident_created"}',
        b'{"number": "I2612-0001\'; drop table x;--", "event": "incident_created"}',
        b'{"event": "resignation_submitted", "form_id": {"$ne": 1}}',
        b"\xff\xfe not utf-8",
        b"null",
        b"[]",
        b"",
        b"{",
        deep,
        b'{"number": "' + b"A" * 70_000 + b'", "event": "incident_created"}',
    ]
    routes = ["/webhooks/topdesk", "/webhooks/dfo", f"/webhooks/topdesk/{secret}"]
    sent = [
        (route, body, {} if secret in route else authorised) for route in routes for body in bodies
    ]
    mistyped = [
        f"/webhook/topdesk/{secret}",
        f"/WEBHOOKS/topdesk/{secret}",
        f"//webhooks/topdesk/{secret}",
        f"/webhooks/topdesk/{secret}/extra",
        f"/webhooks/topdesk?secret={secret}",
        f"/webhooks/dfo/{secret}x",
    ]
    valid = json.dumps({"number": "I2612-9999", "event": "incident_created"}).encode()
    sent += [(path, valid, {"Content-Type": "application/json"}) for path in mistyped]
    sent += [(route, b"not json at all", {}) for route in ("/webhooks/topdesk", "/webhooks/dfo")]
    return sent
