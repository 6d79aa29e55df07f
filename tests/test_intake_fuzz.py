"""Never a 500 from the intake, whatever it is sent: hypothesis fuzzing of both webhooks (random
JSON values, random bytes, random header values), and schemathesis against the app's own OpenAPI
document. Every request goes the whole way: the intake on a worker with the time-skipping test
server and the TOPdesk simulator behind it (tests/conftest.py), so a body that passes the gate
is routed, and may start, signal or quarantine a case."""

from __future__ import annotations

import json
import math
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)
from temporalio.client import Client

from tests.harness import Harness
from tests.test_intake import HEADER, SECRET
from tests.test_intake_security import KEY, served
from workers.intake import CASE_NUMBER, SIGNATURE_HEADER, TIMESTAMP_HEADER, create_app, sign
from workers.quarantine import Quarantine
from workers.settings import Settings

# What a webhook may answer: accepted, refused (secret, no such case running, size, shape), or
# "send again later". A 500 (or a 400 from FastAPI's body parser) is a bug.
ANSWERS = {202, 401, 404, 413, 422, 503}
FUZZ = settings(
    max_examples=150,
    deadline=None,
    # One intake (and worker) serves every example of a test: that is the point, not a leak.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
JSON = {"Content-Type": "application/json"}

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and infinities too: Python's parser takes them
    | st.text(max_size=50)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
case_numbers = st.from_regex(CASE_NUMBER, fullmatch=True)


@dataclass
class Fuzzed:
    http: httpx.AsyncClient
    numbers: list[str]  # cases TOPdesk has: events for them reach a workflow


@pytest.fixture
async def fuzzed(h: Harness) -> AsyncIterator[Fuzzed]:
    numbers = [
        h.submit(),
        h.submit(category="Forlengelse"),
        h.submit("Reise til Sverige", "Reiseplanlegger"),  # no process: held
    ]
    async with served(h.client, h.task_queue, h.topdesk) as http:
        started = await http.post(  # a running workflow, for events to reach
            "/webhooks/topdesk",
            json={"number": numbers[0], "event": "incident_created"},
            headers={HEADER: SECRET},
        )
        assert started.json()["action"] == "started"
        yield Fuzzed(http, numbers)


def numbers(known: list[str]) -> st.SearchStrategy[str]:
    """A case TOPdesk has, or a well-formed number it does not have."""
    return st.sampled_from(known) | case_numbers


texts = st.text(max_size=40)


def topdesk_webhooks(known: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "number": numbers(known),
            "event": st.sampled_from(["incident_created", "caller_replied", "reopened"]),
        },
        optional={"id": texts, "event_id": texts, "modificationDate": texts, "extra": json_values},
    )


