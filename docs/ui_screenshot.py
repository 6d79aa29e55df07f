"""Screenshots of Temporal UI showing saksflyt's cases as a case handler reads them (issue 5).

    .venv/bin/python docs/ui_screenshot.py            # a fresh embedded stack on free ports
    .venv/bin/python docs/ui_screenshot.py --running  # the `saksflyt dev` running here (same cwd)

It submits a few forms in TOPdesk (the simulator's webhooks start the cases), waits until
visibility shows each in the state it waits in, and takes three screenshots with headless
Chromium (Playwright drives the machine's /usr/bin/chromium; none is downloaded):

    docs/temporal-ui-list.png      the workflow list, with the cases' search attributes as columns
    docs/temporal-ui-case.png      one case's summary and current details (User Metadata)
    docs/temporal-ui-timeline.png  the same case's timeline: its activities' and timers' summaries

The case shown is the one waiting for the caller. The forms are made up; nothing personal shows.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from temporalio.client import Client

from adapters.dfo.sap import Employee, SapStub
from adapters.topdesk.client import TopdeskClient
from adapters.topdesk.models import NewIncident, Ref
from domain.cases import WaitState
from workers.case_index import CaseRow, list_cases
from workers.demo_cases import demo_form
from workers.dev import DevStack
from workers.logging import configure_logging
from workers.settings import Settings
from workers.temporal import connect

DOCS = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
SETTLE_SECONDS = 60.0


@dataclass
class Sample:
    """A form to submit, and where its case is to stand before the screenshot."""

    category: str
    form: str
    waits_in: WaitState | None  # None: the case is to be finished
    number: str = ""


def samples(sap: SapStub) -> list[Sample]:
    extended, leaving = _employee_number(), _employee_number()
    sap.add_employee(
        Employee(ansattnummer=extended, startdato=date(2025, 1, 1), sluttdato=date(2027, 6, 30))
    )
    sap.add_employee(Employee(ansattnummer=leaving, startdato=date(2025, 1, 1)))
    return [
        # first: the case whose pages are shown (its wait has a deadline and a reminder timer)
        Sample("Nyansettelse", demo_form({"Kontonummer": ""}), WaitState.AWAITING_CALLER),
        Sample("Nyansettelse", demo_form({}), WaitState.AWAITING_APPROVAL),
        Sample("Nyansettelse", demo_form({"Lønnsform": "Timelønn"}), None),  # belongs to TOA
        Sample(
            "Forlengelse",
            _form(
                Navn="Ola Hansen",
                Ansattnummer=extended,
                **{"Ny sluttdato": "30.06.2028", "ePhorte-nummer": "2026/23456"},
            ),
            WaitState.AWAITING_APPROVAL,
        ),
        Sample(
            "Fratredelse",
            _form(
                Navn="Ingrid Berg",
                Ansattnummer=leaving,
                Sluttdato="31.01.2027",
                Årsak="Midlertidig",
                Leder="Ola Leder",
            ),
            WaitState.AWAITING_PAYROLL,
        ),
    ]


def _form(**fields: str) -> str:
    return "<br>".join(f"{label}: {value}" for label, value in fields.items())


def _employee_number() -> str:
    return f"{random.randint(5100000, 5999999):08d}"


def submit(topdesk: TopdeskClient, sample: Sample) -> None:
    """The unit's HR sends the form; TOPdesk's webhook starts the case."""
    sample.number = topdesk.create_incident(
        NewIncident(
            caller_lookup={"email": "hr@ntnu.no"},
            brief_description=sample.category,
            request=sample.form,
            category=Ref(name=sample.category),
            entry_type=Ref(name="Skjema"),
        )
    ).number


async def settled(client: Client, sample: Sample) -> CaseRow | None:
    """The case's row once visibility shows it where it is to stand."""
    for row in await list_cases(client, f"CaseNumber = '{sample.number}'"):
        if sample.waits_in is None and row.status == "COMPLETED":
            return row
        if row.open and row.state == sample.waits_in:
            return row
    return None


async def wait_until_settled(client: Client, cases: list[Sample]) -> dict[str, CaseRow]:
    deadline = asyncio.get_running_loop().time() + SETTLE_SECONDS
    rows: dict[str, CaseRow] = {}
    while len(rows) < len(cases):
        if asyncio.get_running_loop().time() > deadline:
            missing = [case.number for case in cases if case.number not in rows]
            raise SystemExit(f"cases never settled in visibility: {missing}")
        for case in cases:
            if case.number not in rows and (row := await settled(client, case)):
                rows[case.number] = row
                print(f"  {case.number} {case.category}: {row.state} ({row.status})")
        await asyncio.sleep(0.5)
    return rows


async def prepare(settings: Settings) -> CaseRow:
    """Submit the samples, wait for them; the case whose page is shown is the first."""
    topdesk = TopdeskClient(
        settings.topdesk_url,
        settings.topdesk_login,
        settings.topdesk_app_password.get_secret_value(),
    )
    cases = samples(SapStub(settings.sap_stub_path))
    for case in cases:
        submit(topdesk, case)
    rows = await wait_until_settled(await connect(settings), cases)
    return rows[cases[0].number]


