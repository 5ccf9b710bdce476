"""A LunoraContainer's reconcile steps (validate → resolve → image → render → Durable Object →
application), driven directly over in-memory Kubernetes and a FakeCloudflare."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

from lunora_operator.images import ImageError, ImagePipeline
from lunora_operator.images.errors import Reason
from lunora_operator.reconcile.conditions import (
    CONFIG_RENDERED,
    DEPLOYED,
    DURABLE_OBJECT_READY,
    IMAGE_READY,
    READY,
    RECONCILING,
    STALLED,
    find,
)
from lunora_operator.reconcile.container import ContainerRun, ResolvedImage
from lunora_operator.reconcile.errors import Held, Stalled, Transient, Waiting
from lunora_operator.reconcile.images import PipelineImageResolver
from lunora_operator.render import RenderError, render
from tests.support.reconcile import (
    BASE_CONFIG_MAP,
    BUILT_IMAGE,
    OUTPUT_CONFIG_MAP,
    TOKEN_SECRET,
    Harness,
    container_body,
    holding_base,
    secret_ref,
)


async def one_pass(h: Harness, body: dict[str, Any]) -> ContainerRun:
    return await h.steps(body)


def condition(run: ContainerRun, condition_type: str) -> tuple[str, str, str] | None:
    found = run.draft.conditions.get(condition_type)
    return (found.status, found.reason, found.message) if found is not None else None


async def test_an_invalid_spec_stalls_naming_the_field(harness: Harness) -> None:
    harness.apply(harness.app())
    body = harness.apply(container_body("web", defaultPort=70000))

    run = await one_pass(harness, body)

    assert isinstance(run.error, Stalled)
    assert run.error.reason == "InvalidSpec"
    assert 'LunoraContainer "web" is invalid' in run.error.message
    assert "spec.defaultPort" in run.error.message
    assert condition(run, STALLED) == ("True", "InvalidSpec", run.error.message)
    assert condition(run, READY) == ("False", "InvalidSpec", run.error.message)
    assert harness.fake.requests() == []


async def test_a_missing_app_waits(harness: Harness) -> None:
    body = harness.apply(container_body("web", app="absent"))

    run = await one_pass(harness, body)

    assert isinstance(run.error, Waiting)
    assert run.error.reason == "AppNotFound"
    assert '"absent"' in run.error.message
    assert condition(run, READY) == ("False", "AppNotFound", run.error.message)
    assert condition(run, RECONCILING) == ("True", "AppNotFound", run.error.message)
    assert condition(run, STALLED) is None


async def test_a_missing_secret_waits_naming_the_entry_and_the_secret(harness: Harness) -> None:
    harness.kube.put_secret("first", {"key": "one"})
    harness.apply(harness.app())
    body = harness.apply(
        container_body(
            "web",
            secrets=[
                {"name": "FIRST", "valueFrom": secret_ref("first", "key")},
                {"name": "SECOND", "valueFrom": secret_ref("transcoder", "api-key")},
            ],
        )
    )

    run = await one_pass(harness, body)

    assert isinstance(run.error, Waiting)
    assert run.error.reason == "SecretNotFound"
    assert "secrets[1] (SECOND)" in run.error.message
    assert 'Secret "team-a/transcoder" not found' in run.error.message
    assert harness.kube.config_map_writes == []

    harness.kube.put_secret("transcoder", {"other": "x"})
    run = await one_pass(harness, body)
    assert isinstance(run.error, Waiting)
    assert 'Secret "team-a/transcoder" has no key "api-key"' in run.error.message


async def test_a_registry_image_is_resolved_as_written(harness: Harness) -> None:
    harness.apply(harness.app())
    body = harness.apply(container_body("web", image={"registry": "docker.io/acme/web:2.5"}))

    run = await one_pass(harness, body)

    assert condition(run, IMAGE_READY) == ("True", "Resolved", "registry image docker.io/acme/web:2.5")
    assert run.image is not None
    assert run.image.reference == "docker.io/acme/web:2.5"
    assert harness.images.calls == []


class FailingPipeline:
    def __init__(self, error: ImageError) -> None:
        self.error = error

    async def ensure_image(self, *args: Any, **kwargs: Any) -> Any:
        raise self.error


BUILD = {"build": {"context": {"configMap": {"name": "jobs-context"}}}}


@pytest.mark.parametrize(
    ("error", "kind", "condition_flag"),
    [
        (ImageError(Reason.BUILD_FAILED, "step 2/3: exit code 1", retryable=False), Stalled, STALLED),
        (
            ImageError(Reason.REGISTRY_UNAVAILABLE, "dial tcp: connection refused", retryable=True),
            Transient,
            RECONCILING,
        ),
    ],
)
async def test_image_errors_keep_their_reason_and_stall_only_when_retrying_cannot_help(
    harness: Harness, error: ImageError, kind: type, condition_flag: str
) -> None:
    harness.kube.put_config_map("jobs-context", {"Dockerfile": "FROM scratch\n"})
    resolver = PipelineImageResolver(cast(ImagePipeline, FailingPipeline(error)), harness.kube, harness.clock)
    deps = dataclasses.replace(harness.deps, images=resolver)
    harness.apply(harness.app())
    body = harness.apply(container_body("jobs", image=BUILD))

    run = await harness.steps(body, deps)

    assert type(run.error) is kind
    assert condition(run, IMAGE_READY) == ("False", str(error.reason), error.message)
    assert condition(run, condition_flag) == ("True", str(error.reason), error.message)
    assert condition(run, CONFIG_RENDERED) is None
    assert harness.kube.config_map_writes == []


@pytest.mark.parametrize("suspended", ["container", "app"])
async def test_suspend_writes_nothing_and_calls_nobody(harness: Harness, suspended: str) -> None:
    harness.apply(harness.app(suspend=suspended == "app"))
    body = harness.apply(container_body("web", suspend=suspended == "container"))

    error = await harness.controller.reconcile_container(body)

    assert error is None
    assert harness.kube.status_patches == []
    assert harness.kube.config_map_writes == []
    assert harness.fake.requests() == []


def _conflicting_base() -> str:
    return (
        '{\n  "name": "demo",\n  "main": "index.js",\n'
        '  "durable_objects": {"bindings": [{"name": "CONTAINER_WEB", "class_name": "SessionStore"}]}\n}\n'
    )


async def test_a_conflict_in_the_base_config_stalls_with_the_words_render_prints(
    harness: Harness, tmp_path: Path
) -> None:
    harness.kube.put_config_map(BASE_CONFIG_MAP, {"wrangler.jsonc": _conflicting_base()})
    app = harness.apply(harness.app())
    body = harness.apply(container_body("web"))

    run = await one_pass(harness, body)

    (tmp_path / "crs").mkdir()
    (tmp_path / "crs" / "all.yaml").write_text(yaml.safe_dump_all([app, body]))
    base = tmp_path / "wrangler.jsonc"
    base.write_text(_conflicting_base())
    with pytest.raises(RenderError) as offline:
        render([tmp_path / "crs"], tmp_path / "out", base)
    problems = [problem.removeprefix(f"{base}: ") for problem in offline.value.problems]
    assert problems
    assert all(p != q for p, q in zip(problems, offline.value.problems, strict=True))
    in_cluster = "; ".join(f"ConfigMap {BASE_CONFIG_MAP} key wrangler.jsonc: {p}" for p in problems)

    assert isinstance(run.error, Stalled)
    assert run.error.reason == "RenderConflict"
    assert run.error.message == f"LunoraApp: {in_cluster}"
    assert condition(run, CONFIG_RENDERED) == ("False", "RenderConflict", run.error.message)
    assert condition(run, STALLED) == ("True", "RenderConflict", run.error.message)
    assert OUTPUT_CONFIG_MAP not in {name for _, name in harness.kube.config_map_writes}
    assert harness.fake.requests("workers.scripts.update") == []


async def test_a_full_pass_is_ready_with_its_facts(harness: Harness) -> None:
    harness.apply(harness.app())
    body = harness.apply(container_body("web", maxInstances=3, instanceType="basic"))

    error = await harness.controller.reconcile_container(body)

    assert error is None
    status = harness.kube.status_of("lunoracontainers", "web")
    application = harness.fake.application("demo-webcontainer")
    assert application is not None
    assert application["max_instances"] == 3
    assert {key: status[key] for key in status if key != "conditions"} == {
        "mode": "cloudflare",
        "className": "WebContainer",
        "bindingName": "CONTAINER_WEB",
        "applicationName": "demo-webcontainer",
        "applicationId": application["id"],
        "image": {"ref": "docker.io/acme/web:1.0"},
        "migrationTag": "v1",
        "configHash": status["configHash"],
        "instances": {"max": 3, "running": 0},
        "lastSyncTime": "2026-01-01T00:00:00Z",
        "observedGeneration": 1,
    }
    conditions = {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}
    assert conditions == {
        READY: ("True", "Succeeded"),
        IMAGE_READY: ("True", "Resolved"),
        CONFIG_RENDERED: ("True", "Rendered"),
        DURABLE_OBJECT_READY: ("True", "NamespaceFound"),
        DEPLOYED: ("True", "Deployed"),
    }
    ready = find(status["conditions"], READY)
    assert ready is not None
    assert (
        ready["message"] == f"application demo-webcontainer ({application['id']}) runs docker.io/acme/web:1.0"
    )
    assert application["durable_objects"]["namespace_id"] == harness.fake.namespaces("demo")["WebContainer"]


async def test_a_built_image_is_rendered_and_reported_with_its_digest(harness: Harness) -> None:
    harness.images.answers["jobs"] = ResolvedImage(BUILT_IMAGE, digest="sha256:" + "ab" * 32, pushed=True)
    harness.apply(harness.app())
    body = harness.apply(container_body("jobs", image=BUILD))

    error = await harness.controller.reconcile_container(body)

    assert error is None
    digest = "sha256:" + "ab" * 32
    status = harness.kube.status_of("lunoracontainers", "jobs")
    assert find(status["conditions"], IMAGE_READY) == {
        "type": IMAGE_READY,
        "status": "True",
        "reason": "Pushed",
        "message": f"{BUILT_IMAGE} ({digest})",
        "observedGeneration": 1,
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    }
    assert ("jobs", "Normal", "Pushed", f"built and pushed {BUILT_IMAGE} ({digest})") in harness.events
    assert status["image"] == {"ref": BUILT_IMAGE, "digest": digest}
    application = harness.fake.application("demo-jobscontainer")
    assert application is not None
    assert application["configuration"]["image"] == BUILT_IMAGE


@pytest.mark.parametrize("image", [{"registry": "docker.io/acme/web:1.0"}, BUILD])
async def test_a_blank_api_token_stalls_naming_its_secret(harness: Harness, image: dict[str, Any]) -> None:
    harness.kube.put_secret(TOKEN_SECRET, {"token": " "})
    harness.apply(harness.app())
    body = harness.apply(container_body("web", image=image))

    error = await harness.controller.reconcile_container(body)

    assert isinstance(error, Stalled)
    assert error.reason == "AuthFailed"
    assert 'API token in Secret "team-a/cloudflare-api-token" key "token"' in error.message
    status = harness.kube.status_of("lunoracontainers", "web")
    stalled = find(status["conditions"], STALLED)
    assert stalled is not None
    assert stalled["message"] == error.message
    assert harness.fake.requests() == []


async def test_rollout_kind_none_holds_an_image_change_and_says_so_once(harness: Harness) -> None:
    # wrangler's hidden `rollout_kind: "none"`, kept from the base config, starts no rollout: the
    # new image waits, the condition says so, and later passes neither repeat an Event nor
    # rewrite the status.
    harness.kube.put_config_map(BASE_CONFIG_MAP, {"wrangler.jsonc": holding_base("WebContainer")})
    harness.apply(harness.app())
    first = await one_pass(harness, harness.apply(container_body("web")))
    assert first.error is None
    application = harness.fake.application("demo-webcontainer")
    assert application is not None

    changed = harness.apply(container_body("web", generation=2, image={"registry": "docker.io/acme/web:2.0"}))
    held = await one_pass(harness, changed)

    assert isinstance(held.error, Held)
    assert harness.fake.requests("applications.rollouts.create") == []
    stored = harness.fake.application("demo-webcontainer")
    assert stored is not None
    assert stored["configuration"]["image"] == "docker.io/acme/web:1.0"
    assert condition(held, DEPLOYED) == (
        "False",
        "RolloutHeld",
        f"application demo-webcontainer ({application['id']}) differs in configuration.image: "
        "'docker.io/acme/web:1.0' -> 'docker.io/acme/web:2.0'; "
        'rollout_kind "none" starts no rollout: start one yourself or drop rollout_kind',
    )
    assert [event for event in held.events if event[1] in {"Updated", "RolloutHeld"}] == []

    await harness.controller.reconcile_container(changed)
    patches = len(harness.kube.status_patches)
    await harness.controller.reconcile_container(harness.current("LunoraContainer", "web"))
    assert len(harness.kube.status_patches) == patches


async def test_a_held_image_change_still_patches_what_applies_in_place(harness: Harness) -> None:
    harness.kube.put_config_map(BASE_CONFIG_MAP, {"wrangler.jsonc": holding_base("WebContainer")})
    harness.apply(harness.app())
    assert (await one_pass(harness, harness.apply(container_body("web", maxInstances=3)))).error is None

    changed = container_body(
        "web", generation=2, maxInstances=5, image={"registry": "docker.io/acme/web:2.0"}
    )
    held = await one_pass(harness, harness.apply(changed))

    assert isinstance(held.error, Held)
    stored = harness.fake.application("demo-webcontainer")
    assert stored is not None
    assert (stored["max_instances"], stored["configuration"]["image"]) == (5, "docker.io/acme/web:1.0")
    assert [event[1] for event in held.events] == ["Updated"]
    assert "max_instances: 3 -> 5" in held.events[0][2]
    assert "configuration.image" not in held.events[0][2]
    assert condition(held, DEPLOYED)[:2] == ("False", "RolloutHeld")  # type: ignore[index]
    assert "max_instances" not in held.error.message


async def _roll_out_web_2(harness: Harness) -> tuple[dict[str, Any], ContainerRun]:
    """web deployed with image 1.0, then changed to 2.0 while the fake holds rollouts under way."""
    harness.apply(harness.app())
    assert (await one_pass(harness, harness.apply(container_body("web")))).error is None
    application = harness.fake.application("demo-webcontainer")
    assert application is not None
    harness.fake.hold_rollouts()
    changed = harness.apply(container_body("web", generation=2, image={"registry": "docker.io/acme/web:2.0"}))
    return application, await one_pass(harness, changed)


async def test_a_rollout_under_way_is_not_deployed_until_it_completes(harness: Harness) -> None:
    application, rolling = await _roll_out_web_2(harness)

    [rollout] = harness.fake.rollouts(application["id"])
    assert isinstance(rolling.error, Waiting)
    assert condition(rolling, DEPLOYED) == (
        "False",
        "RollingOut",
        f"rollout {rollout['id']} of application demo-webcontainer to docker.io/acme/web:2.0 is progressing "
        "(step 1 of 2)",
    )
    assert condition(rolling, READY)[:2] == ("False", "RollingOut")  # type: ignore[index]
    assert [event[1] for event in rolling.events] == ["Updated"]
    assert rolling.error.retry_after is not None
    assert rolling.error.retry_after <= 15

    still = await one_pass(harness, harness.current("LunoraContainer", "web"))
    assert condition(still, DEPLOYED)[:2] == ("False", "RollingOut")  # type: ignore[index]
    assert still.events == []
    assert len(harness.fake.rollouts(application["id"])) == 1

    harness.fake.finish_rollout(application["id"])
    done = await one_pass(harness, harness.current("LunoraContainer", "web"))
    assert done.error is None
    assert condition(done, DEPLOYED)[:2] == ("True", "Deployed")  # type: ignore[index]
    reads = len(harness.fake.requests("applications.rollouts.get"))
    await one_pass(harness, harness.current("LunoraContainer", "web"))
    assert len(harness.fake.requests("applications.rollouts.get")) == reads  # a finished rollout is read once


async def test_a_reverted_rollout_stalls_and_is_not_started_again(harness: Harness) -> None:
    application, _ = await _roll_out_web_2(harness)
    [rollout] = harness.fake.rollouts(application["id"])

    harness.fake.finish_rollout(application["id"], "reverted")
    reverted = await one_pass(harness, harness.current("LunoraContainer", "web"))
    again = await one_pass(harness, harness.current("LunoraContainer", "web"))

    message = (
        f"rollout {rollout['id']} of application demo-webcontainer to docker.io/acme/web:2.0 was reverted and "
        "the application runs its previous configuration; change the image (or the spec) to roll out again"
    )
    for run in (reverted, again):
        assert isinstance(run.error, Stalled)
        assert condition(run, DEPLOYED) == ("False", "RolloutReverted", message)
    assert len(harness.fake.rollouts(application["id"])) == 1
    stored = harness.fake.application("demo-webcontainer")
    assert stored is not None
    assert stored["configuration"]["image"] == "docker.io/acme/web:1.0"

    harness.fake.hold_rollouts(False)
    fixed = harness.apply(container_body("web", generation=3, image={"registry": "docker.io/acme/web:2.1"}))
    assert (await one_pass(harness, fixed)).error is None
    assert len(harness.fake.rollouts(application["id"])) == 2
