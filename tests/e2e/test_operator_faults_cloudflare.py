"""The operator against a Cloudflare that rate-limits, fails, stalls and drops connections:
it converges to exactly the declared state, with nothing created, rolled out or migrated twice."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lunora_operator.testing import Fault
from lunora_operator.testing.environment import TestEnvironment
from tests.support.operator import OperatorProcess, operator_process, wait_for
from tests.support.scenario import Scenario, assert_exactly_once

pytest_plugins = ["tests.support.operator_fixtures"]
pytestmark = [pytest.mark.apiserver, pytest.mark.docker, pytest.mark.registry]

REQUEST_TIMEOUT = 2.0
# Short client timeout and backoff, so a test spends seconds, not minutes, on each fault.
FAST_CLOUDFLARE = (
    "--cloudflare-timeout",
    str(REQUEST_TIMEOUT),
    "--cloudflare-deadline",
    "20",
    "--cloudflare-backoff",
    "0.2",
)
EVERY_ENDPOINT_THE_OPERATOR_CALLS = (
    "workers.scripts.list",
    "durable_objects.namespaces.list",
    "workers.scripts.update",
    "workers.scripts.secrets.update",
    "workers.scripts.secrets.delete",
    "registries.credentials.generate",
    "applications.list",
    "applications.create",
    "applications.edit",
    "applications.rollouts.create",
    "applications.delete",
)


@pytest.fixture
def operator(
    testenv: TestEnvironment, namespace: str, tmp_path: Path, installed_crds: None
) -> Iterator[OperatorProcess]:
    process = operator_process(
        testenv, namespace, tmp_path / "operator.log", *FAST_CLOUDFLARE, resync=5
    ).start()
    yield process
    process.stop()


def test_a_429_on_every_endpoint_is_waited_out_as_retry_after_says(
    scenario: Scenario, operator: OperatorProcess
) -> None:
    fake = scenario.fake
    for operation in EVERY_ENDPOINT_THE_OPERATOR_CALLS:
        fake.inject(operation, Fault.rate_limited(retry_after=2))
    # A whole life: create both, change web in place and by rollout, drop its secret, delete job.
    scenario.apply_app()
    scenario.apply_web()
    scenario.apply_job()
    scenario.wait_ready("web", "job")
    assert_exactly_once(scenario, ["web", "job"], built=True)
    scenario.roll_out_web(maxInstances=3)
    scenario.resources.patch("lunoracontainer", "web", {"spec": {"secrets": None}})
    scenario.resources.kubectl("delete", "lc/job", "-n", scenario.resources.namespace, "--timeout=90s")
    wait_for("the Worker secret to go", lambda: fake.secret_names("demo") == set())
    scenario.wait_ready("web")

    for operation in EVERY_ENDPOINT_THE_OPERATOR_CALLS:
        statuses = [r.status for r in fake.requests(operation)]
        assert statuses[0] == 429, f"{operation}: {statuses}"
        assert 200 in statuses, f"{operation} never succeeded: {statuses}"
    waits = re.findall(r"retrying in ([0-9.]+)s after RateLimited", operator.logs())
    assert waits
    assert {float(wait) for wait in waits} == {2.0}
    assert_exactly_once(scenario, ["web"])
    web = fake.application("demo-webcontainer")
    assert web is not None
    assert web["max_instances"] == 3
    assert web["configuration"]["image"] == "docker.io/acme/web:2.0"
    assert len(fake.rollouts(web["id"])) == 1
    assert len(scenario.successful("applications.edit")) == 1
    assert len(scenario.successful("applications.delete")) == 1


def test_bursts_of_server_errors_on_every_endpoint_change_nothing_twice(
    scenario: Scenario, operator: OperatorProcess
) -> None:
    fake = scenario.fake
    for operation in EVERY_ENDPOINT_THE_OPERATOR_CALLS:
        fake.inject(operation, Fault.server_error(503, times=3))
    scenario.apply_app()
    scenario.apply_web()
    scenario.apply_job()
    scenario.wait_ready("web", "job")
    scenario.roll_out_web(maxInstances=3)

    assert_exactly_once(scenario, ["web", "job"], built=True)
    for operation in ("applications.create", "applications.rollouts.create", "workers.scripts.update"):
        assert [r.status for r in fake.requests(operation)][:3] == [503, 503, 503], operation
    web = fake.application("demo-webcontainer")
    assert web is not None
    assert web["max_instances"] == 3
    assert len(fake.rollouts(web["id"])) == 1


def test_answers_slower_than_the_client_timeout_change_nothing_twice(
    scenario: Scenario, operator: OperatorProcess
) -> None:
    """The request times out on the client, but Cloudflare carries it out a moment later."""
    fake = scenario.fake
    late = REQUEST_TIMEOUT + 1.5
    for operation in (
        "workers.scripts.update",
        "workers.scripts.secrets.update",
        "applications.create",
        "applications.rollouts.create",
    ):
        fake.inject(operation, Fault.latency(late))
    scenario.apply_app()
    scenario.apply_web()
    scenario.wait_ready("web")
    scenario.roll_out_web()
    scenario.wait_ready("web")
    time.sleep(late)  # every request sent has been carried out by now, however late

    assert "did not answer in time" in operator.logs()
    assert_exactly_once(scenario, ["web"])
    web = fake.application("demo-webcontainer")
    assert web is not None
    assert len(fake.rollouts(web["id"])) == 1


def test_connections_dropped_after_cloudflare_acted_are_looked_up_before_a_retry(
    scenario: Scenario, operator: OperatorProcess
) -> None:
    fake = scenario.fake
    for operation in (
        "workers.scripts.update",
        "workers.scripts.secrets.update",
        "applications.create",
        "applications.edit",
        "applications.rollouts.create",
    ):
        fake.inject(operation, Fault.dropped_after_processing())
    scenario.apply_app()
    scenario.apply_web()
    scenario.wait_ready("web")
    scenario.roll_out_web(maxInstances=3)
    scenario.wait_ready("web")

    for operation in ("workers.scripts.update", "applications.create", "applications.rollouts.create"):
        assert fake.requests(operation)[0].dropped, operation
    assert_exactly_once(scenario, ["web"])
    web = fake.application("demo-webcontainer")
    assert web is not None
    assert web["max_instances"] == 3
    assert len(fake.rollouts(web["id"])) == 1
    assert fake.secret_value("demo", "API_KEY") == "fault-suite-web-api-key-93ab7f"
