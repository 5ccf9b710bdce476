"""The router's view of the app: only LunoraContainers of its app, updated and forgotten as the
watch reports them, with the app's pull Secret."""

from __future__ import annotations

from typing import Any

import pytest

from lunora_operator.local.catalog import Catalog
from tests.unit.local.fakes import FakeKube, fleet_with

pytestmark = pytest.mark.looptime


def lc(name: str, app: str = "demo", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "lunora.sh/v1alpha1",
        "kind": "LunoraContainer",
        "metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}"},
        "spec": {"app": app, "image": {"registry": f"r/{name}:1"}, **spec},
    }


async def test_containers_of_other_apps_are_ignored_and_deleted_ones_forgotten() -> None:
    fleet = fleet_with(FakeKube(), *[])
    fleet.containers.clear()
    catalog = Catalog(fleet, "demo")

    catalog.on_containers([lc("web", maxInstances=2), lc("other", app="else")])
    assert sorted(fleet.containers) == ["web"]
    assert fleet.containers["web"].max_instances == 2

    catalog.on_container_event("MODIFIED", lc("web", maxInstances=4))
    assert fleet.containers["web"].max_instances == 4
    catalog.on_container_event("MODIFIED", lc("web", app="moved"))
    assert "web" not in fleet.containers


async def test_the_apps_pull_secret_reaches_every_container_and_a_relist_drops_the_missing() -> None:
    fleet = fleet_with(FakeKube())
    fleet.containers.clear()
    catalog = Catalog(fleet, "demo")
    catalog.on_containers([lc("web"), lc("api")])

    catalog.on_app_event(
        "ADDED",
        {
            "metadata": {"name": "demo"},
            "spec": {"workerName": "demo", "mode": "local", "local": {"pullSecret": "reg"}},
        },
    )
    assert {c.pull_secret for c in fleet.containers.values()} == {"reg"}

    catalog.on_containers([lc("web")])
    assert sorted(fleet.containers) == ["web"]
