"""The instance state machine on a fake clock: starts on demand, holds requests until the ports
listen and readyOn answers, answers with the platform's texts when it cannot, caps instances,
sleeps when idle, stops at the hard timeout, and resumes all of it from the Pods after a restart.

Numbers in names and docstrings are items of Lunora's conformance checklist.
"""

from __future__ import annotations

import asyncio

import pytest

from lunora_operator.local import texts
from lunora_operator.local.config import ReadyProbe, SecretEnv
from lunora_operator.local.errors import Unavailable
from lunora_operator.local.fleet import Fleet
from lunora_operator.local.instance import Instance
from lunora_operator.local.settings import Budgets
from tests.unit.local.fakes import SIGTERM_EXIT, FakeKube, Script, config, fleet_with

pytestmark = pytest.mark.looptime


def now() -> float:
    return asyncio.get_running_loop().time()


async def served(instance: Instance) -> str:
    """One request: held until served, then finished."""
    ip = await instance.open()
    instance.leave()
    return ip


async def refused(instance: Instance) -> Unavailable:
    with pytest.raises(Unavailable) as caught:
        await instance.open()
    return caught.value


async def test_a_request_starts_the_instance_and_is_held_until_its_port_listens() -> None:
    kube = FakeKube(Script(start_delay=0.5, ports={8080: 1.0}))
    instance = fleet_with(kube).instance("web", "video-42")
    start = now()

    ip = await served(instance)

    assert ip.startswith("10.0.0.")
    assert 1.5 <= now() - start <= 1.5 + texts.INSTANCE_POLL_INTERVAL + 0.01
    assert instance.state()["status"] == "healthy"
    assert len(kube.created) == 1


async def test_the_same_id_reaches_the_same_pod_and_concurrent_requests_share_one_start() -> None:
    kube = FakeKube()
    fleet = fleet_with(kube)

    ips = await asyncio.gather(*(served(fleet.instance("web", "a")) for _ in range(10)))
    again = await served(fleet.instance("web", "a"))
    other = await served(fleet.instance("web", "b"))

    assert set(ips) == {again}
    assert other != again
    assert len(kube.created) == 2


async def test_every_required_port_must_listen_before_a_request_is_proxied() -> None:
    kube = FakeKube(Script(start_delay=0.5, ports={8080: 0.1, 9090: 3.0}))
    instance = fleet_with(kube, config(required_ports=(8080, 9090))).instance("web", "a")
    start = now()

    await served(instance)

    assert now() - start >= 3.5


async def test_a_process_exiting_while_starting_fails_the_request_with_its_exit_code() -> None:
    kube = FakeKube(Script(start_delay=0.5, exit_after=0.2, exit_code=3, ports={}))
    instance = fleet_with(kube).instance("web", "a")

    failure = await refused(instance)

    assert failure.answer.status == texts.START_FAILED_STATUS
    assert failure.answer.text == texts.START_FAILED_PREFIX + texts.EXITED_WITH_CODE.format(code=3)
    assert failure.answer.text == "Failed to start container: Container exited with unexpected exit code: 3"
    assert instance.state()["status"] == "stopped_with_code"
    assert instance.state()["exitCode"] == 3


async def test_a_port_that_never_listens_fails_the_start_once_the_port_budget_is_spent() -> None:
    kube = FakeKube(Script(ports={}))
    instance = fleet_with(kube).instance("web", "a")
    start = now()

    failure = await refused(instance)

    assert failure.answer.text == texts.START_FAILED_PREFIX + texts.NOT_LISTENING.format(port=8080)
    assert (
        texts.PORT_READY_TIMEOUT - texts.INSTANCE_POLL_INTERVAL <= now() - start <= texts.PORT_READY_TIMEOUT
    )
    assert kube.live_pods(), "the instance keeps running, as on Cloudflare"


