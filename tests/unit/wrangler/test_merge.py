"""Merging containers into a wrangler config, in both formats.

Lunora's behaviour where it still applies; tests marked "unlike Lunora" show
the operator updating and deleting what Lunora only ever adds.
"""

from __future__ import annotations

import pytest

from lunora_operator.wrangler.desired import RemovedContainer
from lunora_operator.wrangler.document import Format, open_document
from lunora_operator.wrangler.jsonc import parse
from lunora_operator.wrangler.merge import RenderConflict, merge_config
from tests.support.builders import desired

JSONC_BASE = """{
  // user config
  "name": "demo",
  "main": "src/index.ts",
  "durable_objects": {
    "bindings": [
      { "name": "SHARD", "class_name": "ShardDO" } // built-in
    ]
  },
  "migrations": [
    { "tag": "v1", "new_sqlite_classes": ["ShardDO"] }
  ]
}
"""

TOML_BASE = """# user config
name = "demo"
main = "src/index.ts"

[[durable_objects.bindings]]
name = "SHARD"        # built-in
class_name = "ShardDO"

[[migrations]]
tag = "v1"
new_sqlite_classes = ["ShardDO"]
"""

BASES = {"jsonc": JSONC_BASE, "toml": TOML_BASE}


def value(text: str, fmt: Format) -> dict:
    return open_document(text, fmt).get([])


@pytest.fixture(params=["jsonc", "toml"])
def fmt(request: pytest.FixtureRequest) -> Format:
    return request.param


def merged(text: str, fmt: Format, *containers, **kwargs):
    document = open_document(text, fmt)
    result = merge_config(document, list(containers), **kwargs)
    return result, value(result.text, fmt)


def test_new_container_gets_entry_binding_and_sqlite_migration(fmt: Format) -> None:
    """Binding CONTAINER_X -> XContainer (checklist 34, 35), an entry, a SQLite migration, and
    observability switched on when absent."""
    result, config = merged(BASES[fmt], fmt, desired("transcoder", maxInstances=5, instanceType="standard-1"))

    assert config["containers"] == [
        {
            "class_name": "TranscoderContainer",
            "image": "docker.io/acme/transcoder:1.0",
            "instance_type": "standard-1",
            "max_instances": 5,
        }
    ]
    assert config["durable_objects"]["bindings"][-1] == {
        "class_name": "TranscoderContainer",
        "name": "CONTAINER_TRANSCODER",
    }
    assert config["migrations"][-1] == {"new_sqlite_classes": ["TranscoderContainer"], "tag": "v2"}
    assert config["observability"] == {"enabled": True, "head_sampling_rate": 1}
    assert result.migration_tag == "v2"
    assert "# user config" in result.text or "// user config" in result.text
    assert "built-in" in result.text


def test_second_merge_changes_nothing(fmt: Format) -> None:
    """A second run changes nothing."""
    first, _ = merged(BASES[fmt], fmt, desired("transcoder"), desired("image-resizer", maxInstances=2))

    second, _ = merged(first.text, fmt, desired("transcoder"), desired("image-resizer", maxInstances=2))

    assert second.changes == []
    assert second.text == first.text


def test_containers_share_one_migration_in_export_name_order(fmt: Format) -> None:
    _, config = merged(BASES[fmt], fmt, desired("transcoder"), desired("image-resizer"))

    assert config["migrations"][-1]["new_sqlite_classes"] == ["ImageResizerContainer", "TranscoderContainer"]
    assert [c["class_name"] for c in config["containers"]] == ["ImageResizerContainer", "TranscoderContainer"]


def test_tag_goes_above_the_highest_v_number_never_back_in_time() -> None:
    """Unlike Lunora (the lowest unused v<N>, so v2 after v7): the next tag is above the highest."""
    base = '{"name": "demo", "migrations": [{"tag": "v1"}, {"tag": "v7"}, {"tag": "2024-init"}]}'

    _, config = merged(base, "jsonc", desired("web"))

    assert [m["tag"] for m in config["migrations"]] == ["v1", "v7", "2024-init", "v8"]


def test_new_entries_follow_their_neighbours_style_and_the_conventional_key_order() -> None:
    """Bindings read `name`, then `class_name`; a migration starts with its `tag`; a packed
    `{ … }` neighbour gets a packed sibling with the same spacing."""
    result, _ = merged(JSONC_BASE, "jsonc", desired("transcoder"))

    assert '{ "name": "CONTAINER_TRANSCODER", "class_name": "TranscoderContainer" }' in result.text
    assert '{ "tag": "v2", "new_sqlite_classes": ["TranscoderContainer"] }' in result.text


def test_new_toml_tables_list_keys_in_the_conventional_order() -> None:
    result, _ = merged(TOML_BASE, "toml", desired("transcoder"))

    assert (
        '[[durable_objects.bindings]]\nname = "CONTAINER_TRANSCODER"\nclass_name = "TranscoderContainer"\n'
        in result.text
    )
    assert '[[migrations]]\ntag = "v2"\nnew_sqlite_classes = ["TranscoderContainer"]\n' in result.text
    assert '[[containers]]\nclass_name = "TranscoderContainer"\nimage = ' in result.text


