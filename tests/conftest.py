"""Session fixtures for the real test environment (hack/testenv-up.sh).

Fixtures fail, never skip, when the environment is not running: a tier that silently
skipped its real-infrastructure tests would pass while testing nothing.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from lunora_operator.images.push import RegistryAuth
from lunora_operator.testing.environment import TestEnvironment
from tests.support.kube import KubeClients, Kubectl
from tests.support.registry import TestRegistry
from tests.support.testenv import env_file

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def testenv() -> TestEnvironment:
    return TestEnvironment.load(env_file=env_file())


@pytest.fixture(scope="session")
def kubectl(testenv: TestEnvironment) -> Kubectl:
    return Kubectl(binary=testenv.kubectl, kubeconfig=testenv.kubeconfig)


@pytest.fixture(scope="session")
def kube(testenv: TestEnvironment) -> KubeClients:
    return KubeClients.from_kubeconfig(testenv.kubeconfig)


@pytest.fixture
def namespace(kube: KubeClients) -> Iterator[str]:
    """A fresh namespace per test, ready for Pods: its `default` ServiceAccount, which the
    controller-manager creates moments after the namespace, exists. Names are unique, so
    a test never waits for an earlier namespace to finish terminating."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    kube.create_namespace(name)
    kube.wait_for_service_account(name, "default")
    yield name
    kube.delete_namespace(name)


@pytest.fixture(scope="session")
def docker_client(testenv: TestEnvironment, tmp_path_factory: pytest.TempPathFactory):
    import docker

    # An empty client config, so no credentials from ~/.docker leak into push/pull tests.
    saved = os.environ.get("DOCKER_CONFIG")
    os.environ["DOCKER_CONFIG"] = str(tmp_path_factory.mktemp("docker-config"))
    try:
        client = docker.DockerClient(base_url=testenv.docker_host, timeout=120)
    finally:
        if saved is None:
            os.environ.pop("DOCKER_CONFIG")
        else:
            os.environ["DOCKER_CONFIG"] = saved
    client.ping()
    yield client
    client.close()


@pytest.fixture(scope="session")
def registry(testenv: TestEnvironment) -> TestRegistry:
    return TestRegistry(
        address=testenv.registry, auth=RegistryAuth(testenv.registry_user, testenv.registry_password)
    )


def pytest_report_header(config: pytest.Config) -> list[str]:
    kubeconfig = os.environ.get("LUNORA_TEST_KUBECONFIG")
    return [f"lunora test environment: {kubeconfig or 'from the testenv env file'}"]
