"""The status writer: a patch only of what changed, an Event only when Ready flips, and reading
its own writes until the watch shows them (resourceVersions compared for equality only)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lunora_operator.api.status import ImageStatus, LunoraContainerStatus
from lunora_operator.reconcile.conditions import READY
from lunora_operator.reconcile.status import StatusDraft, next_status
from lunora_operator.reconcile.status_writer import StatusWriter, transition_event
from tests.support.clock import SteppedWallClock
from tests.support.reconcile import MemoryKube, container_body

NOW = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)


def ready(status: str, reason: str = "R", message: str = "m") -> dict[str, Any]:
    return {"conditions": [{"type": READY, "status": status, "reason": reason, "message": message}]}


def test_an_event_only_when_ready_flips_or_first_appears() -> None:
    assert transition_event(None, ready("True", "Succeeded", "runs")) == ("Normal", "Succeeded", "runs")
    assert transition_event({}, ready("False", "SecretNotFound", "create it")) == (
        "Warning",
        "SecretNotFound",
        "create it",
    )
    assert transition_event(ready("False", "A"), ready("True", "Succeeded", "")) == (
        "Normal",
        "Succeeded",
        "ready",
    )
    assert transition_event(ready("True"), ready("False", "AuthFailed", "401")) == (
        "Warning",
        "AuthFailed",
        "401",
    )
    assert transition_event(ready("True", "Succeeded", "a"), ready("True", "Succeeded", "b")) is None
    assert transition_event(ready("False", "A", "a"), ready("False", "B", "b")) is None
    assert transition_event(ready("True"), ready("Unknown", "Progressing")) is None
    assert transition_event(ready("True"), {"conditions": []}) is None


def image(ref: str) -> LunoraContainerStatus:
    draft = StatusDraft(1)
    draft.summarise(None, "ok")
    facts = LunoraContainerStatus(image=ImageStatus(ref=ref))
    return next_status(LunoraContainerStatus(), facts, draft, NOW)


async def test_a_body_from_before_our_write_reads_as_what_we_wrote() -> None:
    kube = MemoryKube()
    body = container_body("web")
    body["metadata"]["resourceVersion"] = "opaque-a"  # opaque: not a number, never ordered
    kube.objects[("lunoracontainers", "team-a", "web")] = body
    writer = StatusWriter(kube, SteppedWallClock())

    assert await writer.write("lunoracontainers", body, image("r:1"))
    stale = container_body("web")
    stale["metadata"]["resourceVersion"] = "opaque-a"  # the watch has not shown our write yet

    assert writer.current(stale)["image"] == {"ref": "r:1"}
    assert not await writer.write("lunoracontainers", stale, image("r:1"))  # nothing new to write
    assert len(kube.status_patches) == 1


async def test_a_body_that_caught_up_or_moved_on_is_trusted() -> None:
    kube = MemoryKube()
    body = container_body("web")
    body["metadata"]["resourceVersion"] = "zz"
    kube.objects[("lunoracontainers", "team-a", "web")] = body
    writer = StatusWriter(kube, SteppedWallClock())
    await writer.write("lunoracontainers", body, image("r:1"))

    newer = container_body("web", status={"image": {"ref": "changed-by-someone"}})
    newer["metadata"]["resourceVersion"] = "aa"  # "smaller" as a number or a string: still newer

    assert writer.current(newer) == {"image": {"ref": "changed-by-someone"}}