def dfo_events(known: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    decision = st.fixed_dictionaries(
        {
            "case_number": numbers(known),
            "registration_id": st.text(min_size=1, max_size=40),
            "event": st.sampled_from(["approved", "rejected"]),
        },
        optional={"reason": st.text(max_size=100), "event_id": texts, "extra": json_values},
    )
    resignation = st.fixed_dictionaries(
        {
            "form_id": st.from_regex(r"^OPP-[0-9]{1,6}$", fullmatch=True),
            "event": st.just("resignation_submitted"),
        },
        optional={"event_id": texts},
    )
    return decision | resignation


@st.composite
def mutated(draw: st.DrawFn, valid: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    """A valid body with none, one or two of its fields replaced by any JSON value, or gone."""
    body = draw(valid)
    for field in draw(st.lists(st.sampled_from(sorted(body)), max_size=2, unique=True)):
        replacement = draw(st.none() | st.just(json_values))
        if replacement is None:
            del body[field]
        else:
            body[field] = draw(replacement)
    return body


def bodies(source: str, known: list[str]) -> st.SearchStrategy[Any]:
    """Webhooks of the source, right or nearly so, and anything at all."""
    valid = topdesk_webhooks(known) if source == "topdesk" else dfo_events(known)
    return mutated(valid) | json_values


def answered(response: httpx.Response) -> str:
    """The answer as hypothesis's statistics count it (`--hypothesis-show-statistics`): which
    statuses, and which actions, the examples reached."""
    if response.status_code == 202:
        return f"202 {response.json()['action']}"
    return str(response.status_code)


def dumped(value: Any) -> bytes:
    """JSON as Python writes it, NaN and Infinity included (not JSON, but sent all the same)."""
    return json.dumps(value).encode()


@pytest.mark.parametrize("source", ["topdesk", "dfo"])
@FUZZ
@given(in_path=st.booleans(), data=st.data())
async def test_no_json_value_is_answered_with_a_500(
    fuzzed: Fuzzed, source: str, in_path: bool, data: st.DataObject
):
    body = data.draw(bodies(source, fuzzed.numbers), label="body")
    path, headers = (
        (f"/webhooks/{source}/{SECRET}", JSON)
        if in_path
        else (f"/webhooks/{source}", {HEADER: SECRET, **JSON})
    )

    note(f"{path} {dumped(body)!r}")
    response = await fuzzed.http.post(path, content=dumped(body), headers=headers)

    event(answered(response))
    assert response.status_code in ANSWERS, response.text


content_types = st.sampled_from(
    [
        None,
        "application/json",
        "application/json; charset=utf-8",
        "application/merge-patch+json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
    ]
)


@pytest.mark.parametrize("source", ["topdesk", "dfo"])
@FUZZ
@given(
    body=st.binary(max_size=300) | st.builds(lambda value: dumped(value)[:-1], json_values),
    content_type=content_types,
)
async def test_no_bytes_are_answered_with_a_500(
    fuzzed: Fuzzed, source: str, body: bytes, content_type: str | None
):
    headers = {HEADER: SECRET} | ({"Content-Type": content_type} if content_type else {})

    note(f"{body!r} {headers}")
    response = await fuzzed.http.post(f"/webhooks/{source}", content=body, headers=headers)

    event(answered(response))
    assert response.status_code in ANSWERS, response.text


header_values = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=80
).map(str.strip)


@dataclass
class Signing:
    http: httpx.AsyncClient
    number: str  # a case TOPdesk has


@pytest.fixture
async def signing(h: Harness) -> AsyncIterator[Signing]:
    """The intake with signing on, so that the timestamp and signature are read too."""
    async with served(
        h.client, h.task_queue, h.topdesk, webhook_hmac_key=SecretStr(KEY.decode())
    ) as http:
        yield Signing(http, h.submit())


@pytest.mark.parametrize("source", ["topdesk", "dfo"])
@FUZZ
@given(
    # each right about half the time, so that some requests get all the way
    secret=st.just(SECRET) | header_values,
    in_path=st.booleans(),
    timestamp=st.just("now") | (st.none() | header_values | st.integers().map(str)),
    signature=st.just("right") | (st.none() | header_values),
    content_type=st.just("application/json") | content_types,
)
async def test_no_header_values_are_answered_with_a_500(
    signing: Signing,
    source: str,
    secret: str,
    in_path: bool,
    timestamp: str | None,
    signature: str | None,
    content_type: str | None,
):
    body = dumped(
        {"number": signing.number, "event": "caller_replied"}
        if source == "topdesk"
        else {"case_number": signing.number, "registration_id": "1", "event": "approved"}
    )
    if timestamp == "now":
        timestamp = str(int(time.time()))
    if signature == "right" and timestamp is not None:
        signature = sign(KEY, timestamp, body)
    headers = {
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature,
        "Content-Type": content_type,
        **({} if in_path else {HEADER: secret}),
    }
    sent = {name.encode(): value.encode("latin-1") for name, value in headers.items() if value}
    path = f"/webhooks/{source}" + (f"/{quote(secret, safe='')}" if in_path else "")

    note(f"{path} {sent}")
    response = await signing.http.post(path, content=body, headers=sent)

    event(answered(response))
    assert response.status_code in ANSWERS, response.text


# -- schemathesis ----------------------------------------------------------------------------------

# The checks that judge the response alone; the others send requests of their own, to a server
# this test does not have.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    positive_data_acceptance,
    negative_data_rejection,
]


def generated_requests() -> st.SearchStrategy[schemathesis.Case]:
    """Requests the app's OpenAPI document allows, and requests it does not, each with the
    secret (in the header, and in the path where the path has it) so that they get past it."""

    async def never() -> Client:
        raise AssertionError("the document needs no Temporal")

    quarantine = Quarantine(Path(tempfile.mkdtemp()) / "quarantine.db")
    app = create_app(Settings(webhook_secret=SecretStr(SECRET)), never, quarantine=quarantine)
    schema = schemathesis.openapi.from_dict(app.openapi())
    return st.one_of(
        [
            schema.as_strategy(mode, headers={HEADER: SECRET}, path_parameters={"secret": SECRET})
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        ]
    )


