"""The KPI report: its numbers against hand-computed ones, its timelines against recorded
histories, and the whole page from a real dev server."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from temporalio.client import WorkflowHistory

from domain.cases import OSLO, WaitState
from domain.kpi import (
    CaseTimeline,
    Compliance,
    Flow,
    Segment,
    Spread,
    Window,
    kpi_report,
    sla_elapsed,
    time_per_state,
)
from domain.processes import SLA_DEFAULTS
from domain.sla import business_days_between
from tests.eventually import eventually
from tests.harness import Harness, complete_form, extension_registered, form_without
from workers.case_index import list_cases
from workers.report import timeline_from_history, write_report
from workers.settings import Settings

HISTORIES = Path(__file__).parent / "histories"

W, C, H, A, D = (
    WaitState.WORKING,
    WaitState.AWAITING_CALLER,
    WaitState.ON_HOLD,
    WaitState.AWAITING_APPROVAL,
    WaitState.DONE,
)


def oslo(month: int, day: int, hour: int) -> datetime:
    return datetime(2027, month, day, hour, tzinfo=OSLO)


READ_AT = oslo(4, 2, 12)  # when the timelines of the seeded cases were read


def case(
    workflow_id: str,
    process: str,
    unit: str,
    steps: list[tuple[WaitState, datetime]],
    closed: datetime | None,
) -> CaseTimeline:
    """A timeline from the moments each state was entered, as a history records them."""
    ends = [since for _, since in steps[1:]] + [closed or READ_AT]
    segments = [
        Segment(state=state, start=since, end=end)
        for (state, since), end in zip(steps, ends, strict=True)
    ]
    if closed is not None:
        segments.append(Segment(state=D, start=closed, end=closed))
    return CaseTimeline(
        workflow_id=workflow_id,
        process=process,
        unit=unit,
        opened=steps[0][1],
        closed=closed,
        segments=segments,
    )


# March 2027: Monday 1 March; Easter with Maundy Thursday 25, Good Friday 26 and Easter Monday
# 29 March, all public holidays. Every moment is at 12:00 or 18:00 Oslo time, so each piece is
# a quarter or a half of a working day and the sums below are exact in binary.
MARCH = Window(first=date(2027, 3, 1), last=date(2027, 3, 31))
SEEDED = [
    # 1.0 working + 2.0 approval: cycle 3.0, SLA 3.0 reaches new_hire's due mark (3)
    case("n1", "new_hire", "IDI", [(W, oslo(3, 1, 12)), (A, oslo(3, 2, 12))], oslo(3, 4, 12)),
    # Friday noon to Tuesday noon across a weekend: cycle 0.5 + Mon 1.0 + 0.5 = 2.0; the
    # caller's 0.75 (Fri 18-24 and Mon 0-12) pauses the clock: SLA 0.25 + 0.25 + 0.75 = 1.25
    case(
        "n2",
        "new_hire",
        "IDI",
        [(W, oslo(3, 5, 12)), (C, oslo(3, 5, 18)), (W, oslo(3, 8, 12)), (A, oslo(3, 8, 18))],
        oslo(3, 9, 12),
    ),
    # Wednesday before Easter to the Tuesday after: the three holidays and the weekend do not
    # count, so cycle 0.5 + 0.5 = 1.0 (working 0.25, approval 0.75); no unit known
    case("n3", "new_hire", "ukjent", [(W, oslo(3, 24, 12)), (A, oslo(3, 24, 18))], oslo(3, 30, 12)),
    # opened in February, closed in the window: cycle 1.0 + 5.0 = 6.0, past expiry (5)
    case("n4", "new_hire", "IØT", [(W, oslo(2, 22, 12)), (A, oslo(2, 23, 12))], oslo(3, 2, 12)),
    # opened in the window, still open / closed after it: counted as opened only
    case("n5", "new_hire", "IDI", [(W, oslo(3, 31, 12))], None),
    case("n6", "new_hire", "IDI", [(W, oslo(3, 10, 12)), (A, oslo(3, 11, 12))], oslo(4, 1, 12)),
    # Thursday noon to Tuesday noon: cycle 0.5 + 1 + 1 + 0.5 = 3.0 (working 0.25, approval
    # 2.75), SLA 3.0: due
    case("e1", "extension", "IØT", [(W, oslo(3, 11, 12)), (A, oslo(3, 11, 18))], oslo(3, 16, 12)),
]
OPEN_NOW = [("new_hire", W), ("new_hire", A), ("pension", H), ("new_hire", A)]


def test_report_numbers_equal_the_hand_computed_ones():
    report = kpi_report(SEEDED, OPEN_NOW, SLA_DEFAULTS, MARCH)

    assert report.flow == {
        "extension": Flow(opened=1, closed=1),
        "new_hire": Flow(opened=5, closed=4),  # n1 n2 n3 n5 n6 opened; n1 n2 n3 n4 closed
    }
    # new_hire cycles 3.0, 2.0, 1.0, 6.0: median (2 + 3) / 2, p90 the 4th of 4 (nearest rank)
    assert report.cycle_time == {
        "extension": Spread(count=1, median=3.0, p90=3.0),
        "new_hire": Spread(count=4, median=2.5, p90=6.0),
    }
    assert report.time_in_state == {
        "extension": {
            W: Spread(count=1, median=0.25, p90=0.25),
            A: Spread(count=1, median=2.75, p90=2.75),
        },
        "new_hire": {
            W: Spread(count=4, median=0.75, p90=1.0),  # 1.0, 0.25 + 0.25, 0.25, 1.0
            C: Spread(count=1, median=0.75, p90=0.75),  # only n2 waited for its caller
            A: Spread(count=4, median=1.375, p90=5.0),  # 2.0, 0.75, 0.75, 5.0
        },
    }
    assert list(report.time_in_state["new_hire"]) == [W, C, A]  # in the order a case goes
    assert report.time_in_state_overall == {
        W: Spread(count=5, median=0.5, p90=1.0),  # 0.25 0.25 0.5 1.0 1.0: the 5th of 5
        C: Spread(count=1, median=0.75, p90=0.75),
        A: Spread(count=5, median=2.0, p90=5.0),  # 0.75 0.75 2.0 2.75 5.0
    }
    assert report.compliance == {
        "IDI": Compliance(closed=2, on_time=1, due=1, expired=0),  # n2 on time, n1 due
        "IØT": Compliance(closed=2, on_time=0, due=1, expired=1),  # e1 due, n4 expired
        "ukjent": Compliance(closed=1, on_time=1, due=0, expired=0),  # n3
    }
    assert report.compliance["IDI"].within_share == 1.0
    assert report.compliance["IDI"].due_share == 0.5
    assert report.compliance["IØT"].within_share == 0.5
    assert report.compliance["IØT"].due_share == 1.0
    assert report.backlog == {"new_hire": {W: 1, A: 2}, "pension": {H: 1}}


def test_the_sla_clock_pauses_while_the_caller_is_asked():
    n2 = SEEDED[1]
    assert sla_elapsed(n2) == 1.25
    assert business_days_between(n2.opened, n2.closed or n2.opened) == 2.0


def test_the_window_is_whole_oslo_days():
    assert MARCH.holds(datetime(2027, 3, 1, 0, 0, tzinfo=OSLO))
    assert MARCH.holds(datetime(2027, 3, 31, 23, 59, 59, tzinfo=OSLO))
    assert not MARCH.holds(datetime(2027, 4, 1, 0, 0, tzinfo=OSLO))
    assert not MARCH.holds(datetime(2027, 2, 28, 23, 59, 59, tzinfo=OSLO))
    assert not MARCH.holds(None)


def test_a_process_without_a_target_is_left_out_of_compliance():
    report = kpi_report(SEEDED, [], {"extension": SLA_DEFAULTS["extension"]}, MARCH)
    assert report.compliance == {"IØT": Compliance(closed=1, on_time=0, due=1, expired=0)}
    assert report.flow["new_hire"] == Flow(opened=5, closed=4)


def test_nothing_in_the_window_gives_empty_tables():
    report = kpi_report(
        SEEDED, [], SLA_DEFAULTS, Window(first=date(2026, 1, 1), last=date(2026, 1, 31))
    )
    assert (report.flow, report.cycle_time, report.compliance, report.backlog) == ({}, {}, {}, {})


# --- timelines from the recorded corpus ------------------------------------------------------


def _history(path: str) -> WorkflowHistory:
    return WorkflowHistory.from_json(path, (HISTORIES / path).read_text())


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_the_timeline_of_a_case_that_asked_its_caller_twice():
    timeline = timeline_from_history(
        _history("new_hire/v2_missing_data_then_reply.json"), utc("2030-01-01T00:00")
    )

    assert timeline is not None
    assert (timeline.process, timeline.unit) == ("new_hire", "ukjent")
    assert timeline.opened == utc("2026-12-01T20:25:15.192")  # the start event
    assert timeline.closed == utc("2026-12-01T20:25:15.825")  # the completion event
    # the upserts at events 17, 38 (a repeat), 39, 58, 65, 84, 91 (a repeat), 98 and 117,
    # each at its WaitingSince
    assert [(s.state, s.start, s.end) for s in timeline.segments] == [
        (W, utc("2026-12-01T20:25:15.193"), utc("2026-12-01T20:25:15.352")),
        (C, utc("2026-12-01T20:25:15.352"), utc("2026-12-01T20:25:15.473")),
        (W, utc("2026-12-01T20:25:15.473"), utc("2026-12-01T20:25:15.518")),
        (C, utc("2026-12-01T20:25:15.518"), utc("2026-12-01T20:25:15.623")),
        (W, utc("2026-12-01T20:25:15.623"), utc("2026-12-01T20:25:15.701")),
        (A, utc("2026-12-01T20:25:15.701"), utc("2026-12-01T20:25:15.814")),
        (D, utc("2026-12-01T20:25:15.814"), utc("2026-12-01T20:25:15.825")),
    ]


def test_the_timeline_of_a_case_the_caller_never_answered():
    timeline = timeline_from_history(_history("new_hire/v2_no_reply.json"), utc("2030-01-01T00:00"))

    assert timeline is not None
    assert [(s.state, s.start, s.end) for s in timeline.segments] == [
        (W, utc("2026-12-01T20:25:16.214"), utc("2026-12-01T20:25:16.335")),
        (C, utc("2026-12-01T20:25:16.335"), utc("2026-12-10T23:00:00.034")),
        (D, utc("2026-12-10T23:00:00.034"), utc("2026-12-10T23:00:00.042")),
    ]
    # Tuesday 1 December 21:25:16.335 Oslo to Friday 11 December 00:00:00.034: the rest of
    # Tuesday, Wed-Fri, Mon-Thu, and 34 ms of Friday
    rest_of_tuesday = timedelta(hours=2, minutes=34, seconds=43, milliseconds=665)
    waited = 7 + (rest_of_tuesday + timedelta(milliseconds=34)) / timedelta(days=1)
    assert abs(time_per_state(timeline)[C] - waited) < 1e-9
    assert sla_elapsed(timeline) < 1e-5  # paused all the while: only the 121 ms of work


def test_a_running_case_ends_its_last_segment_now():
    history = _history("new_hire/v2_missing_data_then_reply.json")
    del history.events[-1]  # as if the workflow had not completed yet
    now = utc("2026-12-02T08:00")

    timeline = timeline_from_history(history, now)

    assert timeline is not None and timeline.closed is None
    assert timeline.segments[-1].state is D and timeline.segments[-1].end == now


def test_a_workflow_without_a_process_is_no_case():
    history = _history("backfill/v2_finds_a_case_whose_webhook_never_came.json")
    assert timeline_from_history(history, utc("2030-01-01T00:00")) is None


# --- the page from a real server -------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


async def test_the_report_page_from_the_dev_server(dev_h: Harness, tmp_path: Path):
    h = dev_h
    await complete_form(h)
    await extension_registered(h)
    waiting = await h.start(h.submit(form_without("Kontonummer")))
    await h.wait_state(waiting, WaitState.AWAITING_CALLER)
    rows = await _visible(h.client, closed=2, waiting=1)

    today = datetime.now(OSLO).date()
    out = tmp_path / "rapport"
    page = await write_report(
        h.client, today - timedelta(days=1), today + timedelta(days=1), out, Settings()
    )

    assert page == out / "index.html"
    text = page.read_text(encoding="utf-8")
    assert _row(text, "Nyansettelse") == ["Nyansettelse", "2", "1"]  # opened, closed
    assert _row(text, "Forlengelse") == ["Forlengelse", "1", "1"]
    assert _row(text, "Sum") == ["Sum", "3", "2"]
    # the backlog: the one case waiting for its caller
    assert '<th>Prosess</th><th class="n">Venter på bruker</th>' in text
    assert '<tr><td>Nyansettelse</td><td class="n">1</td><td class="n">1</td></tr>' in text
    # compliance per unit as visibility knows the units of the closed cases
    for unit in {row.unit or "ukjent" for row in rows if row.close_time is not None}:
        assert f"<td>{unit}</td>" in text
    images = re.findall(r'<img src="([^"]+)"', text)
    assert len(images) == 6
    for name in images:
        assert (out / name).read_bytes().startswith(PNG_SIGNATURE)
    assert "http" not in text and "<script" not in text  # nothing fetched, nothing run


async def _visible(client, closed: int, waiting: int):  # type: ignore[no-untyped-def]
    """Wait until visibility shows the cases as they are (it lags the workflows a little)."""

    async def shown():  # type: ignore[no-untyped-def]
        rows = await list_cases(client)
        done = [row for row in rows if row.status == "COMPLETED"]
        asking = [row for row in rows if row.state == WaitState.AWAITING_CALLER.value]
        assert len(done) == closed and len(asking) == waiting, f"visibility shows {rows}"
        return rows

    return await eventually(shown, f"{closed} cases closed and {waiting} asking")


def _row(text: str, first: str) -> list[str]:
    """The cells of the first table row that starts with `first`."""
    match = re.search(rf"<tr[^>]*><td>{re.escape(first)}</td>(.*?)</tr>", text)
    assert match, f"no row {first}"
    return [first, *re.findall(r"<td[^>]*>([^<]*)</td>", match.group(1))]
