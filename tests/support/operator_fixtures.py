"""Fixtures for end-to-end tests of the running operator: `pytest_plugins = [...]`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lunora_operator.testing import FakeCloudflare
from lunora_operator.testing.environment import TestEnvironment
from lunora_operator.testing.fake_cloudflare import RegistryConfig
from tests.support.kube import Kubectl, install_lunora_crds
from tests.support.leak_scan import leak_scan, pytest_terminal_summary  # noqa: F401  (every test that runs the operator ends with the leak scan)
from tests.support.operator import OperatorProcess, Resources, operator_process
from tests.support.scenario import Scenario

CRDS = Path(__file__).resolve().parents[2] / "crds"


@pytest.fixture(scope="session")
def installed_crds(kubectl: Kubectl) -> None:
    install_lunora_crds(kubectl)
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CRDS / "kopf"))
    kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd/kopfpeerings.kopf.dev")


@pytest.fixture
def fake_cloudflare(testenv: TestEnvironment) -> Iterator[FakeCloudflare]:
    """A fake Cloudflare API that hands out the test registry's credentials."""
    registry = RegistryConfig(
        host=testenv.registry, username=testenv.registry_user, password=testenv.registry_password
    )
    with FakeCloudflare(registry=registry) as fake:
        yield fake


@pytest.fixture
def resources(kubectl: Kubectl, namespace: str, installed_crds: None) -> Resources:
    return Resources(kubectl, namespace)


@pytest.fixture
def scenario(resources: Resources, fake_cloudflare: FakeCloudflare, testenv: TestEnvironment) -> Scenario:
    """The fault suite's app and containers, pushing to the test registry."""
    return Scenario(resources, fake_cloudflare, testenv, registry=testenv.registry)


@pytest.fixture
def operator(
    testenv: TestEnvironment, namespace: str, tmp_path: Path, installed_crds: None
) -> Iterator[OperatorProcess]:
    """`lunora-operator run` watching the test's namespace, resyncing every 5 s."""
    process = operator_process(testenv, namespace, tmp_path / "operator.log", resync=5).start()
    yield process
    process.stop()