async def test_a_pod_that_never_runs_gets_the_no_instance_answer_after_the_instance_budget() -> None:
    kube = FakeKube(Script(never_starts=True))
    instance = fleet_with(kube).instance("web", "a")
    start = now()

    failure = await refused(instance)

    assert failure.answer == texts.NO_INSTANCE
    assert failure.answer.status == 503
    assert now() - start == pytest.approx(texts.INSTANCE_GET_TIMEOUT, abs=0.01)


async def test_past_max_instances_a_new_id_waits_then_gets_the_no_instance_answer() -> None:
    kube = FakeKube()
    fleet = fleet_with(kube, config(max_instances=2))
    await served(fleet.instance("web", "a"))
    await served(fleet.instance("web", "b"))
    start = now()

    failure = await refused(fleet.instance("web", "c"))

    assert failure.answer == texts.NO_INSTANCE
    assert now() - start == pytest.approx(texts.INSTANCE_GET_TIMEOUT, abs=0.01)
    assert len(kube.created) == 2


async def test_a_place_freed_within_the_budget_lets_the_waiting_start_through() -> None:
    kube = FakeKube()
    fleet = fleet_with(kube, config(max_instances=1))
    first = fleet.instance("web", "a")
    await served(first)
    asyncio.get_running_loop().call_later(2.0, lambda: asyncio.ensure_future(first.stop()))

    await served(fleet.instance("web", "b"))

    assert len(kube.created) == 2
    assert fleet.running("web") == 1


async def test_111_114_ready_on_holds_requests_until_every_probe_answers_its_status() -> None:
    probes = (ReadyProbe("/ready", 8080, 200), ReadyProbe("live", 9090, 204))
    kube = FakeKube(
        Script(start_delay=0.5, ports={8080: 0.1}, ready={"/ready": (3.0, 200), "/live": (1.0, 204)})
    )
    instance = fleet_with(kube, config(ready_on=probes)).instance("web", "a")
    start = now()

    await served(instance)

    assert 3.5 <= now() - start <= 3.5 + texts.READINESS_POLL_INTERVAL + 0.01


async def test_113_ready_on_fails_with_lunoras_text_when_the_budget_runs_out_and_is_probed_again() -> None:
    kube = FakeKube(Script(ports={8080: 0.1}, ready={"/ready": (45.0, 200)}))
    instance = fleet_with(kube, config(ready_on=(ReadyProbe("/ready", 8080, 200),))).instance("web", "a")
    start = now()

    failure = await refused(instance)

    assert failure.answer.status == 500
    assert failure.answer.text == texts.START_FAILED_PREFIX + texts.READINESS_FAILED.format(
        name="web", path="/ready", port=8080, status=200, budget_ms=30000
    )
    assert 'readiness check "/ready" (port 8080) did not return 200 within 30000ms' in failure.answer.text
    assert now() - start == pytest.approx(texts.READINESS_TIMEOUT + 0.6, abs=texts.READINESS_POLL_INTERVAL)
    # The failed gate is dropped: the next request probes again, and the app is ready by then.
    await served(instance)
    assert len(kube.created) == 1


async def test_a_shorter_readiness_budget_is_named_in_the_text() -> None:
    kube = FakeKube(Script(ports={8080: 0.1}))
    fleet = fleet_with(
        kube, config(ready_on=(ReadyProbe("ready", 8080, 200),)), budgets=Budgets(readiness=2.0)
    )

    failure = await refused(fleet.instance("web", "a"))

    assert failure.answer.text.endswith(
        'readiness check "ready" (port 8080) did not return 200 within 2000ms'
    )


async def test_sleep_after_stops_an_idle_instance_with_sigterm() -> None:
    kube = FakeKube()
    instance = fleet_with(kube, config(sleep_after=10)).instance("web", "a")
    await served(instance)
    idle_from = now()

    await asyncio.sleep(9.9)
    assert kube.live_pods()
    await asyncio.sleep(0.2)

    assert kube.deleted == [(kube.created[0]["metadata"]["name"], None)]
    assert kube.deleted_at[0] - idle_from == pytest.approx(10, abs=0.01)
    await asyncio.sleep(0.5)
    assert instance.state() == {
        "status": "stopped_with_code",
        "exitCode": SIGTERM_EXIT,
        "lastChange": pytest.approx(instance.state()["lastChange"]),
    }


