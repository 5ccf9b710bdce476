"""The operator killed with SIGKILL at each step boundary and started again: whatever it had done
stays done once, and the rest is done exactly once.

Each boundary is reached from outside, without hooks in the operator: the Docker engine's events
say when a build or a push finished, the fake Cloudflare's records say when an upload or a create
was carried out, and the next call is held (an injected latency, or a frozen proxy in front of the
Docker engine or the API server) while the process is killed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from lunora_operator.testing import Fault
from lunora_operator.testing.environment import TestEnvironment
from tests.support.apiserver import server_address
from tests.support.operator import OperatorProcess, operator_process, wait_for
from tests.support.proxy import TcpProxy
from tests.support.scenario import Scenario, assert_exactly_once, on_engine_event

pytest_plugins = ["tests.support.operator_fixtures"]
pytestmark = [pytest.mark.apiserver, pytest.mark.docker, pytest.mark.registry]


def kubeconfig_through(proxy: TcpProxy, kubeconfig: Path, work: Path) -> Path:
    """The test environment's kubeconfig, pointed at the proxy (the serving certificate names
    127.0.0.1, whatever the port)."""
    config = yaml.safe_load(kubeconfig.read_text())
    for cluster in config["clusters"]:
        cluster["cluster"]["server"] = f"https://{proxy.address}"
    path = work / "through-proxy.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


@contextmanager
def operator_behind_a_proxy(
    testenv: TestEnvironment, namespace: str, work: Path
) -> Iterator[tuple[TcpProxy, OperatorProcess]]:
    """An operator (not started yet) that reaches the API server through a proxy the test can
    freeze; stopped at the end."""
    with TcpProxy(server_address(testenv.kubeconfig)) as apiserver:
        kubeconfig = kubeconfig_through(apiserver, testenv.kubeconfig, work)
        operator = operator_process(
            testenv, namespace, work / "operator.log", resync=5, kubeconfig=kubeconfig
        )
        try:
            yield apiserver, operator
        finally:
            operator.stop()


def test_killed_after_the_build_and_after_the_push(
    scenario: Scenario, testenv: TestEnvironment, namespace: str, tmp_path: Path, installed_crds: None
) -> None:
    with TcpProxy(testenv.docker_host.removeprefix("unix://")) as engine:
        operator = operator_process(
            testenv, namespace, tmp_path / "operator.log", resync=5, docker_host=f"tcp://{engine.address}"
        )
        try:
            # After the build: the engine tagged the image; the operator never gets to push it.
            with on_engine_event(testenv, "tag", scenario.job_repository, engine.hold) as built:
                operator.start()
                scenario.apply_app()
                scenario.apply_job()
                assert built.wait(120), "the image was never built"
            operator.kill()
            engine.release()
            assert scenario.engine_events("push", scenario.job_repository) == []

            # After the push: the registry has it; the operator dies before it uses it.
            with on_engine_event(testenv, "push", scenario.job_repository, operator.kill) as pushed:
                operator.start()
                assert pushed.wait(120), "the image was never pushed"
            assert scenario.fake.application("demo-jobcontainer") is None

            operator.start()
            scenario.wait_ready("job")
            assert_exactly_once(scenario, ["job"], built=True)
        finally:
            operator.stop()


def test_killed_after_the_upload_after_the_create_and_before_the_status_patch(
    scenario: Scenario, testenv: TestEnvironment, namespace: str, tmp_path: Path, installed_crds: None
) -> None:
    fake = scenario.fake
    with operator_behind_a_proxy(testenv, namespace, tmp_path) as (apiserver, operator):
        # After the Worker upload (with its migrations): the next call is held, then the kill.
        fake.inject("workers.scripts.secrets.update", Fault.latency(5))
        operator.start()
        scenario.apply_app()
        scenario.apply_web()
        wait_for("the upload", lambda: scenario.successful("workers.scripts.update"))
        operator.kill()
        fake.clear_faults()
        assert fake.script("demo")["migration_tag"] is not None  # type: ignore[index]
        assert fake.applications() == []

        # After the application create: Cloudflare made it, the answer is lost, the kill
        # comes before the operator could look again.
        fake.inject("applications.create", Fault.dropped_after_processing())
        operator.start()
        wait_for("the create", lambda: fake.application("demo-webcontainer"), interval=0.02)
        operator.kill()
        assert len(fake.applications()) == 1

        # Before the status patch: a new container's create is slowed; while it is under way
        # the API server path freezes, so the patch that follows cannot be sent.
        slow_create = Fault.latency(3)
        fake.inject("applications.create", slow_create)
        operator.start()
        scenario.wait_ready("web")
        scenario.apply_api()
        # The fault is taken when the create arrives; it is answered 3 s later.
        wait_for("the create to arrive", lambda: slow_create.times == 0, interval=0.02)
        apiserver.hold()
        wait_for("the create", lambda: fake.application("demo-apicontainer"), interval=0.02)
        time.sleep(0.5)  # the answer arrives, the status patch is sent and held
        operator.kill()
        apiserver.cut()  # the held patch dies with the process
        apiserver.release()
        api = scenario.resources.get("lunoracontainer", "api")
        assert "applicationId" not in ((api or {}).get("status") or {})

        operator.start()
        scenario.wait_ready("web", "api")
        assert_exactly_once(scenario, ["web", "api"])


def test_killed_after_a_deletion_was_uploaded_before_the_finalizer_went(
    scenario: Scenario, testenv: TestEnvironment, namespace: str, tmp_path: Path, installed_crds: None
) -> None:
    fake = scenario.fake
    with operator_behind_a_proxy(testenv, namespace, tmp_path) as (apiserver, operator):
        operator.start()
        scenario.apply_app()
        scenario.apply_web()
        scenario.apply_api()
        scenario.wait_ready("web", "api")

        # `deletionPolicy: Delete`: the application goes, the config records the class as
        # deleted, the Worker is uploaded with that migration, then kopf removes the
        # finalizer. The upload is slowed; once it has reached Cloudflare, the API server path
        # freezes, so the finalizer stays when the process dies. (Not as soon as the config says
        # it: the operator still reads the Worker bundle from the API server before uploading.)
        slow_upload = Fault.latency(2)
        fake.inject("workers.scripts.update", slow_upload)
        scenario.resources.kubectl("delete", "lc/api", "-n", namespace, "--wait=false")
        wait_for(
            "the deletion in the config",
            lambda: "deleted_classes" in scenario.resources.config_map("demo-wrangler")["wrangler.jsonc"],
            interval=0.05,
        )
        # The fault is taken when the upload arrives; it is answered 2 s later.
        wait_for("the upload to arrive", lambda: slow_upload.times == 0, interval=0.02)
        apiserver.hold()
        wait_for(
            "the upload with the deletion",
            lambda: any(
                "deleted_classes" in str(r.body) for r in scenario.successful("workers.scripts.update")
            ),
        )
        time.sleep(0.5)  # the handler returns; kopf's finalizer patch is sent and held
        operator.kill()
        apiserver.cut()
        apiserver.release()
        assert scenario.resources.get("lunoracontainer", "api") is not None  # the finalizer held it

        operator.start()
        wait_for("api to go", lambda: scenario.resources.get("lunoracontainer", "api") is None, timeout=60)
        scenario.wait_ready("web")
        assert fake.application("demo-apicontainer") is None
        assert len(scenario.successful("applications.delete")) == 1
        assert_exactly_once(scenario, ["web"])
