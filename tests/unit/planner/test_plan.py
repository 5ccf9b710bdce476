"""The planner (`lunora_operator.planner.plan`): the pure pipeline both adapters call."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lunora_operator.planner import (
    DeployedMigrations,
    OwnedContainer,
    PlanError,
    PlanInput,
    RenderState,
    StateRecordInvalid,
    plan,
)
from lunora_operator.wrangler.document import Format, open_document
from lunora_operator.wrangler.migrations import replay
from tests.support.builders import container, local_app

APP = local_app()


def request(**overrides: Any) -> PlanInput:
    fields: dict[str, Any] = {
        "app_name": "demo",
        "app": APP,
        "containers": [container("web")],
        "base_text": None,
        "format": "jsonc",
        "previous_config_text": None,
        "previous_state": None,
    }
    return PlanInput(**{**fields, **overrides})


OLD_RECORD = """{
  "app": "demo",
  "workerName": "demo",
  "containers": [
    {
      "resource": "web",
      "exportName": "web",
      "className": "WebContainer",
      "bindingName": "CONTAINER_WEB",
      "deletionPolicy": "Delete"
    }
  ],
  "orphaned": [
    {
      "resource": "job",
      "className": "JobContainer",
      "bindingName": "CONTAINER_JOB"
    }
  ]
}
"""


def test_a_record_written_before_entry_keys_existed_reads_and_writes_back_unchanged() -> None:
    state = RenderState.from_json(OLD_RECORD)

    assert state.containers[0].class_name == "WebContainer"
    assert state.containers[0].entry_keys is None
    assert state.orphaned[0].class_name == "JobContainer"
    assert state.to_json() == OLD_RECORD


def test_the_record_round_trips_through_its_json_text() -> None:
    result = plan(request(containers=[container("web", maxInstances=2)]))

    assert RenderState.from_json(result.state.to_json()) == result.state
    assert json.loads(result.state.to_json())["containers"][0]["entryKeys"] == [
        "class_name",
        "image",
        "max_instances",
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"app": "demo",\n "workerName": }', "lunora-render.json:2: not valid JSON: Expecting value"),
        (
            '{"app": "demo", "workerName": "demo", "containers": [{"resource": "web"}]}',
            "containers[0].exportName: Field required",
        ),
        ('{"app": "demo", "workerName": "demo", "owned": []}', "owned: Extra inputs are not permitted"),
        ("[]", "the record: Input should be a valid dictionary"),
    ],
)
def test_a_broken_record_is_named_with_its_line_or_field(text: str, problem: str) -> None:
    with pytest.raises(StateRecordInvalid) as invalid:
        RenderState.from_json(text)

    assert any(problem in located for located in invalid.value.located("lunora-render.json")), invalid.value


def test_plan_returns_the_config_as_text_and_as_data() -> None:
    result = plan(request())

    assert open_document(result.config_text, "jsonc").get([]) == result.config
    assert result.config["containers"][0]["class_name"] == "WebContainer"
    assert result.migration_tag == "v1"
    assert result.generated_ts is not None
    assert "class WebContainer" in result.generated_ts


def test_an_app_without_containers_has_no_typescript() -> None:
    assert plan(request(containers=[])).generated_ts is None


def test_problems_name_the_base_as_the_adapter_calls_it() -> None:
    with pytest.raises(PlanError) as error:
        plan(request(base_text='{"name": "other"}', base_name="ConfigMap demo/base key wrangler.jsonc"))

    assert error.value.problems == [
        'ConfigMap demo/base key wrangler.jsonc: `name` is "other" in the wrangler config but the '
        'LunoraApp\'s workerName is "demo"; make them the same'
    ]


def test_a_broken_previous_output_is_named() -> None:
    with pytest.raises(PlanError, match=r"^ConfigMap demo-wrangler:1:2: "):
        plan(request(previous_config_text="{]", previous_name="ConfigMap demo-wrangler"))


def test_without_base_or_app_nothing_names_the_worker() -> None:
    with pytest.raises(PlanError, match="without a base config the LunoraApp is needed"):
        plan(request(app=None))


STORE_CONTAINER = {"secretsStore": {"STRIPE_KEY": "STRIPE_SECRET"}}


def test_a_secrets_store_binding_missing_from_the_config_fails_the_plan() -> None:
    with pytest.raises(PlanError) as error:
        plan(request(containers=[container("web", **STORE_CONTAINER)], base_name="wrangler.jsonc"))

    assert error.value.problems == [
        'wrangler.jsonc: LunoraContainer "web" reads `secretsStore` STRIPE_KEY from the Secrets Store binding '
        '"STRIPE_SECRET", which the wrangler config does not declare; add {"binding": "STRIPE_SECRET", '
        '"store_id": "<store id>", "secret_name": "<secret name>"} to `secrets_store_secrets` in the base config'
    ]


def test_a_declared_secrets_store_binding_passes() -> None:
    base = json.dumps(
        {
            "name": "demo",
            "secrets_store_secrets": [{"binding": "STRIPE_SECRET", "store_id": "s", "secret_name": "stripe"}],
        }
    )

    result = plan(request(containers=[container("web", **STORE_CONTAINER)], base_text=base))

    assert result.config["secrets_store_secrets"][0]["binding"] == "STRIPE_SECRET"


@pytest.mark.parametrize(
    ("observability", "warned"),
    [
        ({"enabled": False}, True),
        ({"enabled": False, "logs": {"enabled": True}}, False),
        ({"enabled": True}, False),
        (None, False),
    ],
)
def test_observability_switched_off_is_kept_with_a_warning(observability: Any, warned: bool) -> None:
    base = {"name": "demo"} | ({"observability": observability} if observability is not None else {})

    result = plan(request(base_text=json.dumps(base)))

    assert result.config["observability"] == (observability or {"enabled": True, "head_sampling_rate": 1})
    assert bool(result.warnings) is warned
    if warned:
        assert "container logs will not be captured" in result.warnings[0]


@pytest.mark.parametrize("fmt", ["jsonc", "toml"])
def test_in_place_a_key_the_last_render_wrote_goes_when_the_resource_drops_it(fmt: Format) -> None:
    first = plan(request(format=fmt, containers=[container("web", maxInstances=2)]))

    second = plan(
        request(
            format=fmt,
            base_text=first.config_text,
            previous_state=first.state,
            in_place=True,
        )
    )

    assert "max_instances" not in second.config["containers"][0]
    assert second.changes == ["updated containers/WebContainer (max_instances)"]


def test_from_a_separate_base_the_base_value_shows_again() -> None:
    """The output is the base plus the resources: a key the resource stops setting falls back
    to the user's own value from the base."""
    base = json.dumps(
        {"name": "demo", "containers": [{"class_name": "WebContainer", "image": "x:1", "max_instances": 9}]}
    )
    first = plan(request(base_text=base, containers=[container("web", maxInstances=2)]))

    second = plan(request(base_text=base, previous_config_text=first.config_text, previous_state=first.state))

    assert first.config["containers"][0]["max_instances"] == 2
    assert second.config["containers"][0]["max_instances"] == 9