async def test_requests_renew_activity_and_an_in_flight_request_keeps_the_instance_awake() -> None:
    kube = FakeKube()
    instance = fleet_with(kube, config(sleep_after=10)).instance("web", "a")
    for _ in range(4):  # one request every 6 s: never 10 s idle
        await served(instance)
        await asyncio.sleep(6)
    await instance.open()  # held for 60 s, far past sleepAfter
    await asyncio.sleep(60)
    assert not kube.deleted
    instance.leave()
    ended = now()

    await asyncio.sleep(10.1)

    assert kube.deleted_at[0] - ended == pytest.approx(10, abs=0.01)


async def test_118_119_the_hard_timeout_stops_a_busy_instance_counted_from_its_start() -> None:
    kube = FakeKube()
    instance = fleet_with(kube, config(hard_timeout=20)).instance("web", "a")
    start = now()
    await instance.open()  # in flight throughout: sleepAfter never fires

    await asyncio.sleep(start + 19.9 - now())
    assert not kube.deleted
    await asyncio.sleep(0.2)

    assert kube.deleted == [(kube.created[0]["metadata"]["name"], None)]
    assert ("HardTimeout", 'instance "a": hard timeout reached', False) in kube.events
    assert kube.deleted_at[0] - start == pytest.approx(20, abs=0.01)


async def test_120_a_stale_hard_timeout_never_stops_a_fresh_run() -> None:
    kube = FakeKube(Script(ports={8080: 0.1}, exit_after=5.0, exit_code=0))
    instance = fleet_with(kube, config(hard_timeout=20)).instance("web", "a")
    await served(instance)  # run 1 starts at ~0, its process exits at ~5.6
    await asyncio.sleep(10)
    kube.script = Script(ports={8080: 0.1})
    await served(instance)  # run 2 starts at ~10.6
    second = kube.created[1]["metadata"]["name"]

    await asyncio.sleep(12)  # past run 1's deadline (~20)
    assert not any(name == second for name, _ in kube.deleted)
    await asyncio.sleep(10)  # past run 2's (~30.6)

    assert (second, None) in kube.deleted


async def test_120_a_hard_timeout_due_for_an_earlier_run_or_a_stopped_instance_stops_nothing() -> None:
    kube = FakeKube(Script(ports={8080: 0.1}, exit_after=1.0))
    instance = fleet_with(kube, config(hard_timeout=600)).instance("web", "a")
    await served(instance)
    await asyncio.sleep(2)
    instance.hard_timeout_expired(1)  # run 1 has ended
    kube.script = Script(ports={8080: 0.1})
    await served(instance)

    instance.hard_timeout_expired(1)  # stale: run 2 is the current one
    await asyncio.sleep(0)
    assert kube.deleted == [(kube.created[0]["metadata"]["name"], 0)]  # only run 1's leftover Pod
    instance.hard_timeout_expired(2)
    await asyncio.sleep(0)

    assert kube.deleted[-1] == (kube.created[1]["metadata"]["name"], None)


async def test_a_crash_after_serving_is_seen_and_the_next_request_starts_a_new_run() -> None:
    kube = FakeKube(Script(ports={8080: 0.1}, exit_after=2.0, exit_code=137))
    instance = fleet_with(kube).instance("web", "a")
    await served(instance)
    await asyncio.sleep(3)
    assert instance.state()["status"] == "stopped_with_code"
    assert instance.state()["exitCode"] == 137
    first = kube.created[0]["metadata"]["name"]
    assert first in kube.pods, "the ended Pod stays for its logs"

    await served(instance)

    assert kube.created[1]["metadata"]["labels"]["lunora.sh/run"] == "2"
    assert (first, 0) in kube.deleted


