from __future__ import annotations

from lunora_operator.api.app import LunoraAppSpec
from lunora_operator.local.config import container_config, duration_seconds
from lunora_operator.local.texts import DEFAULT_MAX_INSTANCES, DEFAULT_POOL_SIZE, DEFAULT_SLEEP_AFTER
from tests.support.builders import container


def test_durations() -> None:
    assert [duration_seconds(v) for v in (30, "30s", "5m", "1h")] == [30, 30, 300, 3600]


def test_a_container_with_few_options_gets_the_platform_defaults() -> None:
    config = container_config(container("web"), None)

    assert (config.max_instances, config.pool_size, config.sleep_after) == (
        DEFAULT_MAX_INSTANCES,
        DEFAULT_POOL_SIZE,
        DEFAULT_SLEEP_AFTER,
    )
    assert (config.size.vcpu, config.size.memory_mib) == (0.0625, 256)  # lite
    assert config.export_name == "web"
    assert config.ports_to_wait_for == ()


def test_options_are_read() -> None:
    resource = container(
        "image-resizer",
        defaultPort=8080,
        requiredPorts=[8080, 9090, 8080],
        maxInstances=4,
        sleepAfter="2m",
        hardTimeout=90,
        readyOn=[{"path": "ready"}, {"path": "/live", "port": 9090, "status": 204}],
        customInstanceType={"vcpu": 1, "memoryMib": 4096, "diskMb": 4000},
        pingEndpoint="/healthz",
    )
    config = container_config(
        resource,
        LunoraAppSpec.model_validate({"workerName": "w", "mode": "local", "local": {"pullSecret": "reg"}}),
    )

    assert config.export_name == "imageResizer"
    assert config.ports_to_wait_for == (8080, 9090)
    assert (config.max_instances, config.pool_size, config.sleep_after, config.hard_timeout) == (
        4,
        4,
        120,
        90,
    )
    assert [(p.request_path, p.port, p.status) for p in config.ready_on] == [
        ("/ready", 8080, 200),
        ("/live", 9090, 204),
    ]
    assert (config.size.vcpu, config.size.memory_mib, config.size.disk_mb) == (1, 4096, 4000)
    assert config.pull_secret == "reg"


def test_a_build_runs_the_image_the_operator_recorded() -> None:
    resource = container("web", image={"build": {"context": {"path": "web"}}})
    assert container_config(resource, None).image is None
    built = resource.model_copy(
        update={
            "status": resource.status_model().model_validate(
                {"image": {"ref": "127.0.0.1:15000/web@sha256:" + "a" * 64}}
            )
        }
    )
    assert container_config(built, None).image == "127.0.0.1:15000/web@sha256:" + "a" * 64
