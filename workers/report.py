"""The KPI report for process owners: one HTML page with PNG plots, read from Temporal alone.

The service agreement (seed 000, ch. 6) set no processing-time targets "for lack of a reporting
tool". Temporal already keeps everything the report needs: visibility lists the cases, and each
workflow's history holds its timeline, because every state change upserts `WaitState` and
`WaitingSince` (workflows/search_attributes.py). So there is no second database to keep in step.
The counting is `domain/kpi.py`; this module reads the timelines and draws the page.

The page is plain HTML with its plots beside it as PNG files: nothing is fetched when it is
opened, so it can be mailed as a folder or put on a share.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.common import TypedSearchAttributes

from domain import processes
from domain.cases import OSLO, WaitState, state_label
from domain.kpi import (
    UNKNOWN_UNIT,
    CaseTimeline,
    KpiReport,
    Segment,
    Spread,
    Window,
    kpi_report,
)
from domain.sla import SlaTarget
from workers.case_index import CaseRow, list_cases, open_query, upserted
from workers.settings import Settings
from workflows import search_attributes as sa

# One colour per state, the same in every plot, so a reader learns them once.
STATE_COLOURS = {
    WaitState.WORKING: "#4477aa",
    WaitState.AWAITING_CALLER: "#ee6677",
    WaitState.ON_HOLD: "#ccbb44",
    WaitState.AWAITING_APPROVAL: "#66ccee",
    WaitState.AWAITING_PAYROLL: "#aa3377",
    WaitState.HANDED_OVER: "#999933",
    WaitState.DONE: "#bbbbbb",
}

_CLOSE_EVENTS = frozenset(
    {
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
    }
)
# Histories fetched at once: enough to be quick, few enough not to crowd the frontend.
_FETCH_AT_ONCE = 10


async def write_report(
    client: Client, start: date, end: date, out_dir: Path, settings: Settings
) -> Path:
    """Write `out_dir/index.html` and its plots for the days `start`..`end` (both included)
    and return the page's path."""
    window = Window(first=start, last=end)
    now = datetime.now(UTC)
    timelines = await read_timelines(client, window, now)
    open_cases = await read_backlog(client)
    report = kpi_report(timelines, open_cases, settings.sla_targets, window)
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = draw_plots(report, out_dir)
    page = out_dir / "index.html"
    page.write_text(render_html(report, plots, settings.sla_targets, now), encoding="utf-8")
    return page


# --- Reading Temporal ---------------------------------------------------------------------


def window_query(window: Window) -> str:
    """Visibility SQL for the workflows opened or closed in the window."""
    start, end = (
        moment.isoformat().replace("+00:00", "Z") for moment in (window.start, window.end)
    )
    return (
        f"((StartTime >= '{start}' AND StartTime < '{end}')"
        f" OR (CloseTime >= '{start}' AND CloseTime < '{end}'))"
    )


async def read_timelines(client: Client, window: Window, now: datetime) -> list[CaseTimeline]:
    """The timeline of every case opened or closed in the window, from its history."""
    rows = await list_cases(client, window_query(window))
    limit = asyncio.Semaphore(_FETCH_AT_ONCE)

    async def read(row: CaseRow) -> CaseTimeline | None:
        async with limit:
            handle = client.get_workflow_handle(row.workflow_id, run_id=row.run_id)
            return timeline_from_history(await handle.fetch_history(), now)

    found = await asyncio.gather(*(read(row) for row in rows))
    return [timeline for timeline in found if timeline is not None]


async def read_backlog(client: Client) -> list[tuple[str, WaitState]]:
    """(process, state) of every case open now, as visibility shows it."""
    rows = await list_cases(client, open_query())
    known = {state.value for state in WaitState}
    return [(row.process, WaitState(row.state)) for row in rows if row.state in known]


def timeline_from_history(history: WorkflowHistory, now: datetime) -> CaseTimeline | None:
    """A case's timeline from its workflow history: a segment per wait state, from each
    upsert of `WaitState` (at its `WaitingSince`) to the next, the last one ending when the
    workflow closed (or at `now` while it runs). None for a workflow that is not a case (it
    never set `Process`)."""
    events = list(history.events)
    opened = events[0].event_time.ToDatetime(tzinfo=UTC)
    closed = _closed_at(events)
    process: str | None = None
    unit: str | None = None
    entered: list[tuple[WaitState, datetime]] = []
    for event in events:
        attributes = _search_attributes(event)
        if attributes is None:
            continue
        process = process or attributes.get(sa.PROCESS)
        unit = attributes.get(sa.UNIT) or unit
        state = attributes.get(sa.WAIT_STATE)
        if state is None:
            continue
        since = attributes.get(sa.WAITING_SINCE) or event.event_time.ToDatetime(tzinfo=UTC)
        step = (WaitState(state), since)
        if not entered or entered[-1] != step:
            entered.append(step)
    if process is None:
        return None
    ends = [since for _, since in entered[1:]] + [closed or now]
    segments = [
        Segment(state=state, start=since, end=max(since, end))
        for (state, since), end in zip(entered, ends, strict=True)
    ]
    return CaseTimeline(
        workflow_id=history.workflow_id,
        process=process,
        unit=unit or UNKNOWN_UNIT,
        opened=opened,
        closed=closed,
        segments=segments,
    )