# Temporal UI keeps the list's columns in the browser (localStorage); the case's own search
# attributes make the list read as a case list.
COLUMNS = ["Status", "Workflow ID", "CaseNumber", "Process", "WaitState", "WaitingSince", "DueDate"]
DRIVER = r"""
const { chromium } = require(process.env.PLAYWRIGHT_CORE);
const job = JSON.parse(process.argv[1]);
// The text in any frame: Temporal UI renders a workflow's details in an iframe of their own.
async function shows(page, text) {
  for (const deadline = Date.now() + 30000; Date.now() < deadline; ) {
    for (const frame of page.frames()) {
      if (await frame.getByText(text).first().isVisible().catch(() => false)) return true;
    }
    await page.waitForTimeout(250);
  }
  return false;
}
(async () => {
  const browser = await chromium.launch({ executablePath: job.chromium, args: job.flags });
  const context = await browser.newContext({
    viewport: { width: 1800, height: 1000 }, timezoneId: "Europe/Oslo", locale: "nb-NO",
  });
  await context.addInitScript((columns) => {
    localStorage.setItem("namespace-workflow-table-columns", JSON.stringify(columns));
  }, job.columns);
  const page = await context.newPage();
  let missing = 0;
  for (const shot of job.shots) {
    await page.setViewportSize({ width: 1800, height: shot.height });
    await page.goto(shot.url);
    if (!(await shows(page, shot.wait_for))) {
      console.error(`${shot.url} never showed "${shot.wait_for}"`);
      missing += 1;  // taken all the same, to show what the page did show
    }
    await page.screenshot({ path: shot.path, fullPage: true });
  }
  await browser.close();
  process.exit(missing ? 1 : 0);
})().catch((error) => { console.error(error); process.exit(1); });
"""
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PLAYWRIGHT_CORE = "playwright-core@1.64.1"  # drives the machine's Chromium; never downloads one


@dataclass
class Shot:
    url: str
    path: Path
    wait_for: str  # a text the page shows once it has rendered the cases
    height: int = 1000


def screenshot(shots: list[Shot], namespace: str) -> None:
    """Headless Chromium driven by Playwright, so that the list's columns can be set and each
    page is taken once it shows what it is for."""
    job = {
        "chromium": CHROMIUM,
        "flags": FLAGS,
        "columns": {namespace: [{"label": label} for label in COLUMNS]},
        "shots": [
            {"url": s.url, "path": str(s.path), "wait_for": s.wait_for, "height": s.height}
            for s in shots
        ],
    }
    env = {**os.environ, "PLAYWRIGHT_CORE": str(_playwright_core())}
    subprocess.run(["node", "-e", DRIVER, json.dumps(job)], env=env, check=True, timeout=180)
    for shot in shots:
        print(f"  {shot.path}  ← {shot.url}")


def _playwright_core() -> Path:
    """playwright-core from the npm registry, once, into the (git-ignored) data folder."""
    folder = DOCS.parent / ".saksflyt" / "docs-tools"
    module = folder / "node_modules" / "playwright-core"
    if not module.exists():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--prefix", str(folder), "--no-audit", "--no-fund", PLAYWRIGHT_CORE],
            check=True,
        )
    return module


def fresh_stack_environment() -> None:
    """A data folder and ports of its own, so that nothing of a running stack is touched; the
    stack's processes read their settings from this environment."""
    temporal, ui, simulator, intake, metrics = _free_ports(5)
    os.environ.update(
        {
            "SAKSFLYT_DATA_DIR": tempfile.mkdtemp(prefix="saksflyt-ui-"),
            "SAKSFLYT_TEMPORAL_ADDRESS": f"127.0.0.1:{temporal}",
            "SAKSFLYT_TEMPORAL_UI_PORT": str(ui),
            "SAKSFLYT_TOPDESK_URL": f"http://127.0.0.1:{simulator}",
            "SAKSFLYT_INTAKE_PORT": str(intake),
            "SAKSFLYT_METRICS_ADDRESS": f"127.0.0.1:{metrics}",
        }
    )


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for probe in sockets:
        probe.bind(("127.0.0.1", 0))
    ports = [probe.getsockname()[1] for probe in sockets]
    for probe in sockets:
        probe.close()
    return ports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--running", action="store_true", help="use the running `saksflyt dev`")
    args = parser.parse_args()
    configure_logging("console", logging.WARNING)  # the TOPdesk client's requests are no news
    if not args.running:
        fresh_stack_environment()
    settings = Settings()
    stack = contextlib.nullcontext() if args.running else DevStack(settings)
    with stack:
        case = asyncio.run(prepare(settings))
        ui = (
            f"http://127.0.0.1:{settings.temporal_ui_port}/namespaces/{settings.temporal_namespace}"
        )
        page = f"{ui}/workflows/{case.workflow_id}/{case.run_id}"
        shots = [
            Shot(f"{ui}/workflows", DOCS / "temporal-ui-list.png", case.case_number or "", 640),
            Shot(f"{page}/user-metadata", DOCS / "temporal-ui-case.png", "venter på", 620),
            Shot(f"{page}/timeline", DOCS / "temporal-ui-timeline.png", "TOPdesk: les sak", 900),
        ]
        screenshot(shots, settings.temporal_namespace)
    if not args.running:
        shutil.rmtree(settings.data_dir, ignore_errors=True)
    sys.stdout.flush()
    os._exit(0)  # the SDK's bridge threads can abort an exiting interpreter (§2.10)


if __name__ == "__main__":
    main()
