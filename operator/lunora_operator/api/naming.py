"""Names derived from a container's export name.

Class and binding names follow Lunora exactly: class `<ExportName>Container` (first letter
upper-cased), binding `CONTAINER_<EXPORT_NAME>` with `_` where a lower-case letter or digit
meets an upper-case one (a run of capitals is not split). Unlike Lunora, which does
not notice when two exports map to the same binding (`imageResizer` and `image_resizer` both
give `CONTAINER_IMAGE_RESIZER`), `find_collisions` reports such clashes within one app.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from lunora_operator.api.rules import OK, Rule
from lunora_operator.name_lists import few

# A lower-case letter or digit followed by an upper-case letter: where Lunora splits words.
_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_METADATA_SEPARATORS = re.compile(r"[-.]")
EXPORT_NAME_MAX = 63


def export_name_from_metadata(name: str) -> str:
    """camelCase of a metadata.name: `image-resizer` -> `imageResizer`, `ffmpeg-2-pass` -> `ffmpeg2Pass`."""
    first, *rest = _METADATA_SEPARATORS.split(name)
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def _metadata_gives_export_name(name: str) -> bool:
    return bool(re.match("^[a-z]", name)) and len(export_name_from_metadata(name)) <= EXPORT_NAME_MAX


EXPORT_NAME_FROM_METADATA_RULE = Rule(
    cel=f"has(self.spec.exportName) || (self.metadata.name.matches('^[a-z]') && size(self.metadata.name) <= {EXPORT_NAME_MAX})",
    message='metadata.name "%s" does not give an export name (it must start with a letter and be at most '
    f"{EXPORT_NAME_MAX} characters); set `spec.exportName`",
    cel_args=("self.metadata.name",),
    # `check` gets the whole LunoraContainer, as the CEL rule sits at the root of the schema.
    check=lambda resource: (
        OK
        if resource.spec.export_name is not None or _metadata_gives_export_name(resource.metadata.name)
        else (resource.metadata.name,)
    ),
    field_path=".spec.exportName",
)


def class_name(export_name: str) -> str:
    """`transcoder` -> `TranscoderContainer`."""
    return export_name[:1].upper() + export_name[1:] + "Container"


def binding_name(export_name: str) -> str:
    """`imageResizer` -> `CONTAINER_IMAGE_RESIZER`; a run of capitals is not split."""
    return "CONTAINER_" + _WORD_BOUNDARY.sub("_", export_name).upper()


def application_name(worker_name: str, class_name_: str, explicit: str | None = None) -> str:
    """The Containers application name: the `name` option, else wrangler's default."""
    if explicit:
        return explicit
    return f"{worker_name}-{class_name_}".lower().replace(" ", "-")


@dataclass(frozen=True)
class ContainerNames:
    """Every name one container gets inside its app."""

    resource: str
    export_name: str
    class_name: str
    binding_name: str
    application_name: str

    @classmethod
    def derive(
        cls, resource: str, export_name: str | None, worker_name: str, explicit_application: str | None = None
    ) -> ContainerNames:
        export = export_name or export_name_from_metadata(resource)
        klass = class_name(export)
        return cls(
            resource=resource,
            export_name=export,
            class_name=klass,
            binding_name=binding_name(export),
            application_name=application_name(worker_name, klass, explicit_application),
        )


@dataclass(frozen=True)
class NameCollision:
    kind: str  # "export name", "class", "binding", "application name"
    value: str
    resources: tuple[str, ...]

    def __str__(self) -> str:
        listed = few(f'"{name}"' for name in self.resources)
        return f"LunoraContainers {listed} all give the {self.kind} {self.value}; give each a distinct `exportName` or `name`"


def find_collisions(containers: Iterable[ContainerNames]) -> list[NameCollision]:
    """Names that two or more containers of one app would share."""
    containers = list(containers)
    found: list[NameCollision] = []
    for kind, attribute in (
        ("export name", "export_name"),
        ("class", "class_name"),
        ("binding", "binding_name"),
        ("application name", "application_name"),
    ):
        by_value: dict[str, list[str]] = {}
        for names in containers:
            by_value.setdefault(getattr(names, attribute), []).append(names.resource)
        found.extend(
            NameCollision(kind, value, tuple(sorted(resources)))
            for value, resources in sorted(by_value.items())
            if len(resources) > 1
        )
    return found
