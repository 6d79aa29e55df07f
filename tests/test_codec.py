"""The payload codec: every payload saksflyt writes to Temporal is sealed (AES-256-GCM) under the
active key, names its key, opens under any key still held, and fails loudly under one that is not;
histories written before the codec replay unchanged. On a real test server: a whole case's history
holds no payload in clear, and no failure message or stack trace either."""

from __future__ import annotations

import base64
import uuid
from datetime import timedelta

import pytest
from temporalio import activity, workflow
from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import History
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from tests import harness as scenarios
from tests.harness import Harness
from workers.codec import ENCODING, KEY_ID, CodecKeyError, EncryptionCodec, new_key, parse_key
from workers.histories import failures_in, payloads_in
from workers.settings import Settings
from workers.temporal import data_converter
from workers.worker import WORKFLOWS

OLD, NEW = parse_key("old", new_key()), parse_key("new", new_key())
PERSONAL = ["15038510190", "150385 10190", "86011117947", "8601 11 17947", "Kari Nordmann"]


def plain(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=text.encode())


async def test_a_sealed_payload_names_its_key_hides_its_data_and_opens_again():
    codec = EncryptionCodec({"old": OLD}, active="old")
    [sealed] = await codec.encode([plain('"Kari Nordmann"')])

    assert sealed.metadata["encoding"] == ENCODING and sealed.metadata[KEY_ID] == b"old"
    assert b"Kari" not in sealed.SerializeToString() and b"json/plain" not in sealed.data
    [opened] = await codec.decode([sealed])
    assert opened == plain('"Kari Nordmann"')


async def test_the_same_payload_sealed_twice_differs():
    codec = EncryptionCodec({"old": OLD}, active="old")
    first, second = await codec.encode([plain("1"), plain("1")])
    assert first.data != second.data  # a fresh nonce each time


async def test_a_rotated_key_seals_new_payloads_and_still_opens_the_old():
    [before] = await EncryptionCodec({"old": OLD}, active="old").encode([plain("a")])
    rotated = EncryptionCodec({"old": OLD, "new": NEW}, active="new")
    [after] = await rotated.encode([plain("b")])

    assert after.metadata[KEY_ID] == b"new"
    assert await rotated.decode([before, after]) == [plain("a"), plain("b")]


async def test_a_payload_under_an_unknown_key_fails_naming_the_key():
    [sealed] = await EncryptionCodec({"old": OLD}, active="old").encode([plain("a")])
    with pytest.raises(CodecKeyError, match="'old'"):
        await EncryptionCodec({"new": NEW}, active="new").decode([sealed])


async def test_a_key_with_another_value_or_an_altered_payload_does_not_open():
    [sealed] = await EncryptionCodec({"k": OLD}, active="k").encode([plain("a")])
    with pytest.raises(CodecKeyError, match="does not open"):
        await EncryptionCodec({"k": NEW}, active="k").decode([sealed])
    altered = Payload(metadata=sealed.metadata, data=sealed.data[:-1] + b"\x00")
    with pytest.raises(CodecKeyError, match="does not open"):
        await EncryptionCodec({"k": OLD}, active="k").decode([altered])


async def test_unsealed_payloads_pass_through_on_the_way_in():
    codec = EncryptionCodec({"old": OLD}, active="old")
    assert await codec.decode([plain("written before the codec")]) == [
        plain("written before the codec")
    ]


@pytest.mark.parametrize(
    ("keys", "active", "message"),
    [
        ({"k": OLD}, "other", "active codec key 'other'"),
        ({"k": b"short"}, "k", "5 bytes"),
        ({"2027 jan": OLD}, "2027 jan", "key id '2027 jan'"),
    ],
)
def test_bad_keys_are_refused_at_construction(keys, active, message):
    with pytest.raises(CodecKeyError, match=message):
        EncryptionCodec(keys, active)


