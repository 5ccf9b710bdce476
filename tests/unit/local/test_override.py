"""The persisted start override (conformance items 122–124)."""

from __future__ import annotations

import base64

import pytest

from lunora_operator.local.override import (
    BadStartOptions,
    StartOverride,
    from_secret_data,
    parse_start_options,
    to_secret_data,
)


def test_start_options_are_parsed_and_checked() -> None:
    parsed = parse_start_options(
        {"envVars": {"A": "1"}, "entrypoint": ["sh", "-c", "x"], "labels": {"t": ""}, "enableInternet": False}
    )
    assert parsed == StartOverride({"A": "1"}, ("sh", "-c", "x"), {"t": ""}, False)
    for body, field in [
        ({"envVars": {"BAD-NAME": "1"}}, "envVars"),
        ({"envVars": {"A": 1}}, "envVars"),
        ({"entrypoint": []}, "entrypoint"),
        ({"entrypoint": ["node", " "]}, "entrypoint"),
        ({"labels": {" ": "x"}}, "labels"),
        ({"enableInternet": "yes"}, "enableInternet"),
        ({"image": "x"}, "image"),
    ]:
        with pytest.raises(BadStartOptions, match=field):
            parse_start_options(body)


def test_124_the_same_start_is_equal_maps_and_absent_equals_absent() -> None:
    running = StartOverride(env_vars={"A": "1"})
    assert StartOverride(env_vars={"A": "1"}).same_start(running)
    assert not StartOverride(env_vars={"A": "2"}).same_start(running)
    assert not StartOverride(env_vars={}).same_start(None)
    assert StartOverride().same_start(None)
    assert StartOverride().over(running).same_start(running)  # a bare start() keeps the override


def test_the_secret_holds_values_only_under_their_own_keys() -> None:
    override = StartOverride(env_vars={"TOKEN": "s3cret", "B": ""}, entrypoint=("run",), labels={"t": "a"})
    data = to_secret_data(override)

    assert data["env.TOKEN"] == "s3cret"
    assert "s3cret" not in data["override"]
    encoded = {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}
    assert from_secret_data(encoded) == override
    assert from_secret_data({}) == StartOverride()
