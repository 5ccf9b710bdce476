"""The two custom resources as whole objects (apiVersion, kind, metadata, spec, status), each
class carrying what the CRD and the validator need to know about its kind."""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from lunora_operator.api.app import LunoraAppSpec
from lunora_operator.api.base import ApiModel, WireModel
from lunora_operator.api.container import LunoraContainerSpec
from lunora_operator.api.naming import EXPORT_NAME_FROM_METADATA_RULE, ContainerNames
from lunora_operator.api.rules import Rule
from lunora_operator.api.status import CommonStatus, LunoraAppStatus, LunoraContainerStatus

SpecT = TypeVar("SpecT", bound=ApiModel)
StatusT = TypeVar("StatusT", bound=CommonStatus)


class ObjectMeta(BaseModel):
    """The parts of metadata the operator reads; the rest is kept as-is."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=253)]
    namespace: str | None = None
    generation: int | None = None
    uid: str | None = None
    resource_version: str | None = Field(default=None, alias="resourceVersion")
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None


@dataclass(frozen=True)
class PrinterColumn:
    """A column of `kubectl get`; priority 1 shows only with `-o wide`."""

    name: str
    type: Literal["string", "integer", "date"]
    json_path: str
    priority: int = 0

    def to_crd(self) -> dict[str, Any]:
        column: dict[str, Any] = {"name": self.name, "type": self.type, "jsonPath": self.json_path}
        if self.priority:
            column["priority"] = self.priority
        return column


READY = '.status.conditions[?(@.type=="Ready")]'


def printer_columns(*middle: PrinterColumn, wide: PrinterColumn) -> tuple[PrinterColumn, ...]:
    """Ready and Reason first, then the kind's own columns, Age; one extra column and the
    Ready message with `-o wide`."""
    return (
        PrinterColumn("Ready", "string", f"{READY}.status"),
        PrinterColumn("Reason", "string", f"{READY}.reason"),
        *middle,
        PrinterColumn("Age", "date", ".metadata.creationTimestamp"),
        PrinterColumn(wide.name, wide.type, wide.json_path, priority=1),
        PrinterColumn("Message", "string", f"{READY}.message", priority=1),
    )


class Resource(WireModel, Generic[SpecT, StatusT]):
    """A lunora.sh object. Subclasses name their kind and carry its CRD metadata; `root_rules`
    are rules over the whole object (CEL `self` is the object, `check` gets the resource)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    kind_name: ClassVar[str]
    plural: ClassVar[str]
    singular: ClassVar[str]
    short_names: ClassVar[tuple[str, ...]]
    description: ClassVar[str]
    printer_columns: ClassVar[tuple[PrinterColumn, ...]]
    root_rules: ClassVar[tuple[Rule, ...]] = ()

    api_version: Literal["lunora.sh/v1alpha1"] = Field(default="lunora.sh/v1alpha1", alias="apiVersion")
    kind: str
    metadata: ObjectMeta
    spec: SpecT
    status: StatusT | None = None

    @classmethod
    def spec_model(cls) -> type[ApiModel]:
        return typing.cast(type[ApiModel], cls.model_fields["spec"].annotation)

    @classmethod
    def status_model(cls) -> type[CommonStatus]:
        optional = cls.model_fields["status"].annotation  # StatusT | None
        return typing.cast(
            type[CommonStatus], next(t for t in typing.get_args(optional) if t is not type(None))
        )


class LunoraContainer(Resource[LunoraContainerSpec, LunoraContainerStatus]):
    kind_name = "LunoraContainer"
    plural = "lunoracontainers"
    singular = "lunoracontainer"
    short_names = ("lc",)
    description = "One Cloudflare container definition (Lunora's defineContainer) belonging to a LunoraApp."
    printer_columns = printer_columns(
        PrinterColumn("Mode", "string", ".status.mode"),
        PrinterColumn("Running", "integer", ".status.instances.running"),
        PrinterColumn("Max", "integer", ".spec.maxInstances"),
        wide=PrinterColumn("Image", "string", ".status.image.ref"),
    )
    root_rules = (EXPORT_NAME_FROM_METADATA_RULE,)

    kind: Literal["LunoraContainer"] = "LunoraContainer"

    def names_in(self, app: LunoraApp) -> ContainerNames:
        """The class, binding and application names this container gets in `app`."""
        return ContainerNames.derive(
            self.metadata.name, self.spec.export_name, app.spec.worker_name, self.spec.name
        )


class LunoraApp(Resource[LunoraAppSpec, LunoraAppStatus]):
    kind_name = "LunoraApp"
    plural = "lunoraapps"
    singular = "lunoraapp"
    short_names = ("lapp",)
    description = "A Worker script, its Cloudflare account and wrangler config: the aggregation point of its LunoraContainers."
    printer_columns = printer_columns(
        PrinterColumn("Mode", "string", ".spec.mode"),
        PrinterColumn("Worker", "string", ".spec.workerName"),
        PrinterColumn("Containers", "integer", ".status.containerCount"),
        wide=PrinterColumn("Migration", "string", ".status.migrationTag"),
    )

    kind: Literal["LunoraApp"] = "LunoraApp"


AnyResource = LunoraContainer | LunoraApp
RESOURCE_TYPES: tuple[type[LunoraContainer], type[LunoraApp]] = (LunoraContainer, LunoraApp)
