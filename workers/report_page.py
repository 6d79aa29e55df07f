"""The KPI report's page: plain HTML, a short table per KPI with its plot below it, in the
service centre's Norwegian."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from domain import processes
from domain.cases import OSLO, WaitState, state_label
from domain.kpi import KpiReport, Spread, Window
from domain.sla import SlaTarget

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
