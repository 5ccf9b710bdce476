"""What one LunoraContainer contributes to its app's wrangler config (`spec/lunora-container.md` §3.2)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Literal

from lunora_operator.api.container import LunoraContainerSpec
from lunora_operator.api.naming import ContainerNames
from lunora_operator.api.resources import LunoraContainer

# containers[] keys the operator writes; any other key in an owned entry is the user's and stays.
OWNED_ENTRY_KEYS = (
    "class_name",
    "image",
    "image_build_context",
    "image_vars",
    "instance_type",
    "max_instances",
    "name",
    "rollout_step_percentage",
    "rollout_active_grace_period",
)


class ImageUnavailable(ValueError):
    """A build image has no reference the config can name."""


@dataclass(frozen=True)
class DesiredContainer:
    """A container as the rendered config must describe it."""

    names: ContainerNames
    spec: LunoraContainerSpec
    entry: dict[str, Any]
    deletion_policy: Literal["Delete", "Orphan"]

    @property
    def binding(self) -> dict[str, str]:
        return {"class_name": self.names.class_name, "name": self.names.binding_name}


@dataclass(frozen=True)
class RemovedContainer:
    """A container that left the app; with `Delete` its entry, binding and class go too."""

    resource: str
    class_name: str
    binding_name: str
    deletion_policy: Literal["Delete", "Orphan"]


@dataclass(frozen=True)
class ImageLocation:
    """Where offline paths are resolved: the directory of the base config, and of the output."""

    base_dir: str
    out_dir: str

    def relative(self, *parts: str) -> str:
        """A path under the base config's directory, as seen from the output config."""
        target = os.path.normpath(os.path.join(self.base_dir, *parts))
        relative = PurePosixPath(os.path.relpath(target, self.out_dir)).as_posix()
        return relative if relative.startswith(".") else f"./{relative}"


def image_fields(
    container: LunoraContainer,
    names: ContainerNames,
    images: Mapping[str, str],
    location: ImageLocation | None,
) -> dict[str, Any]:
    """`image` (and `image_build_context`) for the entry.

    A registry image is its reference. A build image is the reference it was pushed under
    (`images`, keyed by export name); failing that, a `path` context becomes the Dockerfile
    path plus build context so `wrangler deploy` builds it, as Lunora's flow does.
    """
    image = container.spec.image
    if image.registry is not None:
        return {"image": image.registry}
    build = image.build
    assert build is not None  # the model requires exactly one of registry / build
    if pushed := images.get(names.export_name):
        return {"image": pushed}
    context = build.context
    if context.path is not None and location is not None:
        return {
            "image": location.relative(context.path, build.dockerfile),
            "image_build_context": location.relative(context.path),
        }
    source = "git" if context.git is not None else "configMap" if context.config_map is not None else "path"
    raise ImageUnavailable(
        f'LunoraContainer "{names.resource}" builds its image from a {source} context, which is only '
        f"built in the cluster; pass the pushed reference with --image {names.export_name}=<registry reference>"
    )


def desired_container(
    container: LunoraContainer,
    worker_name: str,
    images: Mapping[str, str] | None = None,
    location: ImageLocation | None = None,
) -> DesiredContainer:
    spec = container.spec
    names = ContainerNames.derive(container.metadata.name, spec.export_name, worker_name, spec.name)
    entry: dict[str, Any] = {"class_name": names.class_name}
    entry.update(image_fields(container, names, images or {}, location))
    if spec.image.build is not None and spec.image.build.build_args:
        entry["image_vars"] = dict(spec.image.build.build_args)
    if spec.instance_type is not None:
        entry["instance_type"] = spec.instance_type
    elif (custom := spec.custom_instance_type) is not None:
        entry["instance_type"] = {
            "vcpu": custom.vcpu,
            "memory_mib": custom.memory_mib,
            "disk_mb": custom.disk_mb,
        }
    if spec.max_instances is not None:
        entry["max_instances"] = spec.max_instances
    if spec.name is not None:
        entry["name"] = spec.name
    if spec.rollout is not None and spec.rollout.step_percentage is not None:
        entry["rollout_step_percentage"] = spec.rollout.step_percentage
    if spec.rollout is not None and spec.rollout.grace_period_seconds is not None:
        entry["rollout_active_grace_period"] = spec.rollout.grace_period_seconds
    return DesiredContainer(names=names, spec=spec, entry=entry, deletion_policy=spec.deletion_policy)
