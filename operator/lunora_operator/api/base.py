"""The base model every API object derives from."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, GetJsonSchemaHandler
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from lunora_operator.api.rules import Rule

GROUP = "lunora.sh"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"


class WireModel(BaseModel):
    def to_wire(self) -> dict[str, Any]:
        """The object as the API server stores it: camelCase keys, unset fields left out."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class ApiModel(WireModel):
    """camelCase on the wire, unknown fields rejected, no type coercion (as the API server does).

    `object_rules` are rules over the whole object (cross-field rules); their `check` gets the
    model instance, their CEL `self` is the object.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        strict=True,
        frozen=True,
        use_attribute_docstrings=True,
    )

    object_rules: ClassVar[tuple[Rule, ...]] = ()

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        if cls.object_rules:
            target = handler.resolve_ref_schema(json_schema)
            target["x-kubernetes-validations"] = [rule.cel_validation() for rule in cls.object_rules]
        return json_schema
