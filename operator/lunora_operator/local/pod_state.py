"""What the router reads off an instance Pod: which instance and run it is, and how the run is going."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lunora_operator.local import exec_helper, names

# Waiting reasons after which the run cannot start by itself: the Pod is removed and the start
# fails with the kubelet's words (a missing Secret or key, an image that cannot be pulled).
CONFIG_ERROR = "CreateContainerConfigError"
FATAL_WAITING = frozenset(
    {
        CONFIG_ERROR,
        "CreateContainerError",
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
        "RunContainerError",
    }
)
# A failed pull may be passing: the kubelet can pull before the node authorizer lets it read a
# new Pod's pull Secret (the registry then answers 401), and backs off 10 s before its next try.
PULL_FAILURES = frozenset({"ErrImagePull", "ImagePullBackOff"})


@dataclass(frozen=True)
class PodState:
    name: str
    uid: str
    container: str
    instance_key: str
    instance_id: str
    run: int
    started_at: datetime | None
    deleting: bool
    phase: str
    ip: str | None
    running: bool
    """The instance's process has started (the kubelet reports it running)."""
    exit_code: int | None
    """Set once the process has ended: its exit code (a signal N gives 128 + N)."""
    waiting_reason: str | None = None
    waiting_message: str | None = None
    unschedulable: str | None = None
    exec_helper: bool = False
    """The Pod was created with the exec helper (an init container copies it in)."""
    helper_failure: str | None = None
    """Why the exec helper's init container cannot run, in the kubelet's words."""
    helper_pull_failed: bool = False
    repull_of: int = 0
    """The run whose failed pull this Pod replaces (0 when it is a start's first Pod)."""

    @property
    def finished(self) -> bool:
        return self.exit_code is not None or self.phase in ("Succeeded", "Failed")

    @property
    def live(self) -> bool:
        """Counts as a running or starting instance: not ended, not being deleted."""
        return not self.finished and not self.deleting

    @property
    def pull_failed(self) -> bool:
        """The kubelet could not pull the instance's image or the exec helper's."""
        return self.waiting_reason in PULL_FAILURES or self.helper_pull_failed

    @property
    def fatal(self) -> str | None:
        """Why the run cannot start, in the kubelet's words; None while it may still start."""
        if self.helper_failure is not None:
            return self.helper_failure
        if self.waiting_reason in FATAL_WAITING:
            return f"{self.waiting_reason}: {self.waiting_message or ''}".rstrip(": ")
        return None


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _unschedulable(status: dict[str, Any]) -> str | None:
    for condition in status.get("conditions") or ():
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            return str(condition.get("message") or condition.get("reason") or "not scheduled")
    return None


def _helper_failure(status: dict[str, Any]) -> str | None:
    """The exec helper's init container cannot pull its image, or failed to copy the helper."""
    for init in status.get("initContainerStatuses") or ():
        if init.get("name") != exec_helper.INIT_CONTAINER:
            continue
        state = init.get("state") or {}
        waiting = state.get("waiting") or {}
        if waiting.get("reason") in FATAL_WAITING:
            return f"{waiting['reason']}: {waiting.get('message') or ''}".rstrip(": ")
        terminated = state.get("terminated") or {}
        if terminated and _int(terminated.get("exitCode")) != 0:
            detail = terminated.get("message") or terminated.get("reason") or ""
            return f"exited with code {terminated.get('exitCode')}: {detail}".rstrip(": ")
    return None


def _helper_pull_failed(status: dict[str, Any]) -> bool:
    for init in status.get("initContainerStatuses") or ():
        if init.get("name") == exec_helper.INIT_CONTAINER:
            return ((init.get("state") or {}).get("waiting") or {}).get("reason") in PULL_FAILURES
    return False


def pod_state(obj: dict[str, Any]) -> PodState | None:
    """The state of an instance Pod; None for a Pod without the instance labels."""
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    key = labels.get(names.LABEL_INSTANCE)
    instance_id = annotations.get(names.ANNOTATION_INSTANCE_ID)
    if key is None or instance_id is None:
        return None
    status = obj.get("status") or {}
    statuses = status.get("containerStatuses") or []
    state = (statuses[0].get("state") or {}) if statuses else {}
    terminated = state.get("terminated")
    waiting = state.get("waiting") or {}
    exit_code = _int(terminated.get("exitCode")) if terminated else None
    phase = str(status.get("phase") or "Pending")
    if exit_code is None and phase == "Failed":
        exit_code = 1  # ended without a container status (evicted, rejected at admission)
    return PodState(
        name=str(meta.get("name")),
        uid=str(meta.get("uid") or ""),
        container=str(labels.get(names.LABEL_CONTAINER, "")),
        instance_key=key,
        instance_id=instance_id,
        run=_int(labels.get(names.LABEL_RUN)),
        started_at=_time(annotations.get(names.ANNOTATION_STARTED_AT)),
        deleting=meta.get("deletionTimestamp") is not None,
        phase=phase,
        ip=status.get("podIP") or None,
        running=state.get("running") is not None,
        exit_code=exit_code,
        waiting_reason=waiting.get("reason"),
        waiting_message=waiting.get("message"),
        unschedulable=_unschedulable(status),
        exec_helper=exec_helper.has_helper(obj.get("spec") or {}),
        helper_failure=_helper_failure(status),
        helper_pull_failed=_helper_pull_failed(status),
        repull_of=_int(annotations.get(names.ANNOTATION_REPULL_OF)),
    )
