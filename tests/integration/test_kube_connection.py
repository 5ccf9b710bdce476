"""The operator's Kubernetes client keeps as many connections as it has threads to run calls in:
at busy times no connection is thrown away (urllib3's "Connection pool is full, discarding
connection", logged dozens of times at start-up when the pool was smaller than the threads)."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

import pytest
from kubernetes import client

from lunora_operator.kube.connection import CONNECTION_POOL, kubernetes_configuration
from lunora_operator.runtime import WORKER_THREADS
from lunora_operator.testing.environment import TestEnvironment

pytestmark = [pytest.mark.apiserver]
HELD = 20
"""Calls held open at once: more than urllib3's default pool (5 per CPU), fewer than the threads."""


def test_the_pool_is_as_large_as_the_threads_calls_run_in() -> None:
    assert CONNECTION_POOL >= WORKER_THREADS > HELD


async def test_calls_held_open_together_discard_no_connection(
    testenv: TestEnvironment, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="urllib3.connectionpool")
    core = client.CoreV1Api(client.ApiClient(kubernetes_configuration(testenv.kubeconfig)))
    loop = asyncio.get_running_loop()

    def held_open() -> object:
        # A watch the API server closes after a second: the connection is busy all that time.
        return core.list_namespaced_config_map(
            namespace, watch=True, timeout_seconds=1, _preload_content=False
        ).data

    with ThreadPoolExecutor(max_workers=WORKER_THREADS) as threads:
        await asyncio.gather(*(loop.run_in_executor(threads, held_open) for _ in range(HELD)))
        await asyncio.gather(*(loop.run_in_executor(threads, held_open) for _ in range(HELD)))

    assert [r.getMessage() for r in caplog.records if "pool is full" in r.getMessage()] == []
