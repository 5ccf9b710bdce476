"""The operator when the parts around it go away for a while: the API server restarted in the
middle of a reconcile, the registry down, the Docker engine unreachable. Each says so in a
condition while it lasts and ends exactly once when the part is back.

The operator reaches the part through something the test owns — a second API server of the test
control plane, a proxy in front of the registry or the engine — so the shared ones keep serving
every other test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lunora_operator.testing import FakeCloudflare, Fault
from lunora_operator.testing.environment import TestEnvironment
from lunora_operator.testing.fake_cloudflare import RegistryConfig
from tests.support.apiserver import SecondApiServer
from tests.support.operator import Resources, operator_process, wait_for
from tests.support.proxy import TcpProxy
from tests.support.scenario import Scenario, assert_exactly_once

pytest_plugins = ["tests.support.operator_fixtures"]
pytestmark = [pytest.mark.apiserver, pytest.mark.docker, pytest.mark.registry]


def test_the_api_server_restarted_mid_reconcile(
    scenario: Scenario,
    testenv: TestEnvironment,
    namespace: str,
    tmp_path: Path,
    installed_crds: None,
) -> None:
    fake = scenario.fake
    with SecondApiServer(testenv.kubeconfig, tmp_path) as apiserver:
        operator = operator_process(
            testenv, namespace, tmp_path / "operator.log", resync=5, kubeconfig=apiserver.kubeconfig
        )
        try:
            # The create is slow, so the API server goes while the container's reconcile is under
            # way and comes back after it, with the status still to be written.
            slow_create = Fault.latency(3)
            fake.inject("applications.create", slow_create)
            operator.start()
            scenario.apply_app()
            scenario.apply_web()
            # The fault is taken when the create arrives; it is answered 3 s later.
            wait_for("the create to arrive", lambda: slow_create.times == 0, interval=0.02)
            apiserver.restart(down_for=2)
            scenario.apply_api()  # through the shared API server: seen once the watch is back

            scenario.wait_ready("web", "api", timeout=30)  # without waiting out a crash backoff
            operator.assert_alive()
            assert "failed with an exception" not in operator.logs()
            assert_exactly_once(scenario, ["web", "api"])
        finally:
            operator.stop()


@pytest.fixture
def registry_proxy(testenv: TestEnvironment) -> Iterator[TcpProxy]:
    with TcpProxy(server_address_of(testenv.registry)) as proxy:
        yield proxy


def server_address_of(host_port: str) -> tuple[str, int]:
    host, _, port = host_port.rpartition(":")
    return host, int(port)


def test_the_registry_down_for_a_while(
    resources: Resources,
    registry_proxy: TcpProxy,
    testenv: TestEnvironment,
    namespace: str,
    tmp_path: Path,
    installed_crds: None,
) -> None:
    registry = RegistryConfig(
        host=registry_proxy.address, username=testenv.registry_user, password=testenv.registry_password
    )
    with FakeCloudflare(registry=registry) as fake:
        scenario = Scenario(resources, fake, testenv, registry=registry_proxy.address)
        operator = operator_process(testenv, namespace, tmp_path / "operator.log", resync=5).start()
        try:
            registry_proxy.down()
            scenario.apply_app()
            scenario.apply_job()
            waiting = resources.wait_condition("lunoracontainer", "job", "ImageReady", "False")
            image_ready = next(c for c in waiting["status"]["conditions"] if c["type"] == "ImageReady")
            assert image_ready["reason"] == "RegistryUnavailable"
            assert registry_proxy.address in image_ready["message"]
            ready = next(c for c in waiting["status"]["conditions"] if c["type"] == "Ready")
            assert ready["status"] == "False"
            assert ready["reason"] == "RegistryUnavailable"
            assert fake.applications() == []

            registry_proxy.up()
            scenario.wait_ready("job")
            assert_exactly_once(scenario, ["job"], built=True)
        finally:
            operator.stop()


def test_the_docker_engine_unavailable_for_a_while(
    scenario: Scenario,
    testenv: TestEnvironment,
    namespace: str,
    tmp_path: Path,
    installed_crds: None,
) -> None:
    with TcpProxy(testenv.docker_host.removeprefix("unix://")) as engine:
        engine.down()
        docker_host = f"tcp://{engine.address}"
        operator = operator_process(
            testenv, namespace, tmp_path / "operator.log", resync=5, docker_host=docker_host
        ).start()
        try:
            scenario.apply_app()
            scenario.apply_web()
            scenario.apply_job()
            scenario.wait_ready("web")  # a registry image needs no engine
            waiting = scenario.resources.wait_condition("lunoracontainer", "job", "ImageReady", "False")
            image_ready = next(c for c in waiting["status"]["conditions"] if c["type"] == "ImageReady")
            assert image_ready["reason"] == "DockerUnavailable"
            assert f"cannot reach the Docker engine at {docker_host}" in image_ready["message"]
            reconciling = next(c for c in waiting["status"]["conditions"] if c["type"] == "Reconciling")
            assert reconciling["status"] == "True"

            engine.up()
            scenario.wait_ready("web", "job")
            assert_exactly_once(scenario, ["web", "job"], built=True)
        finally:
            operator.stop()
