"""The CRDs in crds/ are generated from the models and are structural."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from lunora_operator.api.crd import crd, crd_files, model_schema
from lunora_operator.api.resources import RESOURCE_TYPES, AnyResource, LunoraContainer
from lunora_operator.api.validation import ResourceInvalid, validate_resource

CRDS = Path(__file__).resolve().parents[3] / "crds"
GENERATED = crd_files()


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_crd_file_is_not_stale(name: str) -> None:
    on_disk = CRDS / name
    assert on_disk.is_file(), f"{on_disk} is missing: run `make crds`"
    assert on_disk.read_text() == GENERATED[name], f"{on_disk} is stale: run `make crds`"


def test_no_other_files_in_crds() -> None:
    assert {path.name for path in CRDS.glob("*.yaml")} == set(GENERATED)


def walk(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    if not isinstance(node, dict):
        return []
    found = [(path, node)]
    for name, child in node.get("properties", {}).items():
        found += walk(child, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        found += walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        found += walk(node["additionalProperties"], f"{path}.*")
    return found


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_schema_is_structural(name: str) -> None:
    schema = yaml.safe_load(GENERATED[name])["spec"]["versions"][0]["schema"]["openAPIV3Schema"]

    for path, node in walk(schema):
        assert not {"$ref", "anyOf", "oneOf", "allOf", "title", "$defs"} & set(node), path
        assert "type" in node or node.get("x-kubernetes-int-or-string"), f"{path} has no type"
        assert node.get("additionalProperties") is not False, path


def test_conditions_are_a_map_keyed_by_type() -> None:
    for content in GENERATED.values():
        status = yaml.safe_load(content)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"][
            "status"
        ]
        conditions = status["properties"]["conditions"]
        assert conditions["x-kubernetes-list-type"] == "map"
        assert conditions["x-kubernetes-list-map-keys"] == ["type"]
        assert set(conditions["items"]["required"]) == {"type", "status", "reason", "lastTransitionTime"}


def test_names_short_names_and_category() -> None:
    names = {
        yaml.safe_load(c)["spec"]["names"]["kind"]: yaml.safe_load(c)["spec"]["names"]
        for c in GENERATED.values()
    }

    assert names["LunoraContainer"]["shortNames"] == ["lc"]
    assert names["LunoraApp"]["shortNames"] == ["lapp"]
    assert all(n["categories"] == ["lunora"] for n in names.values())


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_every_field_at_every_depth_has_a_description_for_kubectl_explain(name: str) -> None:
    root = yaml.safe_load(GENERATED[name])["spec"]["versions"][0]["schema"]["openAPIV3Schema"]

    # `kubectl explain` shows a list's or map's description for its items, so those may have none.
    undocumented = [
        path
        for part in ("spec", "status")
        for path, node in walk(root["properties"][part], part)
        if not node.get("description") and not path.endswith(("[]", ".*"))
    ]
    assert not undocumented


@pytest.mark.parametrize("resource", RESOURCE_TYPES, ids=lambda resource: resource.kind_name)
def test_each_crd_is_built_from_the_metadata_on_its_resource_class(resource: type[AnyResource]) -> None:
    generated = crd(resource)
    version = generated["spec"]["versions"][0]
    root = version["schema"]["openAPIV3Schema"]

    assert generated["spec"]["names"]["kind"] == resource.kind_name
    assert root["description"] == resource.description
    assert version["additionalPrinterColumns"] == [column.to_crd() for column in resource.printer_columns]
    assert root.get("x-kubernetes-validations", []) == [rule.cel_validation() for rule in resource.root_rules]
    assert root["properties"]["spec"] == model_schema(resource.spec_model())
    assert root["properties"]["status"] == model_schema(resource.status_model())


def test_root_rules_are_checked_offline_for_every_kind() -> None:
    document = {
        "apiVersion": "lunora.sh/v1alpha1",
        "kind": "LunoraContainer",
        "metadata": {"name": "9lives"},
        "spec": {"app": "demo", "image": {"registry": "docker.io/acme/x:1"}},
    }

    with pytest.raises(ResourceInvalid) as rejected:
        validate_resource(document)

    assert [error.rule for error in rejected.value.errors] == list(LunoraContainer.root_rules)
