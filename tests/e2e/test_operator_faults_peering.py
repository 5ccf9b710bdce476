"""Two operator processes started by mistake on the same namespace: kopf's peering (on by
default) keeps one active, the other paused until the first stops; nothing is done twice."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from lunora_operator.testing.environment import TestEnvironment
from tests.support.kube import KubeClients
from tests.support.operator import operator_process, wait_for
from tests.support.scenario import Scenario, assert_exactly_once

pytest_plugins = ["tests.support.operator_fixtures"]
pytestmark = [pytest.mark.apiserver, pytest.mark.docker, pytest.mark.registry]

CLOUDFLARE_CALL = "HTTP Request:"
"""One line per Cloudflare request, logged at DEBUG: both processes run with --verbose."""


def peers(kube: KubeClients, namespace: str) -> dict[str, int]:
    """Live processes of the peering: identity -> priority."""
    found = kube.custom.get_namespaced_custom_object(
        "kopf.dev", "v1", namespace, "kopfpeerings", "lunora-operator"
    )
    return {identity: peer["priority"] for identity, peer in (found.get("status") or {}).items() if peer}


def test_a_second_operator_waits_behind_the_first_and_takes_over_when_it_stops(
    scenario: Scenario,
    testenv: TestEnvironment,
    kube: KubeClients,
    namespace: str,
    tmp_path: Path,
    installed_crds: None,
) -> None:
    fake = scenario.fake
    first = operator_process(testenv, namespace, tmp_path / "first.log", "--verbose", resync=5).start()
    second = operator_process(testenv, namespace, tmp_path / "second.log", "--verbose", resync=5)
    try:
        scenario.apply_app()
        scenario.apply_web()
        scenario.wait_ready("web")
        second.start()
        wait_for("both processes in the peering", lambda: len(peers(kube, namespace)) == 2)
        first_id, second_id = (process.env["POD_ID"] for process in (first, second))
        assert peers(kube, namespace)[first_id] > peers(kube, namespace)[second_id]

        # Work while both run: the first does all of it, the second nothing.
        scenario.apply_api()
        scenario.resources.patch("lunoracontainer", "web", {"spec": {"maxInstances": 3}})
        wait_for("max_instances 3", lambda: fake.application("demo-webcontainer")["max_instances"] == 3)  # type: ignore[index]
        scenario.wait_ready("web", "api")
        assert_exactly_once(scenario, ["web", "api"])
        assert len(scenario.successful("applications.edit")) == 1
        second.assert_alive()
        assert CLOUDFLARE_CALL not in second.logs()

        # The first stops (and leaves the peering): the second takes over at once.
        first.stop()
        wait_for("the second to resume", lambda: "Resuming operations" in second.logs(), timeout=30)
        scenario.resources.patch("lunoracontainer", "web", {"spec": {"maxInstances": 4}})
        wait_for("max_instances 4", lambda: fake.application("demo-webcontainer")["max_instances"] == 4)  # type: ignore[index]
        scenario.wait_ready("web", "api")
        assert CLOUDFLARE_CALL in second.logs()
        assert_exactly_once(scenario, ["web", "api"])
        assert len(scenario.successful("applications.edit")) == 2
    finally:
        second.stop()
        first.stop()


def test_without_its_peering_object_the_operator_stops_at_once_and_says_why(
    testenv: TestEnvironment, tmp_path: Path, installed_crds: None
) -> None:
    missing = f"t-missing-{uuid.uuid4().hex[:8]}"
    process = operator_process(testenv, missing, tmp_path / "operator.log").start()
    assert process.process is not None
    assert process.process.wait(60) == 1
    assert (
        f"cannot create KopfPeering 'lunora-operator' in namespace {missing}: the peering CRDs "
        "(kopfpeerings.kopf.dev, clusterkopfpeerings.kopf.dev) are not installed or the namespace does "
        "not exist. Install crds/kopf/peering.yaml, or run a single process with --standalone"
    ) in process.logs()
