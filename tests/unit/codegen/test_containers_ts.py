"""Generated TypeScript: every spec field is emitted or deliberately not, and the image kind is
carried, not guessed. (The text itself is pinned by tests/unit/test_render_golden.py.)"""

from __future__ import annotations

from typing import Any

import pytest

from lunora_operator.api.container import LunoraContainerSpec
from lunora_operator.api.naming import ContainerNames
from lunora_operator.api.resources import LunoraContainer
from lunora_operator.api.validation import validate_resource
from lunora_operator.codegen.containers_ts import (
    CLOUDFLARE_CONFIG_ONLY,
    CLOUDFLARE_ENV_FIELDS,
    CLOUDFLARE_FIELDS,
    LUNORA_ONLY,
    LUNORA_OPTIONS,
    NOT_EMITTED,
    definition,
    render_containers_ts,
)
from lunora_operator.wrangler.desired import DesiredContainer, DesiredImage, desired_container
from tests.support.builders import desired
from tests.support.corpus import cases

SPEC_FIELDS = set(LunoraContainerSpec.model_fields)


def from_spec(spec: dict[str, Any]) -> DesiredContainer:
    document = {
        "apiVersion": "lunora.sh/v1alpha1",
        "kind": "LunoraContainer",
        "metadata": {"name": "image-resizer"},
        "spec": {"app": "demo", **spec},
    }
    resource = validate_resource(document)
    assert isinstance(resource, LunoraContainer)
    return desired_container(resource, "demo")


EVERY_OPTION = next(case for case in cases("valid") if case.id == "container-every-option").document["spec"]


def test_every_spec_field_is_emitted_or_deliberately_not_in_the_lunora_flavour() -> None:
    assert set(LUNORA_OPTIONS).isdisjoint(NOT_EMITTED)
    assert set(LUNORA_OPTIONS) | set(NOT_EMITTED) == SPEC_FIELDS


def test_every_spec_field_has_exactly_one_place_in_the_cloudflare_flavour() -> None:
    places = [
        set(CLOUDFLARE_FIELDS),
        set(CLOUDFLARE_ENV_FIELDS),
        set(CLOUDFLARE_CONFIG_ONLY),
        set(LUNORA_ONLY),
        set(NOT_EMITTED),
    ]
    assert sum(len(place) for place in places) == len(SPEC_FIELDS)
    assert set().union(*places) == SPEC_FIELDS


@pytest.mark.parametrize("attribute", sorted(LUNORA_OPTIONS))
def test_each_lunora_option_reaches_the_definition(attribute: str) -> None:
    spec = {key: value for key, value in EVERY_OPTION.items() if key not in ("app", "exportName")}
    if attribute == "custom_instance_type":
        spec.pop("instanceType")
        spec["customInstanceType"] = {"vcpu": 1, "memoryMib": 4096, "diskMb": 4000}
    option, _ = LUNORA_OPTIONS[attribute]

    generated = render_containers_ts([from_spec(spec)], "lunora")

    assert f"\n      {option}: " in generated


@pytest.mark.parametrize("attribute", sorted(CLOUDFLARE_FIELDS))
def test_each_cloudflare_field_is_set_on_the_class(attribute: str) -> None:
    spec = {
        key: value
        for key, value in EVERY_OPTION.items()
        if key not in ("app", "exportName", "readyOn", "hardTimeout", "secretsStore")
    }
    generated = render_containers_ts([from_spec(spec)], "cloudflare")

    assert f"\n  {CLOUDFLARE_FIELDS[attribute]} = " in generated


def _with_image(image: DesiredImage) -> DesiredContainer:
    base = desired("web")
    names = ContainerNames.derive("web", None, "demo")
    return DesiredContainer(
        names=names, spec=base.spec, image=image, entry=base.entry, deletion_policy="Delete"
    )


def test_the_image_kind_decides_the_option_not_the_spelling() -> None:
    """A Dockerfile path is Lunora's string form even without a leading `.`; any reference,
    pushed or given, is `{registry}` even with one."""
    dockerfile = _with_image(DesiredImage("dockerfile", "containers/web/Dockerfile", "containers/web"))
    pushed = _with_image(DesiredImage("pushed", "./odd-but-a-reference:1"))

    assert definition(dockerfile)["image"] == "containers/web/Dockerfile"
    assert definition(pushed)["image"] == {"registry": "./odd-but-a-reference:1"}
