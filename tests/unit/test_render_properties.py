"""Properties of the planner over random user configs and random container histories, with the
previous output and state record fed back as the adapters do (rendering into the base itself,
or from an unchanged base with the previous output beside it):

- re-planning the same inputs changes nothing;
- user content is never lost (keys, bindings, entries and comments the operator does not own);
- migration entries already written are never changed (each history extends the last);
- an orphaned container's entry and binding are carried over for as long as it stays orphaned;
- replaying the rendered migrations yields exactly the container classes that should live;
- a history lost with its output and state is recovered from the tag Cloudflare reports, so
  that the steps wrangler would upload never declare a class that exists, nor delete one that
  does not.
"""

from __future__ import annotations

import json
import re
from typing import Any

import tomlkit
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from lunora_operator.api.naming import binding_name, export_name_from_metadata
from lunora_operator.planner import DeployedMigrations, Plan, PlanInput, RenderState, plan
from lunora_operator.wrangler.document import Format, open_document
from lunora_operator.wrangler.migrations import replay
from tests.support.builders import container, local_app

POOL = ["web", "api", "image-resizer", "job"]
CLASSES = {
    "web": "WebContainer",
    "api": "ApiContainer",
    "image-resizer": "ImageResizerContainer",
    "job": "JobContainer",
}
BINDINGS = {name: binding_name(export_name_from_metadata(name)) for name in POOL}
OWNED_KEYS = {"containers", "durable_objects", "migrations", "observability", "name"}
APP = local_app()

