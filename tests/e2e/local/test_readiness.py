"""`readyOn` on real Pods: requests are held until the probe answers its status, and fail with
the platform's answer when the budget (3 s here, 30 s by default) runs out."""

from __future__ import annotations

from collections.abc import Callable

from lunora_operator.local import texts
from tests.e2e.local.conftest import ROUTER_FLAGS, Router, container_manifest, timed
from tests.support.operator import Resources

pytest_plugins = ["tests.support.operator_fixtures"]

READINESS_BUDGET_S = float(ROUTER_FLAGS[ROUTER_FLAGS.index("--readiness-timeout") + 1])


def test_111_114_requests_wait_for_ready_on(
    resources: Resources, router: Callable[..., Router], instance_image: str
) -> None:
    resources.apply(
        container_manifest(
            "slow", instance_image, env={"READY_AFTER": "2"}, readyOn=[{"path": "cgi-bin/ready"}]
        )
    )
    front = router()

    with timed() as elapsed:
        response = front.get("/slow/a/cgi-bin/ready")

    assert response.status_code == 200, response.text
    assert response.text == "ready\n"
    assert elapsed() >= 2


def test_113_ready_on_fails_with_the_platforms_answer_when_the_budget_runs_out(
    resources: Resources, router: Callable[..., Router], instance_image: str
) -> None:
    resources.apply(
        container_manifest(
            "never", instance_image, env={"READY_AFTER": "3600"}, readyOn=[{"path": "/cgi-bin/ready"}]
        )
    )
    front = router()

    with timed() as elapsed:
        response = front.get("/never/a/")

    assert response.status_code == texts.START_FAILED_STATUS
    assert response.text == texts.START_FAILED_PREFIX + texts.READINESS_FAILED.format(
        name="never", path="/cgi-bin/ready", port=8080, status=200, budget_ms=round(READINESS_BUDGET_S * 1000)
    )
    assert READINESS_BUDGET_S <= elapsed() < READINESS_BUDGET_S + 5
