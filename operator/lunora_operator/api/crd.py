"""CustomResourceDefinitions generated from the pydantic models (`make crds`).

pydantic's JSON Schema is turned into a Kubernetes *structural* schema: references inlined,
`Optional` unwrapped, titles and `additionalProperties: false` dropped (the API server prunes
and `kubectl` rejects unknown fields), object defaults reduced to `{}` so nested defaults apply.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import yaml

from lunora_operator.api.base import GROUP, VERSION
from lunora_operator.api.naming import EXPORT_NAME_FROM_METADATA_RULE
from lunora_operator.api.resources import LunoraApp, LunoraContainer, Resource

KEPT_KEYWORDS = {
    "type",
    "description",
    "enum",
    "default",
    "format",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "maxProperties",
    "required",
}
CATEGORY = "lunora"


class SchemaError(ValueError):
    """A model cannot be expressed as a structural schema."""


def _merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overlay.items():
        if key == "x-kubernetes-validations":
            merged[key] = [*merged.get(key, []), *value]
        else:
            merged[key] = value
    return merged


def structural(schema: dict[str, Any], defs: dict[str, Any], where: str = "") -> dict[str, Any]:
    """Converts one pydantic JSON Schema node (and its children) to a structural schema node."""
    siblings = {k: v for k, v in schema.items() if k not in ("$ref", "anyOf")}
    if "$ref" in schema:
        target = defs[schema["$ref"].rsplit("/", 1)[-1]]
        return structural(_merge(target, siblings), defs, where)
    if "anyOf" in schema:
        options = [option for option in schema["anyOf"] if option != {"type": "null"}]
        if len(options) != 1:
            raise SchemaError(
                f"{where or 'root'}: a union of several types is not structural: {schema['anyOf']}"
            )
        return structural(_merge(options[0], siblings), defs, where)

    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in KEPT_KEYWORDS or key.startswith("x-kubernetes-"):
            out[key] = value
    if out.get("default", 0) is None:
        del out["default"]
    if isinstance(out.get("default"), dict):
        out["default"] = {}
    if "description" in out:
        out["description"] = " ".join(out["description"].split())
    if "properties" in schema:
        out["properties"] = {
            name: structural(child, defs, f"{where}.{name}") for name, child in schema["properties"].items()
        }
    if "items" in schema:
        out["items"] = structural(schema["items"], defs, f"{where}[]")
    additional = schema.get("additionalProperties")
    if isinstance(additional, dict):
        out["additionalProperties"] = structural(additional, defs, f"{where}.*")
    return out


def model_schema(model: type[Any]) -> dict[str, Any]:
    raw = model.model_json_schema(by_alias=True)
    return structural(raw, raw.get("$defs", {}))


READY = '.status.conditions[?(@.type=="Ready")]'


def printer_columns(*middle: dict[str, Any], wide: dict[str, Any]) -> list[dict[str, Any]]:
    """Ready and Reason first, then the kind's own columns, Age; one extra column and the
    Ready message with `-o wide`."""
    return [
        {"name": "Ready", "type": "string", "jsonPath": f"{READY}.status"},
        {"name": "Reason", "type": "string", "jsonPath": f"{READY}.reason"},
        *middle,
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
        {**wide, "priority": 1},
        {"name": "Message", "type": "string", "jsonPath": f"{READY}.message", "priority": 1},
    ]


PRINTER_COLUMNS: dict[str, list[dict[str, Any]]] = {
    "LunoraContainer": printer_columns(
        {"name": "Mode", "type": "string", "jsonPath": ".status.mode"},
        {"name": "Running", "type": "integer", "jsonPath": ".status.instances.running"},
        {"name": "Max", "type": "integer", "jsonPath": ".spec.maxInstances"},
        wide={"name": "Image", "type": "string", "jsonPath": ".status.image.ref"},
    ),
    "LunoraApp": printer_columns(
        {"name": "Mode", "type": "string", "jsonPath": ".spec.mode"},
        {"name": "Worker", "type": "string", "jsonPath": ".spec.workerName"},
        {"name": "Containers", "type": "integer", "jsonPath": ".status.containerCount"},
        wide={"name": "Migration", "type": "string", "jsonPath": ".status.migrationTag"},
    ),
}

DESCRIPTIONS = {
    "LunoraContainer": "One Cloudflare container definition (Lunora's defineContainer) belonging to a LunoraApp.",
    "LunoraApp": "A Worker script, its Cloudflare account and wrangler config: the aggregation point of its LunoraContainers.",
}


def crd(resource: type[Resource]) -> dict[str, Any]:
    spec_model: Any = resource.model_fields["spec"].annotation
    status_model: Any = typing.get_args(resource.model_fields["status"].annotation)[0]  # Optional[Status]
    root: dict[str, Any] = {
        "type": "object",
        "description": DESCRIPTIONS[resource.kind_name],
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": model_schema(spec_model),
            "status": model_schema(status_model),
        },
    }
    if resource is LunoraContainer:
        root["x-kubernetes-validations"] = [EXPORT_NAME_FROM_METADATA_RULE.cel_validation()]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{resource.plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": resource.kind_name,
                "listKind": f"{resource.kind_name}List",
                "plural": resource.plural,
                "singular": resource.singular,
                "shortNames": list(resource.short_names),
                "categories": [CATEGORY],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": PRINTER_COLUMNS[resource.kind_name],
                    "schema": {"openAPIV3Schema": root},
                }
            ],
        },
    }


HEADER = "# Generated by `make crds` from lunora_operator.api; do not edit.\n"


def render_crd(resource: type[Resource]) -> str:
    return HEADER + yaml.safe_dump(crd(resource), sort_keys=False, width=120, allow_unicode=True)


def crd_files() -> dict[str, str]:
    """File name -> content of every generated CRD."""
    return {
        f"{GROUP}_{resource.plural}.yaml": render_crd(resource) for resource in (LunoraApp, LunoraContainer)
    }


def write_crds(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in crd_files().items():
        path = directory / name
        path.write_text(content)
        written.append(path)
    return written
