"""The registry of processes is what the worker registers and the intake routes: a name spelled
one way there and another in a workflow would start a workflow type no worker runs."""

from __future__ import annotations

import pytest

from domain import extension, final_settlement, new_hire, processes, resignation
from domain.processes import PROCESSES, Process
from workers.routing import ROUTES, route_named
from workers.worker import WORKFLOWS


def _registered_name(cls: type) -> str:
    return str(cls.__temporal_workflow_definition.name)  # type: ignore[attr-defined]


def test_every_process_is_a_workflow_type_the_worker_registers():
    registered = {_registered_name(cls) for cls in WORKFLOWS}
    assert {process.workflow for process in PROCESSES} <= registered


def test_every_process_is_routed_and_a_route_starts_its_own_workflow():
    # a process may have a second route: the case it opens to someone whose answer it awaits
    assert {route.process.name for route in ROUTES.values()} == set(processes.NAMES)
    for category, route in ROUTES.items():
        assert route.category == category
        if route.run is not None:
            owner = next(c for c in WORKFLOWS if c.__name__ == route.run.__qualname__.split(".")[0])
            assert _registered_name(owner) == route.process.workflow


@pytest.mark.parametrize("module", [new_hire, extension, final_settlement, resignation])
def test_each_form_module_names_its_category_as_the_registry_does(module: object):
    assert processes.of_category(module.CATEGORY) is not None  # type: ignore[attr-defined]


def test_workflow_ids_are_the_business_keys():
    assert processes.NEW_HIRE.workflow_id("I2611-0042") == "new-hire-I2611-0042"
    assert processes.FINAL_SETTLEMENT.workflow_id("I2611-0042") == "final-settlement-I2611-0042"
    assert processes.RESIGNATION.workflow_id("F-17") == "resignation-F-17"


def test_a_resignation_is_never_started_by_a_topdesk_form():
    assert processes.started_by_form("Oppsigelse") is None
    assert route_named("Oppsigelse") is None
    assert processes.of_category("Oppsigelse") is processes.RESIGNATION
    started = processes.started_by_form("Pensjon")
    assert isinstance(started, Process) and started.workflow == "Pension"


def test_labels_are_the_categories_and_an_unknown_name_reads_as_itself():
    assert processes.label("final_settlement") == "Fratredelse"
    assert processes.label("retired_process") == "retired_process"