@settings(FUZZ, max_examples=200)
@given(case=st.deferred(generated_requests))
async def test_every_request_is_answered_as_the_openapi_document_says(
    fuzzed: Fuzzed, case: schemathesis.Case
):
    sent = case.as_transport_kwargs(base_url=str(fuzzed.http.base_url))
    body: dict[str, Any] = {}
    if "json" in sent:
        body["content"] = dumped(sent["json"])
    elif "data" in sent:
        body["content"] = sent["data"]

    note(repr(sent))
    response = await fuzzed.http.request(
        sent["method"],
        sent["url"],
        headers=sent["headers"],
        params=sent.get("params"),
        **body,
    )

    event(answered(response))
    assert response.status_code in ANSWERS | {200}, response.text
    case.validate_response(response, checks=CHECKS)


# -- bodies that got a 400 or a 500 before the gate ------------------------------------------------


@pytest.mark.parametrize("source", ["topdesk", "dfo"])
@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
@pytest.mark.parametrize(
    "body",
    [
        # What each got before the gate took them, as JSON / as text/plain:
        b"[" * 5000,  # past the parser's recursion limit: 400 / 422
        b'{"number": ' + b"[" * 16 + b"]" * 16 + b', "event": "x"}',  # deeper than any webhook
        # valid JSON, but no text: the quarantine could not store it, a 500
        b'{"number": "I2611-0001", "event": "incident_created", "id": "\\ud800"}',
        b"\xff\xfe{}",  # not UTF-8: 422 / a 500 (FastAPI echoes the bytes, decoding them)
        b'{"\x00\x80": 1}',  # not UTF-8: 400 / a 500
        b'{"number": ' + b"1" * 5000 + b"}",  # more digits than Python converts: 400 / 422
        # NaN echoed back in the 422, which then could not be rendered: a 500 / 422
        json.dumps({"number": math.nan, "event": "incident_created"}).encode(),
        # valid JSON, but beyond a double: infinity, echoed back the same way: a 500 / 422
        b'{"number": 1e999, "event": "incident_created"}',
        b'{"number": "I2611-0001", "event": "incident_created", "extra": [1, -1E+400]}',
    ],
)
async def test_a_body_nothing_could_store_or_echo_is_refused_with_422_naming_the_body(
    body: bytes, content_type: str, source: str
):
    async with served(None, "unused") as http:
        response = await http.post(
            f"/webhooks/{source}",
            content=body,
            headers={HEADER: SECRET, "Content-Type": content_type},
        )

    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    assert problem["loc"][0] == "body"


# -- numbers beyond a double -----------------------------------------------------------------------

# JSON numbers Python reads as an infinity: valid JSON, yet no answer or store can hold them.
overflowing = st.from_regex(
    r"-?[1-9][0-9]{0,3}(\.[0-9]{1,3})?[eE]\+?(3[1-9][0-9]|[4-9][0-9]{2,3})", fullmatch=True
)


@pytest.mark.parametrize("source", ["topdesk", "dfo"])
@pytest.mark.parametrize("in_path", [False, True])
async def test_1e999_is_a_422_naming_the_field(source: str, in_path: bool):
    body = (
        b'{"number": 1e999, "event": "incident_created"}'
        if source == "topdesk"
        else b'{"case_number": 1e999, "registration_id": "1", "event": "approved"}'
    )
    field = "number" if source == "topdesk" else "case_number"
    path, headers = (
        (f"/webhooks/{source}/{SECRET}", JSON)
        if in_path
        else (f"/webhooks/{source}", {HEADER: SECRET, **JSON})
    )

    async with served(None, "unused") as http:
        response = await http.post(path, content=body, headers=headers)

    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    assert (problem["loc"], problem["type"]) == (["body", field], "finite_number")


@pytest.mark.parametrize("source", ["topdesk", "dfo"])
@FUZZ
@given(data=st.data(), number=overflowing)
async def test_a_number_beyond_a_double_anywhere_is_a_422_naming_its_place(
    fuzzed: Fuzzed, source: str, data: st.DataObject, number: str
):
    """The number replaces one value of a valid body, or sits in a list or object under a field
    of its own, and the 422 names that place."""
    valid = topdesk_webhooks if source == "topdesk" else dfo_events
    body = data.draw(valid(fuzzed.numbers), label="body")
    body.pop("extra", None)  # any JSON value, NaN included: it would be refused first
    marker = "__overflowing__"
    place: list[Any] = [data.draw(st.sampled_from([*sorted(body), "extra"]), label="field")]
    if data.draw(st.booleans(), label="nested"):
        body[place[0]] = {"deeper": [0, marker]}
        place += ["deeper", 1]
    else:
        body[place[0]] = marker
    sent = dumped(body).replace(f'"{marker}"'.encode(), number.encode())

    note(f"{sent!r}")
    response = await fuzzed.http.post(
        f"/webhooks/{source}", content=sent, headers={HEADER: SECRET, **JSON}
    )

    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body", *place]
