"""The KPI report's plots: one PNG per section of the page, drawn with matplotlib's object API
(no pyplot, so no global state and no display), each state in the same colour everywhere."""

from __future__ import annotations

from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from domain import processes
from domain.cases import WaitState, state_label
from domain.kpi import KpiReport, Spread

# One colour per state, the same in every plot, so a reader learns them once.
STATE_COLOURS = {
    WaitState.WORKING: "#4477aa",
    WaitState.AWAITING_CALLER: "#ee6677",
    WaitState.ON_HOLD: "#ccbb44",
    WaitState.AWAITING_APPROVAL: "#66ccee",
    WaitState.AWAITING_PAYROLL: "#aa3377",
    WaitState.HANDED_OVER: "#999933",
    WaitState.NEEDS_OPERATOR: "#882255",
    WaitState.DONE: "#bbbbbb",
}


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
