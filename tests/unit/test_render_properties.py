"""Properties of the wrangler merge over random user configs and random container histories.

- rendering is idempotent byte-for-byte;
- user content is never lost (keys, bindings, entries and comments the operator does not own);
- migration entries already written are never changed (each history extends the last);
- replaying the rendered migrations yields exactly the container classes that should live.
"""

from __future__ import annotations

import json
from typing import Any

import tomlkit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lunora_operator.api.naming import binding_name, export_name_from_metadata
from lunora_operator.wrangler.desired import RemovedContainer
from lunora_operator.wrangler.document import open_document
from lunora_operator.wrangler.merge import merge_config
from lunora_operator.wrangler.migrations import replay
from tests.support.builders import desired

POOL = ["web", "api", "image-resizer", "job"]
CLASSES = {
    "web": "WebContainer",
    "api": "ApiContainer",
    "image-resizer": "ImageResizerContainer",
    "job": "JobContainer",
}
BINDINGS = {name: binding_name(export_name_from_metadata(name)) for name in POOL}
OWNED_KEYS = {"containers", "durable_objects", "migrations", "observability", "name"}

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
        config["migrations"] = [{"tag": "v1", "new_sqlite_classes": user_classes}]
    if draw(st.booleans()):
        config["containers"] = [{"class_name": "UserOwnContainer", "image": "docker.io/user/own:1"}]
    return config


def serialize(config: dict[str, Any], fmt: str, comments: list[str], indent: str) -> str:
    if fmt == "jsonc":
        lines = json.dumps(config, indent=indent).splitlines()
        for i, comment in enumerate(comments):
            lines.insert(1 + i, f"{indent}// {comment}")
        return "\n".join(lines) + "\n"
    return "".join(f"# {comment}\n" for comment in comments) + tomlkit.dumps(config)


container_options = st.fixed_dictionaries(
    {},
    optional={
        "maxInstances": st.integers(1, 20),
        "instanceType": st.sampled_from(["lite", "basic", "standard-1"]),
        "rollout": st.fixed_dictionaries({"stepPercentage": st.sampled_from([10, 50, 100])}),
        "image": st.sampled_from([{"registry": "docker.io/acme/x:1"}, {"registry": "docker.io/acme/x:2"}]),
    },
)
step = st.dictionaries(st.sampled_from(POOL), container_options, max_size=4)


def plain(text: str, fmt: str) -> dict[str, Any]:
    return open_document(text, fmt).get([])  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fmt=st.sampled_from(["jsonc", "toml"]),
    base=user_config(),
    comments=st.lists(st.from_regex(r"keep-[a-z]{3,8}", fullmatch=True), min_size=1, max_size=3, unique=True),
    indent=st.sampled_from(["  ", "    ", "\t"]),
    steps=st.lists(step, min_size=1, max_size=4),
    policies=st.dictionaries(st.sampled_from(POOL), st.sampled_from(["Delete", "Orphan"])),
)
def test_merge_properties(
    fmt: str,
    base: dict[str, Any],
    comments: list[str],
    indent: str,
    steps: list[dict[str, dict[str, Any]]],
    policies: dict[str, str],
) -> None:
    text = serialize(base, fmt, comments, indent)
    owned: set[str] = set()
    expected_live: set[str] = set()
    history: list[Any] = plain(text, fmt).get("migrations", [])

    for wanted in steps:
        containers = [
            desired(name, deletionPolicy=policies.get(name, "Delete"), **opts)
            for name, opts in wanted.items()
        ]
        removed = [
            RemovedContainer(name, CLASSES[name], BINDINGS[name], policies.get(name, "Delete"))
            for name in owned - set(wanted)
        ]
        result = merge_config(open_document(text, fmt), containers, removed)  # type: ignore[arg-type]

        # idempotent: the same merge again changes nothing
        again = merge_config(open_document(result.text, fmt), containers, [])  # type: ignore[arg-type]
        assert again.text == result.text
        assert again.changes == []

        config = plain(result.text, fmt)
        # applied migrations are never changed
        assert config.get("migrations", [])[: len(history)] == history
        history = config.get("migrations", [])
        # user content is never lost
        for key, value in base.items():
            if key not in OWNED_KEYS:
                assert config[key] == value
        for binding in base.get("durable_objects", {}).get("bindings", []):
            assert binding in config["durable_objects"]["bindings"]
        for entry in base.get("containers", []):
            assert entry in config["containers"]
        assert all(comment in result.text for comment in comments)

        expected_live |= {CLASSES[name] for name in wanted}
        expected_live -= {r.class_name for r in removed if r.deletion_policy == "Delete"}
        owned = set(wanted)
        text = result.text

    # replaying the rendered migrations yields exactly the live container classes
    live = set(replay(plain(text, fmt).get("migrations", [])).live)
    assert live & set(CLASSES.values()) == expected_live
    assert live - set(CLASSES.values()) == set(
        c for m in base.get("migrations", []) for c in m.get("new_sqlite_classes", [])
    )
