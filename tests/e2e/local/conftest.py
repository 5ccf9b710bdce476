"""Local mode on the real node: test images pushed to the test registry and pulled by the node
with a pull Secret, a LunoraApp in local mode, and `lunora-operator router` running on the host
as `make dev` runs it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from lunora_operator.testing.environment import TestEnvironment
from tests.support.kube import KubeClients, Kubectl
from tests.support.local_mode import (
    Router,
    build_instance_image,
    container_manifest,
    create_local_app,
    instance_pods,
    live_pods,
)
from tests.support.operator import Resources
from tests.support.registry import TestRegistry

# Short budgets, so failures the platform reports after 8, 20 or 30 s come within seconds.
ROUTER_FLAGS = (
    "--grace-period",
    "1",
    "--instance-timeout",
    "6",
    "--port-timeout",
    "8",
    "--readiness-timeout",
    "3",
)


@pytest.fixture(scope="session")
def instance_image(
    docker_client: Any,
    registry: TestRegistry,
    testenv: TestEnvironment,
    tmp_path_factory: pytest.TempPathFactory,
) -> str:
    return build_instance_image(
        docker_client, registry, testenv.base_image, tmp_path_factory.mktemp("instance-image")
    )


@pytest.fixture
def local_app(
    resources: Resources, kube: KubeClients, kubectl: Kubectl, testenv: TestEnvironment, namespace: str
) -> str:
    return create_local_app(kube, kubectl, testenv, namespace)


@pytest.fixture
def router(
    testenv: TestEnvironment, namespace: str, local_app: str, tmp_path: Path
) -> Iterator[Callable[..., Router]]:
    """Starts routers for the test's app (extra flags as arguments); all are stopped at the end."""
    started: list[Router] = []

    def start(*flags: str) -> Router:
        log = tmp_path / f"router-{len(started)}.log"
        router = Router(testenv, namespace, log, "--access-log", *ROUTER_FLAGS, *flags).start()
        started.append(router)
        return router

    yield start
    for router in started:
        router.close()


@contextmanager
def timed() -> Iterator[Callable[[], float]]:
    start = time.monotonic()
    yield lambda: time.monotonic() - start


__all__ = ["Router", "container_manifest", "instance_pods", "live_pods", "timed"]
