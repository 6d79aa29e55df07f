"""What saksflyt needs from TOPdesk, as a Protocol.

`TopdeskClient` implements it over HTTP; tests run it against `TopdeskSimulator`, a real server.
"""

from __future__ import annotations

from typing import Protocol

from adapters.topdesk.models import Incident, NewIncident, ProgressTrailEntry


class TopdeskPort(Protocol):
    def create_incident(self, incident: NewIncident) -> Incident: ...

    def get_incident(self, number: str) -> Incident: ...

    def progress_trail(self, number: str) -> list[ProgressTrailEntry]: ...

    def set_status(self, number: str, status: str) -> Incident: ...

    def reply_to_caller(self, number: str, text: str, status: str | None = None) -> Incident: ...

    def add_note(self, number: str, text: str) -> Incident: ...

    def complete(self, number: str, reply: str) -> Incident: ...

    def list_incidents(
        self, query: str, page_size: int = 100, sort: str | None = None
    ) -> list[Incident]: ...

    def set_operator_group(self, number: str, group: str) -> Incident: ...

    def find_by_external_number(self, external_number: str) -> Incident | None: ...
