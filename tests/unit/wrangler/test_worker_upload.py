"""The Worker upload carries what the rendered config says, with the migrations after
Cloudflare's tag (as wrangler's getMigrationsToUpload does)."""

from __future__ import annotations

import pytest

from lunora_operator.wrangler.worker_upload import (
    MigrationHistoryGap,
    container_classes,
    declaring_tag,
    durable_object_bindings,
    migration_steps,
)

HISTORY = [
    {"tag": "v1", "new_sqlite_classes": ["AContainer"]},
    {"tag": "v2", "new_sqlite_classes": ["BContainer"]},
    {"tag": "v3", "deleted_classes": ["AContainer"]},
]


def test_a_new_worker_gets_every_step_without_old_tag() -> None:
    steps = migration_steps(HISTORY, None)
    assert steps is not None
    assert (steps.old_tag, steps.new_tag) == (None, "v3")
    assert steps.steps == tuple({k: v for k, v in e.items() if k != "tag"} for e in HISTORY)


def test_only_the_steps_after_the_deployed_tag() -> None:
    steps = migration_steps(HISTORY, "v1")
    assert steps is not None
    assert (steps.old_tag, steps.new_tag) == ("v1", "v3")
    assert steps.steps == ({"new_sqlite_classes": ["BContainer"]}, {"deleted_classes": ["AContainer"]})
    assert migration_steps(HISTORY, "v3") is None
    assert migration_steps([], None) is None


def test_a_deployed_tag_missing_from_the_history_is_refused() -> None:
    with pytest.raises(MigrationHistoryGap, match='"v9"'):
        migration_steps(HISTORY, "v9")


def test_bindings_classes_and_declaring_tag() -> None:
    config = {
        "durable_objects": {
            "bindings": [
                {"name": "CONTAINER_A", "class_name": "AContainer"},
                {"name": "OTHER", "class_name": "Other", "script_name": "elsewhere"},
            ]
        },
        "containers": [{"class_name": "AContainer", "image": "x:1"}, None],
        "migrations": HISTORY[:2],
    }
    assert durable_object_bindings(config) == [("CONTAINER_A", "AContainer")]
    assert container_classes(config) == ["AContainer"]
    assert declaring_tag(config, "BContainer") == "v2"
    assert declaring_tag(config, "Missing") is None
