"""Where the exec helper lives in an instance Pod, as pure Pod-spec pieces.

A Pod exec (the `pods/exec` subresource) runs a command as it is: it cannot add environment
variables, change the working directory or stop the command on a timeout, and closing its stream
leaves the command running. So exec runs a small static helper (`lunora-exec`, built from
exec-helper/ into an image of its own) that does all of that in the instance container. An init
container copies it from its image into an emptyDir the instance container mounts read-only;
being static, it runs in any Linux image, even one without a shell (`FROM scratch`,
distroless), which the image's own `sh`/`env`/`timeout` could not promise.
"""

from __future__ import annotations

from typing import Any

INIT_CONTAINER = "lunora-exec"
VOLUME = "lunora-exec"
MOUNT_PATH = "/.lunora"
HELPER_PATH = f"{MOUNT_PATH}/exec"
IN_IMAGE = "/lunora-exec"
"""Where the helper image holds the binary (also its entrypoint)."""
RUN_COMMAND = (HELPER_PATH, "run")
# The helper is about 2 MB; the copy needs little CPU and memory.
RESOURCES = {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "100m", "memory": "32Mi"}}


def init_container(image: str) -> dict[str, Any]:
    """Copies the helper into the shared volume, then exits; runs as an unprivileged user (the
    emptyDir is writable by anyone) with nothing it does not need."""
    return {
        "name": INIT_CONTAINER,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": [IN_IMAGE, "install", HELPER_PATH],
        "resources": RESOURCES,
        "volumeMounts": [{"name": VOLUME, "mountPath": MOUNT_PATH}],
        "securityContext": {
            "runAsUser": 65532,
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }


def volume() -> dict[str, Any]:
    return {"name": VOLUME, "emptyDir": {"sizeLimit": "16Mi"}}


def volume_mount() -> dict[str, Any]:
    """In the instance container: read-only, so the instance cannot replace the helper."""
    return {"name": VOLUME, "mountPath": MOUNT_PATH, "readOnly": True}


def has_helper(pod_spec: dict[str, Any]) -> bool:
    """Whether a Pod (its `spec`) was created with the helper."""
    return any(c.get("name") == INIT_CONTAINER for c in pod_spec.get("initContainers") or ())
