"""Push credentials from a dockerconfigjson pull Secret, matched by registry host as the kubelet
matches them; a malformed config says what is wrong without echoing a secret."""

from __future__ import annotations

import base64
import json

import pytest

from lunora_operator.images.docker_config import DockerConfigInvalid, credentials_for, registry_host
from lunora_operator.images.push import RegistryAuth


def config(**auths: object) -> str:
    return json.dumps({"auths": auths})


def encoded(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_auth_and_username_password_entries() -> None:
    assert credentials_for(
        config(**{"127.0.0.1:15000": {"auth": encoded("lunora:pa:ss")}}), "127.0.0.1:15000"
    ) == (RegistryAuth("lunora", "pa:ss"))
    text = config(**{"localhost:5001": {"username": "u", "password": "p"}})
    assert credentials_for(text, "localhost:5001/team") == RegistryAuth("u", "p")


def test_keys_with_a_scheme_or_a_path_match_by_host() -> None:
    text = config(**{"https://registry.example:443/v1/": {"auth": encoded("u:p")}})
    assert credentials_for(text, "registry.example:443") == RegistryAuth("u", "p")
    assert credentials_for(text, "registry.example") is None


def test_no_entry_for_the_registry() -> None:
    assert credentials_for(config(other={"auth": encoded("u:p")}), "127.0.0.1:15000") is None


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("not json", "is not JSON"),
        ("[]", 'has no "auths" object'),
        (config(**{"r:1": {"auth": "!!!"}}), "`auth` is not base64 of user:password"),
        (config(**{"r:1": {"email": "x"}}), "has no `auth` nor `username` and `password`"),
    ],
)
def test_malformed_configs_say_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(DockerConfigInvalid, match=says):
        credentials_for(text, "r:1")


def test_registry_host() -> None:
    assert registry_host("LocalHost:5001/a/b") == "localhost:5001"
