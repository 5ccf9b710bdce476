"""FakeCloudflare checks every body against the official SDK's parameter types: unknown keys and
wrong types are 400s naming the field; bodies the SDK builds from the layer's calls pass."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import cloudflare
import pytest
from cloudflare.types.containers.application_create_params import ApplicationCreateParams
from cloudflare.types.containers.applications.rollout_create_params import RolloutCreateParams
from cloudflare.types.workers.script_update_params import Metadata

from lunora_operator.cloudflare import AccountClient, InvalidRequest, RolloutPolicy
from lunora_operator.testing import FakeCloudflare
from lunora_operator.testing.fake_cloudflare.validation import (
    CUSTOM_SIZE_KEYS,
    WORKER_METADATA_KEYS,
    BodySchema,
    validate,
)
from tests.support.cloudflare import TOKEN, deployed_namespace, desired, observed, worker_upload

pytest_plugins = ["tests.support.cloudflare_fixtures"]

CREATE = BodySchema(ApplicationCreateParams, extras={("configuration",): CUSTOM_SIZE_KEYS})
ROLLOUT = BodySchema(RolloutCreateParams, extras={("target_configuration",): CUSTOM_SIZE_KEYS})
METADATA = BodySchema(Metadata, extras={(): WORKER_METADATA_KEYS}, path_params=())


def create_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "demo-web",
        "scheduling_policy": "default",
        "instances": 0,
        "max_instances": 3,
        "configuration": {"image": "registry.cloudflare.com/acct/web:1", "instance_type": "standard-1"},
        "durable_objects": {"namespace_id": "0" * 32},
    }
    body.update(changes)
    return body


@pytest.fixture
async def raw_client(fake: FakeCloudflare) -> AsyncIterator[cloudflare.AsyncCloudflare]:
    """The SDK's generic client, for bodies the typed methods would not build."""
    client = cloudflare.AsyncCloudflare(api_token=TOKEN, base_url=fake.base_url, max_retries=0)
    yield client
    await client.close()


async def post(
    client: cloudflare.AsyncCloudflare, path: str, body: dict[str, Any]
) -> cloudflare.APIStatusError:
    with pytest.raises(cloudflare.APIStatusError) as refused:
        await client.post(path, body=body, cast_to=object)
    return refused.value


def details(error: cloudflare.APIStatusError) -> dict[str, str]:
    assert isinstance(error.body, dict)
    message = json.loads(error.body["errors"][0]["message"])
    assert message["error"] == "VALIDATE_INPUT"
    return dict(message["details"])


async def test_misspelled_key_is_a_400_naming_it(
    fake: FakeCloudflare, raw_client: cloudflare.AsyncCloudflare
) -> None:
    body = create_body(max_instanses=3)
    del body["max_instances"]

    error = await post(raw_client, f"/accounts/{fake.account_id}/containers/applications", body)

    assert error.status_code == 400
    problems = details(error)
    assert problems["max_instanses"].startswith("unknown field (the API declares: ")
    assert problems["max_instances"] == "Field required"
    assert fake.applications() == []


async def test_wrong_type_is_a_400_naming_it(
    fake: FakeCloudflare, raw_client: cloudflare.AsyncCloudflare
) -> None:
    error = await post(
        raw_client, f"/accounts/{fake.account_id}/containers/applications", create_body(max_instances="3")
    )

    assert error.status_code == 400
    assert details(error) == {"max_instances": "Input should be a valid integer"}


async def test_nested_mistakes_are_named_by_path(
    fake: FakeCloudflare, raw_client: cloudflare.AsyncCloudflare
) -> None:
    body = create_body(
        configuration={"image": "x:1", "instance_type": "standard-9", "disk": {"size_mb": "lots"}},
        constraints={"regions": "WEUR"},
    )
    error = await post(raw_client, f"/accounts/{fake.account_id}/containers/applications", body)

    problems = details(error)
    assert set(problems) == {
        "configuration.instance_type",
        "configuration.disk.size_mb",
        "constraints.regions",
    }
    assert "'standard-1'" in problems["configuration.instance_type"]


