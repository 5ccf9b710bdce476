"""What one LunoraContainer contributes to its app's wrangler config.

Per container, as Lunora writes it: a `containers[]` entry keyed by `class_name` (image,
image_build_context for a Dockerfile, image_vars from buildArgs, instance_type, max_instances,
name, rollout_step_percentage, rollout_active_grace_period; and here also constraints) and a
`durable_objects.bindings[]` entry `{name: CONTAINER_<EXPORT_NAME>, class_name}`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Literal

from lunora_operator.api.container import LunoraContainerSpec
from lunora_operator.api.naming import ContainerNames
from lunora_operator.api.resources import LunoraContainer

EntryPath = tuple[str, ...]
# The containers[] keys the operator writes, in the order a new entry lists them; any other key
# in an owned entry is the user's and stays. `constraints` is shared: only its two keys are ours.
OWNED_ENTRY_PATHS: tuple[EntryPath, ...] = (
    ("class_name",),
    ("image",),
    ("image_build_context",),
    ("image_vars",),
    ("instance_type",),
    ("max_instances",),
    ("name",),
    ("rollout_step_percentage",),
    ("rollout_active_grace_period",),
    ("constraints", "regions"),
    ("constraints", "jurisdiction"),
)


class ImageUnavailable(ValueError):
    """A build image has no reference the config can name."""


ImageKind = Literal["registry", "pushed", "dockerfile"]


@dataclass(frozen=True)
class DesiredImage:
    """The image an entry names: a registry reference (given, or pushed for a build), or a
    Dockerfile path that wrangler builds from `build_context`."""

    kind: ImageKind
    reference: str
    build_context: str | None = None


@dataclass(frozen=True)
class DesiredContainer:
    """A container as the rendered config must describe it."""

    names: ContainerNames
    spec: LunoraContainerSpec
    image: DesiredImage
    entry: dict[str, Any]
    deletion_policy: Literal["Delete", "Orphan"]

    @property
    def binding(self) -> dict[str, str]:
        return {"name": self.names.binding_name, "class_name": self.names.class_name}

    @property
    def entry_paths(self) -> list[EntryPath]:
        """The owned paths this container's entry sets."""
        return [path for path in OWNED_ENTRY_PATHS if lookup_path(self.entry, path) is not None]


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


def lookup_path(entry: Mapping[str, Any], path: EntryPath) -> Any:
    value: Any = entry
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def desired_image(
    container: LunoraContainer,
    names: ContainerNames,
    images: Mapping[str, str],
    location: ImageLocation | None,
) -> DesiredImage:
    """A registry image is its reference. A build image is the reference it was pushed under
    (`images`, keyed by export name); failing that, a `path` context becomes the Dockerfile
    path plus build context so `wrangler deploy` builds it, as Lunora's flow does."""
    image = container.spec.image
    if image.registry is not None:
        return DesiredImage("registry", image.registry)
    build = image.build
    assert build is not None  # the model requires exactly one of registry / build
    if pushed := images.get(names.export_name):
        return DesiredImage("pushed", pushed)
    context = build.context
    if context.path is not None and location is not None:
        return DesiredImage(
            "dockerfile",
            location.relative(context.path, build.dockerfile),
            build_context=location.relative(context.path),
        )
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
    image = desired_image(container, names, images or {}, location)
    entry: dict[str, Any] = {"class_name": names.class_name, "image": image.reference}
    if image.build_context is not None:
        entry["image_build_context"] = image.build_context
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
    if (rollout := spec.rollout) is not None:
        if rollout.steps is not None:
            entry["rollout_step_percentage"] = list(rollout.steps)
        elif rollout.step_percentage is not None:
            entry["rollout_step_percentage"] = rollout.step_percentage
        if rollout.grace_period_seconds is not None:
            entry["rollout_active_grace_period"] = rollout.grace_period_seconds
    if (constraints := spec.constraints) is not None:
        placement = {"regions": constraints.regions, "jurisdiction": constraints.jurisdiction}
        if wanted := {key: value for key, value in placement.items() if value is not None}:
            entry["constraints"] = wanted
    return DesiredContainer(
        names=names, spec=spec, image=image, entry=entry, deletion_policy=spec.deletion_policy
    )
