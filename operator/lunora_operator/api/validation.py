"""Offline validation: the same rules the CRDs make the API server enforce, with field paths."""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from pydantic.fields import FieldInfo

from lunora_operator.api.base import ApiModel
from lunora_operator.api.resources import RESOURCE_TYPES, AnyResource
from lunora_operator.api.rules import FieldError, Rule, rules_of

KINDS: dict[str, type[AnyResource]] = {resource.kind_name: resource for resource in RESOURCE_TYPES}
# Tags pydantic adds to an error's location for a branch of a union (`int | str`).
_UNION_TAGS = {"int", "str", "float", "bool", "list", "dict", "none"}


class ResourceInvalid(ValueError):
    """A resource breaks one or more rules; `errors` names each field."""

    def __init__(self, kind: str, name: str, errors: list[FieldError]) -> None:
        self.kind = kind
        self.name = name
        self.errors = errors
        listed = "\n".join(f"  - {error}" for error in errors)
        super().__init__(f'{kind} "{name}" is invalid:\n{listed}')


def field_rules(field: FieldInfo) -> list[Rule]:
    """Rules on a field, including those inside `Annotated[T, rule] | None`."""
    found = rules_of(field.metadata)
    annotation = field.annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for option in typing.get_args(annotation):
            found.extend(rules_of(getattr(option, "__metadata__", ())))
    return found


def rule_errors(model: ApiModel, path: str) -> list[FieldError]:
    """Every rule violation in `model` and the models inside it."""
    errors: list[FieldError] = []
    for rule in type(model).object_rules:
        if (message := rule.violation(model)) is not None:
            errors.append(FieldError(path + (rule.field_path or ""), message, rule))
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        if value is None:
            continue
        field_path = f"{path}.{field.alias or name}"
        for rule in field_rules(field):
            if (message := rule.violation(value)) is not None:
                errors.append(FieldError(field_path, message, rule))
        errors.extend(_nested_errors(value, field_path))
    return errors


def _nested_errors(value: Any, path: str) -> list[FieldError]:
    if isinstance(value, ApiModel):
        return rule_errors(value, path)
    if isinstance(value, list):
        return [error for i, item in enumerate(value) for error in _nested_errors(item, f"{path}[{i}]")]
    if isinstance(value, Mapping):
        return [error for key, item in value.items() for error in _nested_errors(item, f"{path}[{key}]")]
    return []


def _location(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in _UNION_TAGS or "[" in part:
            continue
        else:
            path += f".{part}" if path else part
    return path


def pydantic_errors(error: ValidationError) -> list[FieldError]:
    merged: dict[str, list[str]] = {}
    for item in error.errors(include_url=False):
        field = _location(item["loc"])
        message = f'unknown field "{field}"' if item["type"] == "extra_forbidden" else item["msg"]
        if message not in merged.setdefault(field, []):
            merged[field].append(message)
    return [FieldError(field, "; ".join(messages)) for field, messages in merged.items()]


def validate_resource(document: Mapping[str, Any]) -> AnyResource:
    """Parses a LunoraContainer or LunoraApp document; raises ResourceInvalid naming every bad field."""
    kind = document.get("kind")
    name = str((document.get("metadata") or {}).get("name", "<unnamed>"))
    resource_type = KINDS.get(kind) if isinstance(kind, str) else None
    if resource_type is None:
        raise ResourceInvalid(
            str(kind), name, [FieldError("kind", f'"{kind}" is not one of {", ".join(KINDS)}')]
        )
    try:
        resource = resource_type.model_validate(document)
    except ValidationError as error:
        raise ResourceInvalid(resource_type.kind_name, name, pydantic_errors(error)) from None
    errors = rule_errors(resource.spec, "spec")
    for rule in resource.root_rules:
        if (message := rule.violation(resource)) is not None:
            errors.append(FieldError((rule.field_path or "").lstrip("."), message, rule))
    if errors:
        raise ResourceInvalid(resource_type.kind_name, name, errors)
    return resource
