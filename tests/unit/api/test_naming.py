"""Names derived from the export name, as Lunora derives them; `checklist_N` names the item of
Lunora's conformance checklist a test covers."""

from __future__ import annotations

import pytest

from lunora_operator.api.naming import (
    ContainerNames,
    application_name,
    binding_name,
    class_name,
    export_name_from_metadata,
    find_collisions,
)


@pytest.mark.parametrize(
    ("export", "expected"), [("transcoder", "TranscoderContainer"), ("imageResizer", "ImageResizerContainer")]
)
def test_class_names_checklist_34(export: str, expected: str) -> None:
    assert class_name(export) == expected


@pytest.mark.parametrize(
    ("export", "expected"),
    [
        ("transcoder", "CONTAINER_TRANSCODER"),
        ("imageResizer", "CONTAINER_IMAGE_RESIZER"),
        ("ffmpeg2Pass", "CONTAINER_FFMPEG2_PASS"),
        ("HTTPServer", "CONTAINER_HTTPSERVER"),  # a run of capitals is not split
    ],
)
def test_binding_names_checklist_35(export: str, expected: str) -> None:
    assert binding_name(export) == expected


@pytest.mark.parametrize(
    ("metadata_name", "expected"),
    [
        ("transcoder", "transcoder"),
        ("image-resizer", "imageResizer"),
        ("ffmpeg-2-pass", "ffmpeg2Pass"),
        ("a.b-c", "aBC"),
    ],
)
def test_export_name_defaults_to_camel_case_of_metadata_name(metadata_name: str, expected: str) -> None:
    assert export_name_from_metadata(metadata_name) == expected


def test_application_name_is_wrangler_default_unless_given() -> None:
    assert application_name("demo-app", "MyContainer") == "demo-app-mycontainer"
    assert application_name("demo-app", "MyContainer", "custom") == "custom"


def test_derive_uses_metadata_name_when_no_export_name() -> None:
    names = ContainerNames.derive("image-resizer", None, "demo")

    assert (names.export_name, names.class_name, names.binding_name, names.application_name) == (
        "imageResizer",
        "ImageResizerContainer",
        "CONTAINER_IMAGE_RESIZER",
        "demo-imageresizercontainer",
    )


def test_binding_collision_that_lunora_misses_is_reported() -> None:
    # imageResizer and image_resizer: different classes, the same binding (Lunora does not notice).
    collisions = find_collisions(
        [
            ContainerNames.derive("a", "imageResizer", "demo"),
            ContainerNames.derive("b", "image_resizer", "demo"),
        ]
    )

    assert [(c.kind, c.value, c.resources) for c in collisions] == [
        ("binding", "CONTAINER_IMAGE_RESIZER", ("a", "b"))
    ]
    assert 'LunoraContainers "a", "b" all give the binding CONTAINER_IMAGE_RESIZER' in str(collisions[0])


def test_class_collision_is_reported() -> None:
    collisions = find_collisions(
        [ContainerNames.derive("a", "imageResizer", "w"), ContainerNames.derive("b", "ImageResizer", "w")]
    )

    assert ("class", "ImageResizerContainer") in {(c.kind, c.value) for c in collisions}


def test_application_name_collision_is_reported() -> None:
    collisions = find_collisions(
        [ContainerNames.derive("a", "web", "w", "shared"), ContainerNames.derive("b", "api", "w", "shared")]
    )

    assert [(c.kind, c.value) for c in collisions] == [("application name", "shared")]


def test_distinct_containers_do_not_collide() -> None:
    assert (
        find_collisions([ContainerNames.derive("a", "web", "w"), ContainerNames.derive("b", "api", "w")])
        == []
    )
