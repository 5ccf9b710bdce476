"""The two custom resources as whole objects (apiVersion, kind, metadata, spec, status)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from lunora_operator.api.app import LunoraAppSpec
from lunora_operator.api.container import LunoraContainerSpec
from lunora_operator.api.status import LunoraAppStatus, LunoraContainerStatus


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


class Resource(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    kind_name: ClassVar[str]
    plural: ClassVar[str]
    singular: ClassVar[str]
    short_names: ClassVar[tuple[str, ...]]

    api_version: Literal["lunora.sh/v1alpha1"] = Field(default="lunora.sh/v1alpha1", alias="apiVersion")
    metadata: ObjectMeta

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class LunoraContainer(Resource):
    kind_name = "LunoraContainer"
    plural = "lunoracontainers"
    singular = "lunoracontainer"
    short_names = ("lc",)

    kind: Literal["LunoraContainer"] = "LunoraContainer"
    spec: LunoraContainerSpec
    status: LunoraContainerStatus | None = None


class LunoraApp(Resource):
    kind_name = "LunoraApp"
    plural = "lunoraapps"
    singular = "lunoraapp"
    short_names = ("lapp",)

    kind: Literal["LunoraApp"] = "LunoraApp"
    spec: LunoraAppSpec
    status: LunoraAppStatus | None = None


RESOURCE_TYPES: tuple[type[Resource], ...] = (LunoraContainer, LunoraApp)