def _search_attributes(event: HistoryEvent) -> TypedSearchAttributes | None:
    """The search attributes an event sets: the start's and each upsert's; None for others."""
    if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        return upserted(event.workflow_execution_started_event_attributes.search_attributes)[0]
    if event.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
        attributes = event.upsert_workflow_search_attributes_event_attributes
        return upserted(attributes.search_attributes)[0]
    return None


def _closed_at(events: Sequence[HistoryEvent]) -> datetime | None:
    last = events[-1]
    if last.event_type in _CLOSE_EVENTS:
        return last.event_time.ToDatetime(tzinfo=UTC)
    return None


# --- Plots ----------------------------------------------------------------------------------


def draw_plots(report: KpiReport, out_dir: Path) -> dict[str, str]:
    """Draw each plot that has data to show; returns section → PNG file name."""
    plots: dict[str, str] = {}
    if report.flow:
        plots["flow"] = _save(_flow_plot(report), out_dir, "saker-per-prosess.png")
    if report.cycle_time:
        plots["cycle"] = _save(
            _spread_plot({processes.label(p): s for p, s in report.cycle_time.items()}, "#4477aa"),
            out_dir,
            "saksbehandlingstid.png",
        )
    if report.time_in_state:
        plots["steps"] = _save(_steps_plot(report), out_dir, "tid-per-steg.png")
    if report.time_in_state_overall:
        spreads = {state_label(s): v for s, v in report.time_in_state_overall.items()}
        plots["states"] = _save(_spread_plot(spreads, "#66ccee"), out_dir, "tid-per-tilstand.png")
    if report.compliance:
        plots["sla"] = _save(_compliance_plot(report), out_dir, "sla-per-enhet.png")
    if report.backlog:
        plots["backlog"] = _save(_backlog_plot(report), out_dir, "saker-under-arbeid.png")
    return plots