def test_an_old_record_without_entry_keys_deletes_nothing() -> None:
    first = plan(request(containers=[container("web", maxInstances=2)]))
    old = RenderState(
        app="demo",
        worker_name="demo",
        containers=[owned.model_copy(update={"entry_keys": None}) for owned in first.state.containers],
    )

    second = plan(request(base_text=first.config_text, previous_state=old, in_place=True))

    assert second.config["containers"][0]["max_instances"] == 2


def test_a_lost_history_is_recovered_from_the_deployed_tag() -> None:
    """The output ConfigMap and status are gone; Cloudflare reports tag v3 and the classes that
    exist: the plan declares nothing again and goes on above v3."""
    base = json.dumps({"name": "demo", "migrations": [{"tag": "v1", "new_sqlite_classes": ["ShardDO"]}]})
    deployed = DeployedMigrations(tag="v3", classes=frozenset({"ShardDO", "WebContainer", "OtherApp"}))

    result = plan(
        request(base_text=base, containers=[container("web"), container("api")], deployed_migrations=deployed)
    )

    assert result.config["migrations"] == [
        {"tag": "v1", "new_sqlite_classes": ["ShardDO"]},
        {"tag": "v3", "new_sqlite_classes": ["WebContainer"]},
        {"tag": "v4", "new_sqlite_classes": ["ApiContainer"]},
    ]
    assert result.migration_tag == "v4"
    assert "recovered migration v3 from the deployed Worker (WebContainer)" in result.changes


def test_a_removed_container_that_still_exists_remotely_is_deleted_after_recovery() -> None:
    state = RenderState(
        app="demo",
        worker_name="demo",
        containers=[
            OwnedContainer(
                resource="api",
                export_name="api",
                class_name="ApiContainer",
                binding_name="CONTAINER_API",
                deletion_policy="Delete",
            )
        ],
    )
    deployed = DeployedMigrations(tag="v2", classes=frozenset({"WebContainer", "ApiContainer"}))

    result = plan(request(previous_state=state, deployed_migrations=deployed))

    assert result.config["migrations"] == [
        {"tag": "v2", "new_sqlite_classes": ["ApiContainer", "WebContainer"]},
        {"tag": "v3", "deleted_classes": ["ApiContainer"]},
    ]


def test_a_history_that_holds_the_deployed_tag_is_left_alone() -> None:
    first = plan(request())
    deployed = DeployedMigrations(tag="v1", classes=frozenset({"WebContainer"}))

    again = plan(
        request(
            previous_config_text=first.config_text, previous_state=first.state, deployed_migrations=deployed
        )
    )

    assert again.config_text == first.config_text
    assert replay(again.config["migrations"]).tags == ["v1"]


def test_a_held_container_keeps_its_entry_binding_and_record() -> None:
    first = plan(request(containers=[container("web"), container("api", deletionPolicy="Delete")]))

    held = plan(
        request(
            containers=[container("web")],
            previous_config_text=first.config_text,
            previous_state=first.state,
            held={"api"},
        )
    )

    def by_class(entries: list[dict[str, str]]) -> list[dict[str, str]]:
        return sorted(entries, key=lambda entry: entry["class_name"])

    # The same entries and bindings (a carried one may move to the end).
    assert by_class(held.config["containers"]) == by_class(first.config["containers"])
    assert by_class(held.config["durable_objects"]["bindings"]) == by_class(
        first.config["durable_objects"]["bindings"]
    )
    assert held.config["migrations"] == first.config["migrations"]  # no deleted_classes
    assert held.state == first.state


def test_without_holding_the_same_container_is_removed() -> None:
    first = plan(request(containers=[container("web"), container("api", deletionPolicy="Delete")]))

    removed = plan(
        request(
            containers=[container("web")], previous_config_text=first.config_text, previous_state=first.state
        )
    )

    assert [c["class_name"] for c in removed.config["containers"]] == ["WebContainer"]
    assert removed.config["migrations"][-1] == {"tag": "v2", "deleted_classes": ["ApiContainer"]}
