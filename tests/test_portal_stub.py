"""The DFØ portal stub keeps the promises the resignation relies on: a submitted form survives a
restart, a repeated submission is one form, reads fail on demand, an unknown form is refused, and
each new form is announced to the intake over HTTP, kept in the outbox when that fails."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError

from activities.portal import NO_SUCH_FORM, FormRef, PortalActivities
from adapters.dfo.portal import (
    RESIGNATION_SUBMITTED,
    DeliveryStatus,
    PortalRejected,
    PortalStub,
    PortalUnavailable,
)

SECRET = "portal-test-secret"
HEADER = "X-Saksflyt-Secret"


def submit(portal: PortalStub, key: str = "key-1", **changes: Any) -> str:
    fields: dict[str, Any] = {
        "ansattnummer": "05001234",
        "navn": "Kari Nordmann",
        "epost": "kari.nordmann@ntnu.no",
        "siste_arbeidsdag": date(2027, 2, 28),
        "innsendt": date(2026, 11, 30),
        "tekst": "Jeg slutter.",
        "leder": "Ola Leder",
        **changes,
    }
    return portal.submit_resignation(idempotency_key=key, **fields).id


class Intake:
    """A tiny intake on loopback that records what it is sent and answers `status`."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, Any], str | None]] = []
        self.status = 202
        intake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                body = json.loads(self.rfile.read(length))
                intake.received.append((body, self.headers.get(HEADER)))
                self.send_response(intake.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/dfo"

    def __enter__(self) -> Intake:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def intake() -> Iterator[Intake]:
    with Intake() as running:
        yield running


def connected(path: Path, intake: Intake) -> PortalStub:
    return PortalStub(path, intake_url=intake.url, secret=SECRET, secret_header=HEADER)


def test_a_submitted_form_survives_a_restart(tmp_path: Path):
    form_id = submit(PortalStub(tmp_path / "portal.db"))

    reopened = PortalStub(tmp_path / "portal.db")

    form = reopened.resignation(form_id)
    assert form_id == "OPP-000001"
    assert (form.ansattnummer, form.siste_arbeidsdag, form.leder) == (
        "05001234",
        date(2027, 2, 28),
        "Ola Leder",
    )


def test_a_repeated_submission_is_one_form_with_one_event(tmp_path: Path):
    portal = PortalStub(tmp_path / "portal.db")

    first, again, other = submit(portal), submit(portal), submit(portal, key="key-2")

    assert (first, again, other) == ("OPP-000001", "OPP-000001", "OPP-000002")
    assert [e.form_id for e in portal.events()] == ["OPP-000001", "OPP-000002"]


def test_reads_fail_on_demand_and_then_recover(tmp_path: Path):
    portal = PortalStub(tmp_path / "portal.db")
    form_id = submit(portal)
    portal.inject_fault("unavailable", times=2)

    for _ in range(2):
        with pytest.raises(PortalUnavailable):
            portal.resignation(form_id)
    assert portal.resignation(form_id).id == form_id


def test_an_unknown_form_is_refused(tmp_path: Path):
    with pytest.raises(PortalRejected, match="OPP-000009"):
        PortalStub(tmp_path / "portal.db").resignation("OPP-000009")


def test_the_activity_refuses_an_unknown_form_for_good_and_reads_a_known_one(tmp_path: Path):
    portal = PortalStub(tmp_path / "portal.db")
    activities = PortalActivities(portal)

    with pytest.raises(ApplicationError) as refused:
        activities.resignation(FormRef(form_id="OPP-000009"))
    assert refused.value.type == NO_SUCH_FORM and refused.value.non_retryable

    read = activities.resignation(FormRef(form_id=submit(portal)))
    assert (read.employee_number, read.last_day, read.submitted, read.manager) == (
        "05001234",
        date(2027, 2, 28),
        date(2026, 11, 30),
        "Ola Leder",
    )


def test_a_malformed_submission_is_refused_and_stores_nothing(tmp_path: Path):
    portal = PortalStub(tmp_path / "portal.db")

    with pytest.raises(PortalRejected, match="åtte sifre"):
        submit(portal, ansattnummer="123")
    assert portal.events() == []


def test_a_new_form_is_posted_to_the_intake_with_the_secret(tmp_path: Path, intake: Intake):
    form_id = submit(connected(tmp_path / "portal.db", intake))

    assert intake.received == [({"event": RESIGNATION_SUBMITTED, "form_id": form_id}, SECRET)]


def test_a_failed_delivery_stays_in_the_outbox_until_redelivered(tmp_path: Path, intake: Intake):
    portal = connected(tmp_path / "portal.db", intake)
    intake.status = 503
    form_id = submit(portal)
    [kept] = portal.events()
    assert (kept.status, kept.attempts, kept.last_error) == (DeliveryStatus.PENDING, 1, "HTTP 503")

    intake.status = 202
    assert portal.redeliver() == 1
    assert portal.redeliver() == 0  # delivered events are not sent again

    [event] = portal.events()
    assert (event.status, event.attempts) == (DeliveryStatus.DELIVERED, 2)
    assert [body["form_id"] for body, _ in intake.received] == [form_id, form_id]


def test_an_unreachable_intake_keeps_the_form_and_the_event(tmp_path: Path):
    with Intake() as gone:
        url = gone.url
    portal = PortalStub(tmp_path / "portal.db", intake_url=url, secret=SECRET)

    form_id = submit(portal)

    assert portal.resignation(form_id).id == form_id
    [event] = portal.events()
    assert event.status is DeliveryStatus.PENDING and event.last_error == "ConnectionError"


def test_without_an_intake_the_event_is_only_stored(tmp_path: Path, intake: Intake):
    portal = PortalStub(tmp_path / "portal.db")

    submit(portal)

    [event] = portal.events()
    assert (event.status, event.attempts) == (DeliveryStatus.STORED, 0)
    assert portal.redeliver() == 0
    assert intake.received == []