def _figure(rows: int) -> tuple[Figure, Axes]:
    height = 1.2 + 0.45 * max(rows, 2)
    figure = Figure(figsize=(8, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.subplots()


def _legend(ax: Axes, reverse: bool = False) -> None:
    """Above the plot, three to a row: inside it, it would hide the longest bar."""
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncols=3, frameon=False, reverse=reverse)


def _days_axis(ax: Axes, label: str) -> None:
    """Working days from 0, and at least one: a few minutes are then a sliver, not a scale
    of 1e-6."""
    ax.set_xlabel(label)
    ax.set_xlim(0, max(1.0, ax.get_xlim()[1]))


def _save(figure: Figure, out_dir: Path, name: str) -> str:
    figure.savefig(out_dir / name, format="png")
    return name


def _flow_plot(report: KpiReport) -> Figure:
    names = [processes.label(p) for p in report.flow]
    figure, ax = _figure(len(names))
    positions = range(len(names))
    opened = [row.opened for row in report.flow.values()]
    closed = [row.closed for row in report.flow.values()]
    ax.barh([y - 0.2 for y in positions], opened, height=0.4, label="Åpnet", color="#4477aa")
    ax.barh([y + 0.2 for y in positions], closed, height=0.4, label="Avsluttet", color="#228833")
    ax.set_yticks(list(positions), names)
    ax.invert_yaxis()
    ax.set_xlabel("Saker")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _legend(ax)
    return figure


def _spread_plot(spreads: dict[str, Spread], colour: str) -> Figure:
    """Median as a bar and the 90th percentile as a mark, per row."""
    names = list(spreads)
    figure, ax = _figure(len(names))
    positions = list(range(len(names)))
    ax.barh(positions, [s.median for s in spreads.values()], color=colour, label="Median")
    ax.scatter(
        [s.p90 for s in spreads.values()],
        positions,
        marker="|",
        s=400,
        linewidths=2.5,
        color="#222222",
        label="90-persentil",
        zorder=3,
    )
    ax.set_yticks(positions, names)
    ax.invert_yaxis()
    _days_axis(ax, "Arbeidsdager")
    _legend(ax, reverse=True)  # the median first
    return figure


def _steps_plot(report: KpiReport) -> Figure:
    """Per process, the median time in each state, stacked: where a typical case spends it."""
    names = [processes.label(p) for p in report.time_in_state]
    figure, ax = _figure(len(names))
    positions = list(range(len(names)))
    left = [0.0] * len(names)
    for state in WaitState:
        widths = [
            states[state].median if state in states else 0.0
            for states in report.time_in_state.values()
        ]
        if not any(widths):
            continue
        ax.barh(positions, widths, left=left, color=STATE_COLOURS[state], label=state_label(state))
        left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.set_yticks(positions, names)
    ax.invert_yaxis()
    _days_axis(ax, "Arbeidsdager (median per steg)")
    _legend(ax)
    return figure


def _compliance_plot(report: KpiReport) -> Figure:
    units = list(report.compliance)
    figure, ax = _figure(len(units))
    positions = list(range(len(units)))
    rows = list(report.compliance.values())
    parts = (
        ("I tide", "#228833", [r.on_time / r.closed for r in rows]),
        ("Varslet", "#ccbb44", [r.due / r.closed for r in rows]),
        ("Over frist", "#ee6677", [r.expired / r.closed for r in rows]),
    )
    left = [0.0] * len(units)
    for label, colour, shares in parts:
        ax.barh(
            positions,
            [100 * s for s in shares],
            left=[100 * x for x in left],
            color=colour,
            label=label,
        )
        left = [a + b for a, b in zip(left, shares, strict=True)]
    ax.set_yticks(positions, units)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("Andel av avsluttede saker (%)")
    _legend(ax)
    return figure


def _backlog_plot(report: KpiReport) -> Figure:
    names = [processes.label(p) for p in report.backlog]
    figure, ax = _figure(len(names))
    positions = list(range(len(names)))
    left = [0] * len(names)
    for state in WaitState:
        counts = [states.get(state, 0) for states in report.backlog.values()]
        if not any(counts):
            continue
        ax.barh(positions, counts, left=left, color=STATE_COLOURS[state], label=state_label(state))
        left = [a + b for a, b in zip(left, counts, strict=True)]
    ax.set_yticks(positions, names)
    ax.invert_yaxis()
    ax.set_xlabel("Åpne saker")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _legend(ax)
    return figure


# --- The page -------------------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.2rem; margin-top: 2.2rem; border-bottom: 1px solid #ccc; }
p.meta, p.note { color: #555; margin-top: 0.2rem; }
table { border-collapse: collapse; margin: 0.6rem 0; }
th, td { padding: 0.25rem 0.8rem; border-bottom: 1px solid #e4e4e4; text-align: left; }
th { background: #f3f3f3; white-space: nowrap; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.sum td { font-weight: 600; border-top: 1px solid #999; }
img { max-width: 100%; margin-top: 0.4rem; }
"""


def render_html(
    report: KpiReport, plots: dict[str, str], targets: dict[str, SlaTarget], now: datetime
) -> str:
    """The page: a short table per KPI, each with its plot below it."""
    window = report.window
    sections = [
        _section("Saker åpnet og avsluttet", _flow_table(report), plots.get("flow")),
        _section(
            "Saksbehandlingstid per prosess",
            _spread_table("Prosess", {processes.label(p): s for p, s in report.cycle_time.items()}),
            plots.get("cycle"),
            "Fra saken kom inn til den ble avsluttet, for saker avsluttet i perioden.",
        ),
        _section(
            "Tid per steg",
            _steps_table(report),
            plots.get("steps"),
            "Tid saken var i hver tilstand (alle besøk lagt sammen), for saker avsluttet i "
            "perioden som var innom tilstanden.",
        ),
        _section(
            "Tid i hver ventetilstand, alle prosesser",
            _spread_table(
                "Tilstand",
                {state_label(s): v for s, v in report.time_in_state_overall.items()},
            ),
            plots.get("states"),
        ),
        _section(
            "SLA-oppfyllelse per enhet",
            _compliance_table(report),
            plots.get("sla"),
            "Saker avsluttet i perioden. SLA-klokken står mens saken venter på bruker. "
            "Varslet: over varselgrensen, men avsluttet innen fristen; andel varslet regner "
            "med sakene over frist, som også ble varslet. " + _targets_note(targets, report),
        ),
        _section(
            "Saker under arbeid nå",
            _backlog_table(report),
            plots.get("backlog"),
            f"Åpne saker {_when(now)}, etter tilstanden de venter i.",
        ),
    ]
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="nb">',
            "<head>",
            '<meta charset="utf-8">',
            f"<title>Nøkkeltall {_period(window)}</title>",
            f"<style>{_STYLE}</style>",
            "</head>",
            "<body>",
            "<h1>Nøkkeltall for lønn og HR</h1>",
            f'<p class="meta">Periode {_period(window)}. '
            f"Laget {_when(now)} fra Temporal. Tider i arbeidsdager (norske virkedager); "
            "p90 er 90-persentilen: ni av ti saker brukte ikke lenger.</p>",
            *sections,
            "</body>",
            "</html>",
            "",
        ]
    )


def _section(title: str, table: str, plot: str | None, note: str = "") -> str:
    parts = [f"<h2>{html.escape(title)}</h2>"]
    if note:
        parts.append(f'<p class="note">{html.escape(note)}</p>')
    parts.append(table)
    if plot:
        parts.append(f'<img src="{html.escape(plot)}" alt="{html.escape(title)}">')
    return "\n".join(parts)


def _table(
    head: Sequence[str],
    rows: Iterable[Sequence[str]],
    sums: Sequence[str] = (),
    text_columns: int = 1,
) -> str:
    """A table whose first `text_columns` columns are text and the rest numbers (aligned
    right, so that they line up)."""
    body = list(rows)
    if not body:
        return "<p>Ingen saker.</p>"

    def cells(row: Sequence[str], tag: str) -> str:
        return "".join(
            f'<{tag} class="n">{html.escape(cell)}</{tag}>'
            if i >= text_columns
            else f"<{tag}>{html.escape(cell)}</{tag}>"
            for i, cell in enumerate(row)
        )

    lines = ["<table>", f"<tr>{cells(head, 'th')}</tr>"]
    lines += [f"<tr>{cells(row, 'td')}</tr>" for row in body]
    if sums:
        lines.append(f'<tr class="sum">{cells(sums, "td")}</tr>')
    lines.append("</table>")
    return "\n".join(lines)


def _flow_table(report: KpiReport) -> str:
    rows = [[processes.label(p), str(f.opened), str(f.closed)] for p, f in report.flow.items()]
    opened = sum(f.opened for f in report.flow.values())
    closed = sum(f.closed for f in report.flow.values())
    return _table(["Prosess", "Åpnet", "Avsluttet"], rows, ["Sum", str(opened), str(closed)])


def _spread_table(first: str, spreads: dict[str, Spread]) -> str:
    rows = [[name, str(s.count), _days(s.median), _days(s.p90)] for name, s in spreads.items()]
    return _table([first, "Saker", "Median", "p90"], rows)


def _steps_table(report: KpiReport) -> str:
    rows = [
        [processes.label(process), state_label(state), str(s.count), _days(s.median), _days(s.p90)]
        for process, states in report.time_in_state.items()
        for state, s in states.items()
    ]
    return _table(["Prosess", "Tilstand", "Saker", "Median", "p90"], rows, text_columns=2)


def _compliance_table(report: KpiReport) -> str:
    rows = [
        [
            unit,
            str(c.closed),
            str(c.on_time),
            str(c.due),
            str(c.expired),
            _share(c.within_share),
            _share(c.due_share),
        ]
        for unit, c in report.compliance.items()
    ]
    head = [
        "Enhet",
        "Avsluttet",
        "I tide",
        "Varslet",
        "Over frist",
        "Andel innen frist",
        "Andel varslet",
    ]
    return _table(head, rows)


def _backlog_table(report: KpiReport) -> str:
    states = [s for s in WaitState if any(s in row for row in report.backlog.values())]
    rows = [
        [processes.label(p), *(str(row.get(s, 0)) for s in states), str(sum(row.values()))]
        for p, row in report.backlog.items()
    ]
    sums = [
        "Sum",
        *(str(sum(row.get(s, 0) for row in report.backlog.values())) for s in states),
        str(sum(sum(row.values()) for row in report.backlog.values())),
    ]
    return _table(["Prosess", *(state_label(s) for s in states), "Sum"], rows, sums)


def _targets_note(targets: dict[str, SlaTarget], report: KpiReport) -> str:
    shown = sorted({p for p in report.flow} & set(targets))
    marks = "; ".join(
        f"{processes.label(p)}: varsel ved {_days(targets[p].due_days)}, "
        f"frist {_days(targets[p].expires_days)} dager"
        for p in shown
    )
    return f"Mål: {marks}." if marks else ""


def _days(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")


def _share(value: float) -> str:
    return f"{100 * value:.0f} %"


def _period(window: Window) -> str:
    return f"{_day(window.first)}\u2013{_day(window.last)}"  # an en dash, as in print


def _day(day: date) -> str:
    return day.strftime("%d.%m.%Y")


def _when(moment: datetime) -> str:
    return moment.astimezone(OSLO).strftime("%d.%m.%Y kl. %H:%M")
