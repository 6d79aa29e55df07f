"""The ``/tas/api/incidents`` routes: paths, query parameters and status codes of the reference
(§2). Each handler checks the request's shape and leaves the rules to ``Incidents``.
"""

from __future__ import annotations

import email.parser
import email.policy
from typing import Any
from urllib.parse import quote

from starlette.routing import Route

from .config import ApiError
from .dates import format_iso8601
from .fiql import parse_fiql, parse_sort, sort_docs
from .lifecycle import Incidents
from .paging import page_of, page_reply, paged
from .records import DATE_KEYS, action_view, render_incident, request_view
from .web import Call, Handler, Reply, route

INCIDENT = "/tas/api/incidents/{by}/{key}"
ATTACHMENT = "/tas/api/incidents/id/{key}/attachments/{attachment}"


class IncidentApi:
    """Route handlers over one `Incidents`."""

    def __init__(self, incidents: Incidents) -> None:
        self._incidents = incidents

    def routes(self) -> list[Route]:
        table: list[tuple[str, str, Handler]] = [
            ("GET", "/tas/api/incidents", self._list),
            ("POST", "/tas/api/incidents", self._create),
            ("GET", INCIDENT, self._get),
            ("PATCH PUT", INCIDENT, self._update),
            ("PATCH PUT", INCIDENT + "/archive", self._archive),
            ("PATCH PUT", INCIDENT + "/unarchive", self._unarchive),
            ("PATCH PUT", INCIDENT + "/escalate", self._escalate),
            ("PATCH PUT", INCIDENT + "/deescalate", self._deescalate),
            ("GET", INCIDENT + "/progresstrail", self._progress_trail),
            ("GET", INCIDENT + "/progresstrail/count", self._progress_trail_count),
            ("GET", INCIDENT + "/actions", self._actions),
            ("GET", INCIDENT + "/actions/{entry}", self._action),
            ("GET", INCIDENT + "/requests", self._requests),
            ("GET", INCIDENT + "/timespent", self._time_spent),
            ("POST", INCIDENT + "/timespent", self._register_time),
            ("GET", INCIDENT + "/attachments", self._attachments),
            ("POST", INCIDENT + "/attachments", self._upload),
            ("GET", ATTACHMENT + "/download", self._download),
            ("DELETE", ATTACHMENT, self._delete_attachment),
        ]
        return [route(methods, path, handler) for methods, path, handler in table]

    @staticmethod
    def _target(call: Call) -> tuple[str, str]:
        """(id|number, key); a number may contain spaces, arriving percent-decoded (§2.2)."""
        by = call.path_params["by"]
        if by not in ("id", "number"):
            raise ApiError(404, f"Not found: {call.path}")
        return by, call.path_params["key"]

    def _create(self, call: Call) -> Reply:
        return Reply(201, self._incidents.create(call.json_object()))

    def _get(self, call: Call) -> Reply:
        return Reply(200, self._incidents.get(*self._target(call)))

    def _update(self, call: Call) -> Reply:
        return Reply(200, self._incidents.update(*self._target(call), call.json_object()))

    def _archive(self, call: Call) -> Reply:
        return Reply(200, self._incidents.archive(*self._target(call), call.json_object()))

    def _unarchive(self, call: Call) -> Reply:
        return Reply(200, self._incidents.unarchive(*self._target(call)))

    def _escalate(self, call: Call) -> Reply:
        return Reply(200, self._incidents.escalate(*self._target(call), call.json_object()))

    def _deescalate(self, call: Call) -> Reply:
        return Reply(200, self._incidents.deescalate(*self._target(call), call.json_object()))

    # progress trail, actions, requests (§2.6): ``start``/``page_size`` --------------------
    def _progress_trail(self, call: Call) -> Reply:
        entries = self._incidents.entries(*self._target(call), "action")
        return paged(entries, call.params, 10, 100)

    def _progress_trail_count(self, call: Call) -> Reply:
        return Reply(200, {"count": len(self._incidents.entries(*self._target(call), "action"))})

    def _actions(self, call: Call) -> Reply:
        entries = self._incidents.entries(*self._target(call), "action")
        return paged([action_view(e) for e in entries], call.params, 10, 100)

    def _action(self, call: Call) -> Reply:
        wanted = call.path_params["entry"]
        for entry in self._incidents.entries(*self._target(call), "action"):
            if entry["id"] == wanted:
                return Reply(200, action_view(entry))
        raise ApiError(404, f"No action with id '{wanted}'")

    def _requests(self, call: Call) -> Reply:
        entries = self._incidents.entries(*self._target(call), "request")
        return paged([request_view(e) for e in entries], call.params, 10, 10)

    # time spent and attachments -----------------------------------------------------------
    def _time_spent(self, call: Call) -> Reply:
        return paged(
            self._incidents.entries(*self._target(call), "timespent"), call.params, 10, 100
        )

    def _register_time(self, call: Call) -> Reply:
        return Reply(200, self._incidents.register_time(*self._target(call), call.json_object()))

    def _attachments(self, call: Call) -> Reply:
        entries = self._incidents.entries(*self._target(call), "attachment")
        return paged(entries, call.params, 10, 100)

    def _upload(self, call: Call) -> Reply:
        """``multipart/form-data`` with ``file``, ``description`` and ``invisibleForCaller``;
        200 (not 201) with the Attachment (§4)."""
        parts = _form_parts(call)
        file_name, content = parts.get("file", ("", b""))
        hidden = parts.get("invisibleForCaller", ("", b"false"))[1].decode().lower() == "true"
        description = parts.get("description", ("", b""))[1].decode("utf-8")
        attached = self._incidents.attach(
            *self._target(call), file_name, content, description, hidden
        )
        return Reply(200, attached)

    def _download(self, call: Call) -> Reply:
        """Raw bytes; id path only, as in TOPdesk (§4)."""
        key, attachment = call.path_params["key"], call.path_params["attachment"]
        name, media_type, content = self._incidents.attachment_content(key, attachment)
        disposition = f"attachment; filename=\"{quote(name)}\"; filename*=UTF-8''{quote(name)}"
        headers = {"Content-Disposition": disposition}
        return Reply(200, headers=headers, raw=content, media_type=media_type)

    def _delete_attachment(self, call: Call) -> Reply:
        key, attachment = call.path_params["key"], call.path_params["attachment"]
        self._incidents.delete_attachment(key, attachment)
        return Reply(204)

    # the list (§2.4) ------------------------------------------------------------------------
    def _list(self, call: Call) -> Reply:
        """``GET /incidents``: FIQL, sort, fields, all; pageStart/pageSize or start/page_size."""
        params = call.params
        page = page_of(params, 10, 10000)
        query = parse_fiql(params["query"]) if params.get("query") else None
        sort = parse_sort(params["sort"]) if params.get("sort") else []
        docs = self._incidents.all(include_archived=params.get("all", "").lower() == "true")
        # ``archived`` is no stored field: it is what the line says (``firstLineArchived``, ...).
        docs = [{**doc, "archived": doc["status"].endswith("Archived")} for doc in docs]
        matched = [doc for doc in docs if query is None or query.matches(doc)]
        sort_docs(matched, sort)
        shown = [self._shape(doc, params) for doc in matched]
        return page_reply(shown, page.start, page.size, page.next_url(call.path, params))

    @staticmethod
    def _shape(doc: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        """Apply ``fields`` (id always kept) and ``dateFormat=iso8601``."""
        out = render_incident({key: value for key, value in doc.items() if key != "archived"})
        if params.get("fields"):
            wanted = {name.strip() for name in params["fields"].split(",")} | {"id"}
            out = {key: value for key, value in out.items() if key in wanted}
        if params.get("dateFormat", "").lower() == "iso8601":
            for key in DATE_KEYS:
                if out.get(key):
                    out[key] = format_iso8601(out[key])
        return out


def _form_parts(call: Call) -> dict[str, tuple[str, bytes]]:
    """name → (file name, bytes) of a ``multipart/form-data`` body, read with the stdlib."""
    content_type = call.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise ApiError(400, "An attachment is sent as multipart/form-data")
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + call.raw_body)
    parts: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            payload = part.get_payload(decode=True)
            parts[name] = (
                part.get_filename() or "",
                payload if isinstance(payload, bytes) else b"",
            )
    return parts