async def test_worker_metadata_mistakes_are_400s(
    fake: FakeCloudflare, raw_client: cloudflare.AsyncCloudflare
) -> None:
    upload = worker_upload(["Web"])
    metadata = {
        "main_module": "index.js",
        "bindings": [{"type": "durable_object_namespace", "name": "WEB", "clas_name": "Web"}],
        "containers": [{"class_name": 7}],
    }
    with pytest.raises(cloudflare.BadRequestError) as refused:
        await raw_client.workers.scripts.update(
            "demo",
            account_id=fake.account_id,
            metadata=metadata,  # type: ignore[arg-type]
            files=[("index.js", upload.modules["index.js"], "application/javascript+module")],
        )
    message = refused.value.body["errors"][0]["message"]  # type: ignore[index]
    assert "bindings[0].clas_name: unknown field" in message
    assert "containers[0].class_name: Input should be a valid string" in message
    assert fake.script("demo") is None


async def test_bodies_the_sdk_builds_from_the_layer_pass(
    fake: FakeCloudflare, account: AccountClient
) -> None:
    namespace_id = await deployed_namespace(account)
    await account.applications.create(desired(), namespace_id)
    await account.applications.update(
        await observed(
            account,
            desired(
                image="registry.cloudflare.com/acct/web:2",
                max_instances=5,
                rollout=RolloutPolicy(steps=[50, 100]),
            ),
            namespace_id,
        )
    )
    await account.secrets.put("demo", "TOKEN", "value")
    await account.registry.credentials()

    statuses = {(record.operation, record.status) for record in fake.requests()}
    assert all(status == 200 for _operation, status in statuses), statuses
    assert {operation for operation, _status in statuses} >= {
        "workers.scripts.update",
        "applications.create",
        "applications.edit",
        "applications.rollouts.create",
        "workers.scripts.secrets.update",
        "registries.credentials.generate",
    }


def test_validator_rejects_what_a_bare_type_adapter_would_drop() -> None:
    """pydantic drops unknown TypedDict keys; the walk against get_type_hints does not."""
    from pydantic import TypeAdapter

    body = create_body(instanses=0)
    TypeAdapter(ApplicationCreateParams).validate_python({**body, "account_id": "a"})
    assert validate(CREATE, body) == [
        "instanses: unknown field (the API declares: configuration, constraints, durable_objects, instances, "
        "max_instances, name, observability, rollout_active_grace_period, scheduling_policy)"
    ]


def test_validator_drains_lazy_iterables() -> None:
    body = {
        "description": "d",
        "strategy": "rolling",
        "target_configuration": {"image": "x:1"},
        "steps": [{"description": "s", "step_size": {"percentage": "10"}}],
    }
    assert validate(ROLLOUT, body) == ["steps[0].step_size.percentage: Input should be a valid integer"]


def test_validator_picks_the_union_member_by_its_literal() -> None:
    metadata = {"main_module": "index.js", "bindings": [{"type": "kv_namespace", "name": "KV"}]}
    assert validate(METADATA, metadata) == ["bindings[0].namespace_id: Field required"]


def test_validator_reads_wire_aliases() -> None:
    assert validate(METADATA, {"main_module": "i.js", "annotations": {"workers/message": "deploy"}}) == []
    assert validate(METADATA, {"main_module": "i.js", "annotations": {"workers_message": "x"}}) == [
        "annotations.workers_message: unknown field (the API declares: workers/message, workers/tag)"
    ]


def test_allow_listed_custom_sizes_are_typed() -> None:
    ok = create_body(configuration={"image": "x:1", "vcpu": 1, "memory_mib": 4096, "disk": {"size_mb": 8000}})
    assert validate(CREATE, ok) == []
    wrong = create_body(configuration={"image": "x:1", "vcpu": "1", "memory_mib": 4096, "disk": {"size": 1}})
    assert validate(CREATE, wrong) == [
        "configuration.vcpu: Input should be a valid number",
        "configuration.disk.size: unknown field (the API declares: size_mb)",
        "configuration.disk.size_mb: Field required",
    ]


async def test_custom_sizes_over_the_limits_are_refused(fake: FakeCloudflare, account: AccountClient) -> None:
    from lunora_operator.cloudflare import CustomInstanceType

    namespace_id = await deployed_namespace(account)
    too_much_disk = CustomInstanceType(vcpu=1, memory_mib=4096, disk_mb=9000)

    with pytest.raises(InvalidRequest) as refused:
        await account.applications.create(desired(instance_type=too_much_disk), namespace_id)

    assert refused.value.message == (
        "creating application demo-web: VALIDATE_INPUT: configuration.disk: "
        "Cannot have more GB disk than 2X your memory allotment in GiB"
    )
    with pytest.raises(InvalidRequest, match=r"configuration.vcpu: must be between 1 and 4"):
        await account.applications.create(
            desired(instance_type=CustomInstanceType(vcpu=8, memory_mib=12288, disk_mb=20000)), namespace_id
        )
    assert fake.applications() == []