def test_rollout_steps_and_placement_reach_the_entry(fmt: Format) -> None:
    _, config = merged(
        BASES[fmt],
        fmt,
        desired(
            "web",
            maxInstances=4,
            rollout={"steps": [10, 50, 100], "gracePeriodSeconds": 30},
            constraints={"regions": ["WEUR", "ENAM"], "jurisdiction": "eu"},
        ),
    )

    assert config["containers"][0] == {
        "class_name": "WebContainer",
        "image": "docker.io/acme/web:1.0",
        "max_instances": 4,
        "rollout_step_percentage": [10, 50, 100],
        "rollout_active_grace_period": 30,
        "constraints": {"regions": ["WEUR", "ENAM"], "jurisdiction": "eu"},
    }


def test_existing_binding_with_our_name_and_class_is_kept_as_written() -> None:
    """Existing bindings are never modified."""
    base = '{"name": "demo", "durable_objects": {"bindings": [{"name": "CONTAINER_WEB", "class_name": "WebContainer"}]}}'

    result, config = merged(base, "jsonc", desired("web"))

    assert config["durable_objects"]["bindings"] == [{"name": "CONTAINER_WEB", "class_name": "WebContainer"}]
    assert not any("bindings" in change for change in result.changes)


def test_class_introduced_by_a_rename_counts_as_declared() -> None:
    """A renamed-to class is declared; a second new_sqlite_classes would be refused."""
    base = """{"name": "demo", "migrations": [
      {"tag": "v1", "new_sqlite_classes": ["OldContainer"]},
      {"tag": "v2", "renamed_classes": [{"from": "OldContainer", "to": "WebContainer"}]}
    ]}"""

    _, config = merged(base, "jsonc", desired("web"))

    assert [m["tag"] for m in config["migrations"]] == ["v1", "v2"]


def test_null_entries_from_trailing_commas_are_skipped() -> None:
    """Null entries (a JSONC trailing comma) are skipped."""
    config_text = '{"name": "demo", "containers": [null], "migrations": [null, {"tag": "v1"}]}'

    _, config = merged(config_text, "jsonc", desired("web"))

    assert config["containers"][0] is None
    assert config["migrations"][-1]["tag"] == "v2"


def test_observability_the_user_set_is_untouched_even_when_disabled() -> None:
    """Present, even with enabled false, means untouched."""
    base = '{"name": "demo", "observability": {"enabled": false}}'

    _, config = merged(base, "jsonc", desired("web"))

    assert config["observability"] == {"enabled": False}


def test_unlike_lunora_owned_entry_follows_the_resource(fmt: Format) -> None:
    before = desired("web", maxInstances=2, rollout={"stepPercentage": 50})
    first, _ = merged(BASES[fmt], fmt, before)
    # the user adds a key the resource does not set
    edited = open_document(first.text, fmt)
    edited.set(["containers", 0, "constraints"], {"regions": ["WEUR"]})

    result, config = merged(
        edited.text,
        fmt,
        desired("web", image={"registry": "docker.io/acme/web:2.0"}, maxInstances=4),
        written={"WebContainer": before.entry_paths},  # what the first render wrote into this file
    )

    assert config["containers"] == [
        {
            "class_name": "WebContainer",
            "image": "docker.io/acme/web:2.0",
            "max_instances": 4,
            "constraints": {"regions": ["WEUR"]},
        }
    ]
    assert result.changes == [
        "updated containers/WebContainer (image, max_instances, rollout_step_percentage)"
    ]
    assert len(config["migrations"]) == 2  # no new migration for an update


@pytest.mark.parametrize(
    ("fmt", "base"),
    [
        (
            "jsonc",
            '{"name": "demo", "containers": [{"class_name": "WebContainer", "image": "docker.io/acme/web:1.0",'
            ' "rollout_step_percentage": [10, 100], "max_instances": 3}]}',
        ),
        (
            "toml",
            'name = "demo"\n\n[[containers]]\nclass_name = "WebContainer"\nimage = "docker.io/acme/web:1.0"\n'
            "rollout_step_percentage = [10, 100]\nmax_instances = 3\n",
        ),
    ],
)
def test_a_user_key_the_resource_does_not_set_is_never_deleted(fmt: Format, base: str) -> None:
    """The user's own list of rollout steps stays when the resource sets no rollout; only keys
    the previous render wrote into this file are the operator's to remove."""
    result, config = merged(base, fmt, desired("web", maxInstances=3))

    assert config["containers"][0]["rollout_step_percentage"] == [10, 100]
    assert not any("updated" in change for change in result.changes)


