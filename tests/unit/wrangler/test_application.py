"""A rendered containers[] entry becomes the application the Cloudflare layer is asked for,
normalised as wrangler 4.86 normalises it: its defaults, the image resolved under the account, the
constraints' tiers."""

from __future__ import annotations

import pytest

from lunora_operator.cloudflare import Constraints, CustomInstanceType, RolloutPolicy
from lunora_operator.images import ForeignImage
from lunora_operator.wrangler.application import application_spec

ACCOUNT = "023e105f4ecef8ad9ca31a8372d0c353"


def test_defaults_follow_wrangler() -> None:
    spec = application_spec({"class_name": "WebContainer", "image": "r/a:1"}, {}, "Demo App", ACCOUNT)
    assert spec.name == "demo-app-webcontainer"
    assert (spec.max_instances, spec.instance_type) == (20, "lite")
    # No steps given: the layer applies wrangler's default rollout.
    assert spec.rollout == RolloutPolicy()
    assert spec.constraints == Constraints(tiers=(1, 2))
    assert spec.observability_logs is False


def test_entry_values_win() -> None:
    entry = {
        "class_name": "W",
        "image": "docker.io/r/a:1",
        "name": "custom",
        "max_instances": 5,
        "instance_type": {"vcpu": 1, "memory_mib": 4096, "disk_mb": 8000},
        "rollout_step_percentage": [25, 100],
        "rollout_active_grace_period": 60,
        "constraints": {"regions": ["weur"], "jurisdiction": "eu"},
    }
    spec = application_spec(entry, {"observability": {"logs": {"enabled": True}}}, "w", ACCOUNT)
    assert spec.name == "custom"
    assert spec.image == "docker.io/r/a:1"
    assert spec.instance_type == CustomInstanceType(vcpu=1, memory_mib=4096, disk_mb=8000)
    assert spec.rollout == RolloutPolicy(steps=[25, 100], active_grace_period=60)
    assert spec.constraints == Constraints(regions=("WEUR",), jurisdiction="eu")
    assert spec.observability_logs is True


def test_one_step_percentage() -> None:
    spec = application_spec(
        {"class_name": "W", "image": "r/a:1", "rollout_step_percentage": 50}, {}, "w", ACCOUNT
    )
    assert spec.rollout == RolloutPolicy(step_percentage=50)


@pytest.mark.parametrize(
    ("registry", "image", "sent"),
    [
        ("registry.cloudflare.com", "team/web:1", f"registry.cloudflare.com/{ACCOUNT}/team/web:1"),
        (
            "registry.cloudflare.com",
            "registry.cloudflare.com/web:1",
            f"registry.cloudflare.com/{ACCOUNT}/web:1",
        ),
        ("127.0.0.1:15000", "team/web:1", f"127.0.0.1:15000/{ACCOUNT}/team/web:1"),
        ("127.0.0.1:15000", "registry.cloudflare.com/web:1", "registry.cloudflare.com/web:1"),
        ("registry.cloudflare.com", "docker.io/acme/web:1", "docker.io/acme/web:1"),
    ],
)
def test_the_image_is_resolved_under_the_registry_and_account(registry: str, image: str, sent: str) -> None:
    spec = application_spec({"class_name": "W", "image": image}, {}, "w", ACCOUNT, registry)
    assert spec.image == sent


def test_another_accounts_image_is_refused() -> None:
    with pytest.raises(ForeignImage, match="does not belong to your account"):
        application_spec(
            {"class_name": "W", "image": "registry.cloudflare.com/0123456789abcdef0123456789abcdef/web:1"},
            {},
            "w",
            ACCOUNT,
        )


@pytest.mark.parametrize(
    ("constraints", "expected"),
    [
        ({"tiers": [2, 3]}, Constraints(tiers=(2, 3))),
        ({"tier": 2}, Constraints(tiers=(2,))),
        ({"tier": -1, "cities": ["AMS"]}, Constraints(tiers=None, cities=("ams",))),
        ({"jurisdiction": "EU"}, Constraints(jurisdiction="eu")),
    ],
)
def test_constraints_are_normalised_as_wrangler_does(
    constraints: dict[str, object], expected: Constraints
) -> None:
    spec = application_spec(
        {"class_name": "W", "image": "r/a:1", "constraints": constraints}, {}, "w", ACCOUNT
    )
    assert spec.constraints == expected


def test_a_custom_size_left_partial_takes_wranglers_defaults() -> None:
    spec = application_spec(
        {"class_name": "W", "image": "r/a:1", "instance_type": {"vcpu": 1}}, {}, "w", ACCOUNT
    )
    assert spec.instance_type == CustomInstanceType(vcpu=1, memory_mib=256, disk_mb=2000)