text_values = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789 -_/*", min_size=0, max_size=12)
user_keys = st.dictionaries(
    st.sampled_from(["vars", "routes", "compatibility_flags", "kv_namespaces", "triggers"]),
    st.one_of(
        st.dictionaries(st.from_regex(r"[A-Z][A-Z_]{0,6}", fullmatch=True), text_values, max_size=3),
        st.lists(text_values, max_size=3),
    ),
    max_size=3,
)


@st.composite
def user_config(draw: st.DrawFn) -> dict[str, Any]:
    config: dict[str, Any] = {"name": "demo", "main": "src/index.ts"}
    config.update(draw(user_keys))
    user_classes = draw(st.lists(st.sampled_from(["ShardDO", "Counter", "Session"]), unique=True, max_size=2))
    if user_classes:
        config["durable_objects"] = {"bindings": [{"name": c.upper(), "class_name": c} for c in user_classes]}
        config["migrations"] = [
            {"tag": draw(st.sampled_from(["v1", "v4"])), "new_sqlite_classes": user_classes}
        ]
    if draw(st.booleans()):
        config["containers"] = [{"class_name": "UserOwnContainer", "image": "docker.io/user/own:1"}]
    return config


def serialize(config: dict[str, Any], fmt: Format, comments: list[str], indent: str) -> str:
    if fmt == "jsonc":
        lines = json.dumps(config, indent=indent).splitlines()
        for i, comment in enumerate(comments):
            lines.insert(1 + i, f"{indent}// {comment}")
        return "\n".join(lines) + "\n"
    return "".join(f"# {comment}\n" for comment in comments) + tomlkit.dumps(config)


container_options = st.fixed_dictionaries(
    {},
    optional={
        "maxInstances": st.integers(2, 20),
        "instanceType": st.sampled_from(["lite", "basic", "standard-1"]),
        "rollout": st.sampled_from([{"stepPercentage": 10}, {"stepPercentage": 50}, {"steps": [50, 100]}]),
        "constraints": st.sampled_from([{"regions": ["WEUR"]}, {"jurisdiction": "eu"}]),
        "image": st.sampled_from([{"registry": "docker.io/acme/x:1"}, {"registry": "docker.io/acme/x:2"}]),
    },
)
step = st.dictionaries(st.sampled_from(POOL), container_options, max_size=4)


def plain(text: str, fmt: Format) -> dict[str, Any]:
    return open_document(text, fmt).get([])


def bindings_of(config: dict[str, Any]) -> list[Any]:
    return config.get("durable_objects", {}).get("bindings", [])


def planned(
    fmt: Format,
    base: str,
    wanted: dict[str, dict[str, Any]],
    policies: dict[str, str],
    last: Plan | None,
    in_place: bool,
    deployed: DeployedMigrations | None = None,
) -> Plan:
    """One render as an adapter makes it: in place (the base is the last output) or from the
    unchanged base with the last output beside it."""
    return plan(
        PlanInput(
            app_name="demo",
            app=APP,
            containers=[
                container(name, deletionPolicy=policies.get(name, "Delete"), **opts)
                for name, opts in wanted.items()
            ],
            base_text=last.config_text if in_place and last else base,
            format=fmt,
            previous_config_text=last.config_text if last and not in_place else None,
            previous_state=last.state if last else None,
            in_place=in_place,
            deployed_migrations=deployed,
        )
    )


HISTORY = dict(
    fmt=st.sampled_from(["jsonc", "toml"]),
    base=user_config(),
    comments=st.lists(st.from_regex(r"keep-[a-z]{3,8}", fullmatch=True), min_size=1, max_size=3, unique=True),
    indent=st.sampled_from(["  ", "    ", "\t"]),
    steps=st.lists(step, min_size=1, max_size=5),
    policies=st.dictionaries(st.sampled_from(POOL), st.sampled_from(["Delete", "Orphan"])),
    in_place=st.booleans(),
)
PROPERTY_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(**HISTORY)
def test_plan_properties(
    fmt: Format,
    base: dict[str, Any],
    comments: list[str],
    indent: str,
    steps: list[dict[str, dict[str, Any]]],
    policies: dict[str, str],
    in_place: bool,
) -> None:
    text = serialize(base, fmt, comments, indent)
    last: Plan | None = None
    expected_live: set[str] = set()
    orphaned: set[str] = set()
    history: list[Any] = plain(text, fmt).get("migrations", [])

    for wanted in steps:
        previously_owned = {owned.resource for owned in last.state.containers} if last else set()
        result = planned(fmt, text, wanted, policies, last, in_place)

        # re-planning the same inputs changes nothing
        again = planned(fmt, text, wanted, policies, result, in_place)
        assert again.config_text == result.config_text
        assert again.state == result.state
        if in_place:  # changes are the edits made to the base; an unchanged output needs none
            assert again.changes == []

        config = plain(result.config_text, fmt)
        assert config == result.config
        # applied migrations are never changed
        assert config.get("migrations", [])[: len(history)] == history
        history = config.get("migrations", [])
        # user content is never lost
        for key, value in base.items():
            if key not in OWNED_KEYS:
                assert config[key] == value
        for binding in bindings_of(base):
            assert binding in bindings_of(config)
        for entry in base.get("containers", []):
            assert entry in config["containers"]
        assert all(comment in result.config_text for comment in comments)

        # orphans are carried over; deleted containers are gone
        removed = previously_owned - set(wanted)
        orphaned = (orphaned | {name for name in removed if policies.get(name, "Delete") == "Orphan"}) - set(
            wanted
        )
        deleted = {name for name in removed if policies.get(name, "Delete") == "Delete"}
        classes_in_config = {entry.get("class_name") for entry in config.get("containers", [])}
        binding_names = {binding["name"] for binding in bindings_of(config)}
        for name in orphaned | set(wanted):
            assert CLASSES[name] in classes_in_config
            assert BINDINGS[name] in binding_names
        for name in deleted:
            assert CLASSES[name] not in classes_in_config
            assert BINDINGS[name] not in binding_names
        assert {o.resource for o in result.state.orphaned} == orphaned
        assert {o.resource for o in result.state.containers} == set(wanted)

        expected_live |= {CLASSES[name] for name in wanted}
        expected_live -= {CLASSES[name] for name in deleted}
        last = result

    # replaying the rendered migrations yields exactly the live container classes
    assert last is not None
    live = set(replay(last.config.get("migrations", [])).live)
    assert live & set(CLASSES.values()) == expected_live
    assert live - set(CLASSES.values()) == {
        c for m in base.get("migrations", []) for c in m.get("new_sqlite_classes", [])
    }


def upload(migrations: list[Any], deployed: DeployedMigrations) -> set[str]:
    """What Cloudflare makes of `wrangler deploy`: the entries after the deployed tag, applied to
    the classes that exist; declaring an existing class or deleting a missing one fails."""
    tags = [entry["tag"] for entry in migrations]
    assert deployed.tag in tags, "the deployed tag is missing: wrangler would re-send every step"
    classes = set(deployed.classes)
    for entry in migrations[tags.index(deployed.tag) + 1 :]:
        for name in entry.get("new_sqlite_classes", []):
            assert name not in classes, f"{entry['tag']} declares {name}, which exists"
            classes.add(name)
        for name in entry.get("deleted_classes", []):
            assert name in classes, f"{entry['tag']} deletes {name}, which does not exist"
            classes.remove(name)
    return classes


def tag_number(tag: str) -> int | None:
    return int(match.group(1)) if (match := re.fullmatch(r"v(\d+)", tag)) else None


@PROPERTY_SETTINGS
@given(
    **HISTORY,
    deployed_after=st.integers(0, 5),
    foreign=st.sets(st.sampled_from(["OtherAppContainer", "Legacy"]), max_size=2),
    kept=st.sampled_from(["nothing", "state", "output and state"]),
)
def test_a_lost_history_is_recovered_from_what_cloudflare_reports(
    fmt: Format,
    base: dict[str, Any],
    comments: list[str],
    indent: str,
    steps: list[dict[str, dict[str, Any]]],
    policies: dict[str, str],
    in_place: bool,
    deployed_after: int,
    foreign: set[str],
    kept: str,
) -> None:
    text = serialize(base, fmt, comments, indent)
    renders: list[Plan] = []
    last: Plan | None = None
    for wanted in steps:
        last = planned(fmt, text, wanted, policies, last, in_place)
        renders.append(last)
    # Cloudflare runs one of the renders; then the output, the state or both are lost.
    running = renders[min(deployed_after, len(renders) - 1)].config
    migrations = running.get("migrations", [])
    if not migrations:
        return
    deployed = DeployedMigrations(
        tag=migrations[-1]["tag"], classes=frozenset(replay(migrations).live) | frozenset(foreign)
    )
    assert last is not None
    survivor = {"nothing": None, "state": last, "output and state": last}[kept]
    wanted = steps[-1]

    recovered = plan(
        PlanInput(
            app_name="demo",
            app=APP,
            containers=[
                container(name, deletionPolicy=policies.get(name, "Delete"), **opts)
                for name, opts in wanted.items()
            ],
            base_text=text,
            format=fmt,
            previous_config_text=survivor.config_text if kept == "output and state" and survivor else None,
            previous_state=survivor.state if survivor else None,
            deployed_migrations=deployed,
        )
    )

    rendered = recovered.config.get("migrations", [])
    event(
        "recovered" if any("recovered migration" in change for change in recovered.changes) else "not needed"
    )
    remote = upload(rendered, deployed)
    assert {CLASSES[name] for name in wanted} <= remote
    assert foreign <= remote  # classes of others are never touched
    if survivor is not None:  # the state record names what this app deleted: gone remotely too
        for owned in survivor.state.containers:
            if owned.resource not in wanted and owned.deletion_policy == "Delete":
                assert owned.class_name not in remote
    deployed_number = tag_number(deployed.tag)
    after = [entry["tag"] for entry in rendered[[e["tag"] for e in rendered].index(deployed.tag) + 1 :]]
    if deployed_number is not None:
        assert all((tag_number(tag) or 0) > deployed_number for tag in after), after
    assert recovered.migration_tag == rendered[-1]["tag"]
    # With the output kept, the history holds the tag already: recovery changes nothing.
    if kept == "output and state" and deployed.tag in [m["tag"] for m in last.config.get("migrations", [])]:
        without = plan(
            PlanInput(
                app_name="demo",
                app=APP,
                containers=[
                    container(name, deletionPolicy=policies.get(name, "Delete"), **opts)
                    for name, opts in wanted.items()
                ],
                base_text=text,
                format=fmt,
                previous_config_text=last.config_text,
                previous_state=last.state,
            )
        )
        assert recovered.config_text == without.config_text


def test_state_record_of_a_plan_round_trips() -> None:
    result = planned("jsonc", '{"name": "demo"}', {"web": {"maxInstances": 2}}, {}, None, in_place=False)

    assert RenderState.from_json(result.state.to_json()) == result.state
