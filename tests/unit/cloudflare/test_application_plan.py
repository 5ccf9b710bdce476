"""What an update would change, decided before any write: the plan of the normalised live application against the desired one."""

from __future__ import annotations

import pytest

from lunora_operator.cloudflare import PermanentError
from lunora_operator.cloudflare.application_plan import check_namespace, plan_update
from lunora_operator.cloudflare.application_wire import application_from_api
from tests.support.cloudflare import api_app, desired


def test_plan_of_an_equal_application_is_empty() -> None:
    plan = plan_update(application_from_api(api_app()), desired())
    assert plan.edit == {}
    assert plan.target_configuration is None
    assert plan.differences == []


def test_plan_sends_configuration_changes_to_the_rollout_and_the_rest_to_the_patch() -> None:
    plan = plan_update(
        application_from_api(api_app()),
        desired(image="registry.cloudflare.com/acct/web:2", max_instances=4, observability_logs=False),
    )
    assert plan.edit == {"max_instances": 4, "observability": {"logs": {"enabled": False}}}
    assert plan.target_configuration == {
        "image": "registry.cloudflare.com/acct/web:2",
        "instance_type": "standard-1",
    }
    assert plan.differences == [
        "configuration.image: 'registry.cloudflare.com/acct/web:1' -> 'registry.cloudflare.com/acct/web:2'",
        "max_instances: 3 -> 4",
        "observability.logs.enabled: True -> False",
    ]


def test_an_application_without_namespace_is_refused() -> None:
    with pytest.raises(PermanentError, match="was not associated with a durable object") as refused:
        check_namespace(application_from_api(api_app(durable_objects=None)), "ns-1")
    assert refused.value.reason == "NamespaceMismatch"
    check_namespace(application_from_api(api_app()), "ns-1")