async def test_stop_sends_sigterm_then_the_grace_period_and_sigkill_kills_at_once() -> None:
    kube = FakeKube()
    fleet = fleet_with(kube)
    a, b = fleet.instance("web", "a"), fleet.instance("web", "b")
    await served(a)
    await served(b)

    await a.stop()
    await b.stop("SIGKILL")

    assert kube.deleted == [
        (kube.created[0]["metadata"]["name"], None),
        (kube.created[1]["metadata"]["name"], 0),
    ]


async def test_a_restarted_router_finds_running_instances_and_resumes_their_hard_timeout() -> None:
    kube = FakeKube()
    first = fleet_with(kube, config(hard_timeout=30))
    await served(first.instance("web", "a"))
    await asyncio.sleep(10)

    restarted = fleet_with(kube, config(hard_timeout=30))
    restarted.on_pods([pod.obj for pod in kube.pods.values()])
    instance = restarted.instance("web", "a")
    ip = await served(instance)

    assert ip == kube.pods[kube.created[0]["metadata"]["name"]].ip
    assert len(kube.created) == 1
    assert restarted.running("web") == 1
    await asyncio.sleep(19.5)  # the first router's timers are gone with it; this one fires at ~30
    assert kube.deleted
    assert kube.deleted[0][0] == kube.created[0]["metadata"]["name"]


async def test_a_restarted_router_continues_the_run_numbers_it_finds() -> None:
    kube = FakeKube(Script(ports={8080: 0.1}, exit_after=1.0))
    first = fleet_with(kube)
    await served(first.instance("web", "a"))
    await asyncio.sleep(2)

    restarted = fleet_with(kube)
    restarted.on_pods([pod.obj for pod in kube.pods.values()])
    kube.script = Script(ports={8080: 0.1})
    await served(restarted.instance("web", "a"))

    assert [m["metadata"]["labels"]["lunora.sh/run"] for m in kube.created] == ["1", "2"]


def declared_env(manifest: dict[str, object]) -> dict[str, object]:
    container = manifest["spec"]["containers"][0]  # type: ignore[index]
    return {
        e["name"]: e.get("value", e.get("valueFrom"))
        for e in container["env"]
        if not e["name"].startswith("CLOUDFLARE_")
    }


async def test_122_123_start_env_vars_replace_the_declared_env_and_outlive_the_run() -> None:
    kube = FakeKube()
    declared = config(env=(("LOG", "info"),), secrets=(SecretEnv("API_KEY", "api", "key"),))
    instance = fleet_with(kube, declared).instance("web", "a")

    await instance.start(parse({"envVars": {"SANDBOX": "1"}}))
    await instance.stop()
    await asyncio.sleep(1)
    await served(instance)  # the implicit restart keeps the override

    for manifest in kube.created:
        assert declared_env(manifest) == {
            "SANDBOX": {"secretKeyRef": {"name": f"web-{instance.key}-start", "key": "env.SANDBOX"}}
        }
    assert dict(kube.overrides["a"].env_vars or {}) == {"SANDBOX": "1"}


async def test_124_other_env_vars_on_a_running_instance_conflict_and_destroy_restores_the_declared_env() -> (
    None
):
    from lunora_operator.local.errors import Conflict

    kube = FakeKube()
    instance = fleet_with(kube, config(env=(("LOG", "info"),))).instance("web", "a")
    await instance.start(parse({"envVars": {"A": "1"}}))

    await instance.start(parse({"envVars": {"A": "1"}}))  # the same again is fine
    with pytest.raises(Conflict, match="stop\\(\\) it"):
        await instance.start(parse({"envVars": {"A": "2"}}))
    await instance.destroy()
    await asyncio.sleep(1)
    await served(instance)

    assert "a" not in kube.overrides
    assert declared_env(kube.created[-1]) == {"LOG": "info"}
    assert len(kube.created) == 2