def test_a_removed_placement_key_takes_an_emptied_constraints_object_with_it(fmt: Format) -> None:
    before = desired("web", constraints={"jurisdiction": "eu"})
    first, _ = merged(BASES[fmt], fmt, before)

    result, config = merged(first.text, fmt, desired("web"), written={"WebContainer": before.entry_paths})

    assert "constraints" not in config["containers"][0]
    assert result.changes == ["updated containers/WebContainer (constraints.jurisdiction)"]


def test_unlike_lunora_removed_container_with_delete_policy_is_deleted(fmt: Format) -> None:
    first, _ = merged(BASES[fmt], fmt, desired("web"), desired("api"))
    removed = RemovedContainer("api", "ApiContainer", "CONTAINER_API", "Delete")

    _, config = merged(first.text, fmt, desired("web"), removed=[removed])

    assert [c["class_name"] for c in config["containers"]] == ["WebContainer"]
    assert "CONTAINER_API" not in [b["name"] for b in config["durable_objects"]["bindings"]]
    assert config["migrations"][-1] == {"deleted_classes": ["ApiContainer"], "tag": "v3"}
    assert config["migrations"][:2] == value(first.text, fmt)["migrations"]


def test_removed_container_with_orphan_policy_stays(fmt: Format) -> None:
    first, first_config = merged(BASES[fmt], fmt, desired("web"), desired("api"))

    result, config = merged(
        first.text,
        fmt,
        desired("web"),
        removed=[RemovedContainer("api", "ApiContainer", "CONTAINER_API", "Orphan")],
    )

    assert result.text == first.text
    assert config == first_config


CONFLICTS = [
    (
        '{"name": "demo", "durable_objects": {"bindings": [{"name": "CONTAINER_WEB", "class_name": "Other"}]}}',
        'durable_objects.bindings[0]: binding "CONTAINER_WEB" points at class "Other"',
    ),
    (
        '{"name": "demo", "migrations": [{"tag": "v1", "new_classes": ["WebContainer"]}]}',
        'migrations[0].new_classes: class "WebContainer"',
    ),
    (
        '{"name": "demo", "durable_objects": {"bindings": [{"name": "CONTAINER_WEB", "class_name": "WebContainer", "script_name": "other"}]}}',
        'has script_name "other"',
    ),
    (
        '{"name": "elsewhere"}',
        '`name` is "elsewhere" in the wrangler config but the LunoraApp\'s workerName is "demo"',
    ),
    ('{"name": "demo", "containers": {"class_name": "x"}}', "`containers` must be an array"),
]


@pytest.mark.parametrize(("base", "problem"), CONFLICTS)
def test_conflicts_stop_with_a_clear_error_and_write_nothing(base: str, problem: str) -> None:
    document = open_document(base, "jsonc")

    with pytest.raises(RenderConflict) as conflict:
        merge_config(document, [desired("web")], worker_name="demo")

    assert any(problem in p for p in conflict.value.problems), conflict.value.problems
    assert document.text == base


def test_name_collision_between_two_containers_is_a_conflict() -> None:
    with pytest.raises(RenderConflict, match="CONTAINER_IMAGE_RESIZER"):
        merge_config(
            open_document('{"name": "demo"}', "jsonc"),
            [desired("a", exportName="imageResizer"), desired("b", exportName="image_resizer")],
        )


def test_history_rendered_before_is_kept_before_new_base_entries() -> None:
    previous = [
        {"tag": "v1", "new_sqlite_classes": ["ShardDO"]},
        {"tag": "v2", "new_sqlite_classes": ["WebContainer"]},
    ]
    base = '{"name": "demo", "migrations": [{"tag": "v1", "new_sqlite_classes": ["ShardDO"]}, {"tag": "v3", "new_classes": ["Counter"]}]}'

    _, config = merged(base, "jsonc", desired("web"), previous={"migrations": previous})

    assert [m["tag"] for m in config["migrations"]] == ["v1", "v2", "v3"]


def test_base_entry_that_differs_from_the_rendered_one_is_a_conflict() -> None:
    previous = [{"tag": "v1", "new_sqlite_classes": ["WebContainer"]}]
    base = '{"name": "demo", "migrations": [{"tag": "v1", "new_sqlite_classes": ["Changed"]}]}'

    with pytest.raises(RenderConflict, match='migration "v1" in the base config differs'):
        merge_config(open_document(base, "jsonc"), [desired("web")], previous={"migrations": previous})


def test_jsonc_edits_leave_every_comment_in_place() -> None:
    result, _ = merged(JSONC_BASE, "jsonc", desired("web"))

    comments = [line[line.index("//") :] for line in JSONC_BASE.splitlines() if "//" in line]
    assert all(comment in result.text for comment in comments)
    # every original line survives; the only edit to one is the comma a new sibling needs
    merged_lines = {line.replace(",", "") for line in result.text.splitlines()}
    assert all(line.replace(",", "") in merged_lines for line in JSONC_BASE.splitlines())
    assert parse(result.text)["name"] == "demo"
