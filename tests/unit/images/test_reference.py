"""Target references (`<registry>/<accountId>/<repository>:<tag>` with a valid repository name) and
references resolved as wrangler resolves them."""

from __future__ import annotations

import pytest
from docker.utils.build import match_tag

from lunora_operator.images.reference import (
    DEFAULT_REGISTRY,
    REGISTRY_VARIABLE,
    REPOSITORY_NAME_MAX,
    ForeignImage,
    container_registry,
    repository_name,
    resolve_image_name,
    target_repository,
)

ACCOUNT = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("application", "expected"),
    [
        ("demo-transcodercontainer", "demo-transcodercontainer"),
        ("demo-TranscoderContainer", "demo-transcodercontainer"),
        ("My App_v2", "my-app-v2"),
        ("--edge..case--", "edge-case"),
        ("a__b", "a-b"),
    ],
)
def test_repository_name_is_a_valid_path_component(application: str, expected: str) -> None:
    name = repository_name(application)
    assert name == expected
    assert match_tag(f"registry.cloudflare.com/{ACCOUNT}/{name}:ctx-1")


def test_long_names_are_cut_without_a_trailing_separator() -> None:
    name = repository_name("a" * (REPOSITORY_NAME_MAX - 1) + "-bcd")
    assert len(name) <= REPOSITORY_NAME_MAX
    assert not name.endswith("-")


def test_a_name_without_letters_or_digits_is_refused_with_the_fix() -> None:
    with pytest.raises(ValueError, match=r'application name "__" .* set `spec.name`'):
        repository_name("__")


def test_target_repository_defaults_to_cloudflare() -> None:
    assert (
        target_repository(None, ACCOUNT, "demo-WebContainer")
        == f"registry.cloudflare.com/{ACCOUNT}/demo-webcontainer"
    )


def test_target_repository_keeps_a_registry_with_port_and_path() -> None:
    assert (
        target_repository("127.0.0.1:15000/mirror/", ACCOUNT, "web")
        == f"127.0.0.1:15000/mirror/{ACCOUNT}/web"
    )


# --- resolve_image_name: wrangler 4.86's resolveImageName, the cases seen on the wire -------------
ACCT = "023e105f4ecef8ad9ca31a8372d0c353"
OTHER = "0123456789abcdef0123456789abcdef"
LOCAL = "127.0.0.1:15000"


@pytest.mark.parametrize(
    ("image", "registry", "expected"),
    [
        # No registry host: under the registry and the account.
        ("app:1.0", DEFAULT_REGISTRY, f"registry.cloudflare.com/{ACCT}/app:1.0"),
        ("library/web:1.0", DEFAULT_REGISTRY, f"registry.cloudflare.com/{ACCT}/library/web:1.0"),
        ("library/web:1.0", LOCAL, f"{LOCAL}/{ACCT}/library/web:1.0"),
        ("app:1.0", LOCAL, f"{LOCAL}/{ACCT}/app:1.0"),
        (
            "repo@sha256:" + "a" * 64,
            DEFAULT_REGISTRY,
            f"registry.cloudflare.com/{ACCT}/repo@sha256:" + "a" * 64,
        ),
        ("app:80", DEFAULT_REGISTRY, f"registry.cloudflare.com/{ACCT}/app:80"),  # the default port is no port
        # A numeric tag reads as a port: a host, left as it is.
        ("app:10", DEFAULT_REGISTRY, "app:10"),
        # The Cloudflare registry without the account's namespace gets it.
        ("registry.cloudflare.com/web:1.0", DEFAULT_REGISTRY, f"registry.cloudflare.com/{ACCT}/web:1.0"),
        (
            f"registry.cloudflare.com/{ACCT}/web:1.0",
            DEFAULT_REGISTRY,
            f"registry.cloudflare.com/{ACCT}/web:1.0",
        ),
        # Under an override, an explicit host is compared by host name, which never has the port.
        ("registry.cloudflare.com/web:1.0", LOCAL, "registry.cloudflare.com/web:1.0"),
        (f"{LOCAL}/loc:1.0", LOCAL, f"{LOCAL}/loc:1.0"),
        (f"{LOCAL}/{ACCT}/web:1.0", LOCAL, f"{LOCAL}/{ACCT}/web:1.0"),
        ("localhost/web:1", DEFAULT_REGISTRY, "localhost/web:1"),
        # Other hosts are left as they are.
        ("docker.io/library/nginx:1.27", DEFAULT_REGISTRY, "docker.io/library/nginx:1.27"),
        ("ghcr.io/acme/web:2", LOCAL, "ghcr.io/acme/web:2"),
    ],
)
def test_references_resolve_as_wrangler_resolves_them(image: str, registry: str, expected: str) -> None:
    assert resolve_image_name(ACCT, image, registry) == expected


def test_another_accounts_namespace_on_the_cloudflare_registry_is_refused_in_wranglers_words() -> None:
    with pytest.raises(ForeignImage) as refused:
        resolve_image_name(ACCT, f"registry.cloudflare.com/{OTHER}/web:1.0")
    assert str(refused.value) == (
        f'Image "registry.cloudflare.com/{OTHER}/web:1.0" does not belong to your account\n'
        f'Image appears to belong to account: "{OTHER}"\nCurrent account: "{ACCT}"'
    )


def test_the_registry_is_the_apps_then_the_environments_then_cloudflares() -> None:
    assert container_registry("reg.example:5000", {REGISTRY_VARIABLE: LOCAL}) == "reg.example:5000"
    assert container_registry(None, {REGISTRY_VARIABLE: LOCAL}) == LOCAL
    assert container_registry(None, {}) == DEFAULT_REGISTRY