def parse(body: dict[str, object]):  # type: ignore[no-untyped-def]
    from lunora_operator.local.override import parse_start_options

    return parse_start_options(body)


async def test_99_a_missing_secret_fails_the_start_closed_naming_secret_and_key() -> None:
    kube = FakeKube(
        Script(waiting=("CreateContainerConfigError", "couldn't find key api-key in Secret ns/transcoder"))
    )
    declared = config(secrets=(SecretEnv("API_KEY", "transcoder", "api-key"),))
    instance = fleet_with(kube, declared).instance("web", "a")

    failure = await refused(instance)

    assert failure.answer.status == 500
    assert failure.answer.text.startswith(texts.START_FAILED_PREFIX)
    assert 'container "web": declared secret "API_KEY" is not set' in failure.answer.text
    assert 'Secret "ns/transcoder" has no key "api-key"' in failure.answer.text
    assert kube.deleted == [(kube.created[0]["metadata"]["name"], 0)]
    assert kube.events[0][0] == "SecretMissing"
    assert kube.events[0][2] is True
    assert fleet_running(instance) == 0


def fleet_running(instance: Instance) -> int:
    return instance.capacity.used


async def test_the_override_secret_the_kubelet_has_not_seen_yet_is_waited_for() -> None:
    kube = FakeKube()
    instance = fleet_with(kube).instance("web", "a")
    secret = f"web-{instance.key}-start"
    kube.scripts["a"] = Script(
        waiting=("CreateContainerConfigError", f'secret "{secret}" not found'),
        waiting_for=1.0,
        ports={8080: 0.1},
    )

    await instance.start(parse({"envVars": {"A": "1"}}))

    assert instance.state()["status"] == "running"
    assert not kube.deleted
    assert not kube.events


async def test_a_missing_secret_object_is_named_too() -> None:
    kube = FakeKube(Script(waiting=("CreateContainerConfigError", 'secret "transcoder" not found')))
    declared = config(secrets=(SecretEnv("API_KEY", "transcoder", "api-key"),))

    failure = await refused(fleet_with(kube, declared).instance("web", "a"))

    assert 'declared secret "API_KEY" is not set: Secret "ns/transcoder" not found' in failure.answer.text


async def test_an_image_the_node_cannot_pull_fails_the_start_with_the_kubelets_words() -> None:
    kube = FakeKube(Script(waiting=("ErrImagePull", "pull access denied")))
    instance = fleet_with(kube).instance("web", "a")

    failure = await refused(instance)

    assert failure.answer.text == (
        'Failed to start container: image "registry.local/web:1" cannot be run: ErrImagePull: pull access denied'
    )
    assert len(kube.created) == 2, "one fresh Pod is tried before the start fails"
    assert kube.live_pods() == []
    assert fleet_running(instance) == 0


async def test_a_failed_pull_is_retried_once_by_a_new_pod_within_the_start() -> None:
    """The kubelet may pull before it may read a new Pod's pull Secret (401), then back off 10 s:
    a new Pod pulls at once, so the request is served within the start budget."""
    kube = FakeKube(Script(waiting=("ErrImagePull", "401 Unauthorized"), waiting_pods=1, ports={8080: 0.1}))
    instance = fleet_with(kube).instance("web", "a")

    await served(instance)

    first, second = (pod["metadata"]["name"] for pod in kube.created)
    assert kube.deleted == [(first, 0)]
    assert kube.live_pods() == [second]
    assert instance.state()["status"] == "healthy"
    assert now() < Budgets().instance_get
    started = [pod["metadata"]["annotations"]["lunora.sh/run-started-at"] for pod in kube.created]
    assert started[0] == started[1], "hardTimeout still counts from the start"
    assert fleet_running(instance) == 1


