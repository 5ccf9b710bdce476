from __future__ import annotations

import re

from lunora_operator.local import names

LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def test_any_id_gives_a_valid_pod_name_and_label_within_63_characters() -> None:
    container = "a-very-long.container-name." + "x" * 200
    for instance_id in ["video-42", "user/ünïcode and spaces", "x" * 5000, ""]:
        key = names.instance_key(container, instance_id)
        name = names.pod_name(container, key, 123456)
        assert len(name) <= 63
        assert DNS_LABEL.match(name)
        assert LABEL_VALUE.match(key)
        assert len(names.override_secret_name(container, key)) <= 63


def test_the_same_id_gives_the_same_key_and_another_id_another() -> None:
    assert names.instance_key("web", "a") == names.instance_key("web", "a")
    assert names.instance_key("web", "a") != names.instance_key("web", "b")
    assert names.instance_key("web", "a") != names.instance_key("api", "a")


def test_long_object_names_become_distinct_label_values() -> None:
    first, second = "x" * 70, "x" * 69 + "y"
    assert names.label_value("web") == "web"
    assert len(names.label_value(first)) <= 63
    assert names.label_value(first) != names.label_value(second)
    assert LABEL_VALUE.match(names.label_value(first))


def test_the_durable_object_id_looks_like_one() -> None:
    do_id = names.durable_object_id("ns", "demo", "web", "video-42")
    assert re.fullmatch("[0-9a-f]{64}", do_id)
    assert do_id != names.durable_object_id("ns", "demo", "web", "video-43")