def test_settings_refuse_a_key_that_is_not_32_bytes_of_base64():
    with pytest.raises(CodecKeyError, match="'k' is not base64"):
        Settings(codec_keys={"k": "not base64!"}, codec_active_key="k").codec_keys_for_use()
    short = base64.b64encode(b"x" * 16).decode()
    with pytest.raises(CodecKeyError, match="16 bytes"):
        Settings(codec_keys={"k": short}, codec_active_key="k").codec_keys_for_use()


def test_the_public_dev_key_is_refused_unless_temporal_is_on_this_machine():
    assert Settings(temporal_address="127.0.0.1:7233").codec_keys_for_use()
    with pytest.raises(ValueError, match="dev key"):
        Settings(temporal_address="temporal.ntnu.no:7233").codec_keys_for_use()
    own = {"2027-01": new_key()}
    assert Settings(temporal_address="temporal.ntnu.no:7233", codec_keys=own).codec_keys_for_use()


# -- on a real server: a whole history ------------------------------------------------------------


async def raw_history(client: Client, workflow_id: str) -> History:
    """The history as Temporal stores it: fetched by a client without the codec."""
    bare = Client(client.service_client, namespace=client.namespace)
    return History(events=(await bare.get_workflow_handle(workflow_id).fetch_history()).events)


async def test_a_whole_case_lies_sealed_in_temporal_and_reads_back_with_the_keys(h: Harness):
    handle = await scenarios.manager_rejects_then_approves(h)
    history = await raw_history(h.client, handle.id)

    found = payloads_in(history)
    assert len(found) > 20  # inputs, results, signals, summaries: a history full of payloads
    clear = [path for path, payload in found if payload.metadata.get("encoding") != ENCODING]
    # Only the SDK's own patch markers, which name a code version and are written by its core.
    assert clear and all("marker_recorded_event_attributes.details[patch-data]" in p for p in clear)
    raw = history.SerializeToString()
    for value in PERSONAL:
        assert value.encode() not in raw, value
    # With the keys it is the same case: it replays, and the form reads back whole.
    replayed = await Replayer(workflows=WORKFLOWS, data_converter=data_converter()).replay_workflow(
        await handle.fetch_history()
    )
    assert replayed.replay_failure is None
    codec = data_converter().payload_codec
    assert codec is not None
    opened = await codec.decode([payload for _, payload in found])
    # the form reads back, its identifiers sealed on their own (tests/test_sealing.py)
    assert any("ePhorte-nummer: 2026/12345" in p.data.decode() for p in opened)


@activity.defn(name="RefuseWithPersonalData")
async def refuse_with_personal_data(text: str) -> None:
    raise ApplicationError(f"SAP avviste {text}", non_retryable=True, type="Refused")


@workflow.defn(name="FailsWithPersonalData", sandboxed=False)
class FailsWithPersonalData:
    @workflow.run
    async def run(self, text: str) -> None:
        await workflow.execute_activity(
            refuse_with_personal_data,
            text,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(maximum_attempts=1),
        )


async def test_failure_messages_and_stack_traces_are_sealed_and_read_back_whole(
    env: WorkflowEnvironment,
):
    task_queue = f"tq-{uuid.uuid4()}"
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[FailsWithPersonalData],
        activities=[refuse_with_personal_data],
    ):
        handle = await env.client.start_workflow(
            FailsWithPersonalData.run,
            "Kari Nordmann 15038510190",
            id=task_queue,
            task_queue=task_queue,
        )
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()

    cause = failed.value.cause.cause  # the workflow's failure, caused by the activity's
    assert isinstance(cause, ApplicationError) and "Kari Nordmann 15038510190" in cause.message
    history = await raw_history(env.client, handle.id)
    failures = failures_in(history)
    assert len(failures) >= 2  # the activity's and the workflow's
    for failure in failures:
        assert failure.message == "Encoded failure" and failure.stack_trace == ""
        assert failure.encoded_attributes.metadata["encoding"] == ENCODING
    assert b"15038510190" not in history.SerializeToString()