@pytest.mark.parametrize("halt", ["stop", "destroy"])
async def test_an_instance_halted_while_its_pull_is_retried_gets_no_pod(halt: str) -> None:
    kube = FakeKube(Script(waiting=("ErrImagePull", "401 Unauthorized"), waiting_pods=1, ports={8080: 0.1}))
    kube.create_delays = [0.0, 1.0]  # the second Pod (the retry) takes a second to create
    instance = fleet_with(kube, config(max_instances=1)).instance("web", "a")
    request = asyncio.ensure_future(instance.open())
    await asyncio.sleep(0.5)  # the pull failed at 0.2 s; the retry's create is in flight

    await (instance.stop("SIGKILL") if halt == "stop" else instance.destroy())
    await asyncio.sleep(2)

    with pytest.raises(Unavailable):
        await request
    assert len(kube.created) == 2
    assert kube.live_pods() == []
    assert fleet_running(instance) == 0
    assert instance.state()["status"] != "running"
    first, second = (pod["metadata"]["name"] for pod in kube.created)
    assert sorted(name for name, _ in kube.deleted) == sorted([first, second]), "each Pod deleted once"


async def test_a_router_restarted_during_a_pull_retry_does_not_retry_it_again() -> None:
    """The retry is once per start: the fresh Pod says which run it replaces, so a router that
    finds it after a restart fails the start with the kubelet's words instead of a third Pod."""
    kube = FakeKube(Script(waiting=("ErrImagePull", "401 Unauthorized")))  # every Pod fails
    first = fleet_with(kube).instance("web", "a")
    request = asyncio.ensure_future(first.open())
    await asyncio.sleep(0.3)  # run 1 failed at 0.2 s and was replaced; run 2 reports at 0.5 s
    request.cancel()
    (replacement,) = kube.live_pods()
    assert kube.pods[replacement].obj["metadata"]["annotations"]["lunora.sh/repull-of"] == "1"

    restarted = fleet_with(kube)
    restarted.on_pods([pod.obj for pod in kube.pods.values()])
    await asyncio.sleep(0.5)

    assert len(kube.created) == 2, "no third Pod"
    assert kube.live_pods() == []
    instance = restarted.instance("web", "a")
    assert instance.run_failure is not None
    assert "ErrImagePull: 401 Unauthorized" in instance.run_failure.answer.text
    assert fleet_running(instance) == 0


async def test_an_exec_helper_pull_failure_is_retried_by_a_new_pod_too() -> None:
    kube = FakeKube(
        Script(helper_waiting=("ImagePullBackOff", "401 Unauthorized"), waiting_pods=1, ports={8080: 0.1})
    )
    instance = fleet_with(kube).instance("web", "a")

    await served(instance)

    assert len(kube.created) == 2
    assert kube.deleted == [(kube.created[0]["metadata"]["name"], 0)]


async def test_a_build_without_a_pushed_image_is_still_provisioning() -> None:
    failure = await refused(
        fleet_with(FakeKube(), config(image=None, image_source="build")).instance("web", "a")
    )

    assert failure.answer == texts.NO_INSTANCE
    assert "status.image.ref" in failure.detail


async def test_secrets_store_fails_closed_unless_start_env_vars_replace_it() -> None:
    kube = FakeKube()
    instance = fleet_with(kube, config(secrets_store=(("STRIPE_KEY", "STRIPE_SECRET"),))).instance("web", "a")

    failure = await refused(instance)
    assert 'points at binding "STRIPE_SECRET", which is not a Secrets Store binding' in failure.answer.text
    assert not kube.created

    await instance.start(parse({"envVars": {}}))
    assert declared_env(kube.created[0]) == {}


async def test_pool_instances_are_picked_among_max_instances_or_three() -> None:
    fleet: Fleet = fleet_with(FakeKube(), config("web", max_instances=5, pool_size=5), config("api"))

    picks = {fleet.pool_instance("web") for _ in range(200)}
    api_picks = {fleet.pool_instance("api") for _ in range(200)}

    assert picks == {f"pool-{i}" for i in range(5)}
    assert api_picks == {"pool-0", "pool-1", "pool-2"}
