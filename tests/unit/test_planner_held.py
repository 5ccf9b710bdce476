"""A container that exists but cannot be rendered now (image not resolved, spec unreadable) is
held: its entry, binding and record stay as last rendered — never rendered as a removal."""

from __future__ import annotations

from lunora_operator.planner import plan
from tests.support.builders import container
from tests.unit.test_planner import request


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
