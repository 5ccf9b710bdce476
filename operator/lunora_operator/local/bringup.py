"""Starting an instance, as Cloudflare's `Container` and Lunora's gate on top of it do:

1. find an instance: a place under `maxInstances`, a new Pod, its process running, within the
   instance budget (8 s), else the no-instance answer (503);
2. wait until every `requiredPorts` port (else `defaultPort`) answers, within the port budget
   counted from the start (20 s), probing every 300 ms;
3. wait until every `readyOn` probe answers its exact status, all in parallel, within 30 s,
   probing every 500 ms; a failed gate is dropped so the next request probes again.

Concurrent callers share each step (one Pod, one set of probes per run). A process that exits on
the way fails every waiting request with its exit code.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from lunora_operator.local import errors, names, texts
from lunora_operator.local.backend import PodExists
from lunora_operator.local.capacity import Capacity
from lunora_operator.local.config import ContainerConfig, ReadyProbe
from lunora_operator.local.context import Context
from lunora_operator.local.override import StartOverride
from lunora_operator.local.pod_spec import instance_pod
from lunora_operator.local.pod_state import CONFIG_ERROR, PodState

log = logging.getLogger(__name__)

NAME_ATTEMPTS = 5


async def bring_up(instance: Instance, wait_ports: bool) -> None:
    started = instance.ctx.clock.monotonic()
    budgets = instance.ctx.budgets
    await _ensure_run(instance, started + budgets.instance_get)
    run = instance.run
    if wait_ports and instance.healthy_run != run:
        await instance.ports_step.share(run, lambda: _wait_ports(instance, run, started + budgets.port_ready))
    if instance.ready_run != run:
        await instance.gate_step.share(run, lambda: _wait_ready(instance, run))


class Instance(Protocol):
    """What a start reads and moves on the instance it brings up (`local.instance.Instance`)."""

    ctx: Context
    config: ContainerConfig
    id: str
    key: str
    capacity: Capacity
    run: int
    pod: PodState | None
    override: StartOverride | None
    run_failure: errors.Unavailable | None
    repulled_from: int
    healthy_run: int
    ready_run: int
    creating: asyncio.Future[None] | None
    ports_step: Step
    gate_step: Step

    @property
    def live(self) -> bool: ...

    async def load_override(self) -> None: ...

    def begin_run(self, pod: PodState) -> None: ...

    def mark_healthy(self, run: int) -> None: ...

    async def halt(self, grace_seconds: int | None) -> None: ...

    async def changed(self, seconds: float) -> None: ...

    def pulse(self) -> None: ...

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None: ...


class Step:
    """One step of a run, shared by every caller waiting for it; a failed step is forgotten so
    the next caller tries again."""

    def __init__(self) -> None:
        self._task: asyncio.Future[None] | None = None
        self._run = 0

    async def share(self, run: int, make: Callable[[], Coroutine[Any, Any, None]]) -> None:
        if self._task is None or self._run != run:
            self._task, self._run = asyncio.ensure_future(make()), run
        task = self._task
        try:
            await asyncio.shield(task)
        except errors.Unavailable:
            if self._task is task:
                self._task = None
            raise


async def _ensure_run(instance: Instance, deadline: float) -> None:
    if not instance.live:
        if instance.creating is None:
            creating = asyncio.ensure_future(_create_run(instance, deadline))
            instance.creating = creating
            creating.add_done_callback(lambda _: setattr(instance, "creating", None))
        await asyncio.shield(instance.creating)
    clock = instance.ctx.clock
    while not _process_running(instance, instance.run):
        remaining = deadline - clock.monotonic()
        if remaining <= 0:
            raise errors.no_instance(
                f"Pod {instance.pod.name if instance.pod else '?'} has not started within "
                f"{instance.ctx.budgets.instance_get:g}s (scheduling or pulling its image)"
            )
        await instance.changed(remaining)


async def _create_run(instance: Instance, deadline: float) -> None:
    config = instance.config
    if config.image is None:
        raise errors.no_instance(
            f"container {config.name} has no image yet: its build is recorded in status.image.ref once pushed"
        )
    await instance.load_override()
    override = instance.override
    if config.secrets_store and (override is None or override.env_vars is None):
        env, binding = config.secrets_store[0]
        raise errors.start_failed(
            f'container "{config.export_name}": secretsStore env "{env}" points at binding "{binding}",'
            " which is not a Secrets Store binding on the Worker env: local mode has no Secrets Store;"
            " declare the value in `secrets` from a Kubernetes Secret, or start() with envVars"
        )
    await instance.capacity.acquire(instance.key, deadline)
    previous = instance.pod
    try:
        instance.repulled_from = 0
        instance.begin_run(await _create_pod(instance, instance.ctx.clock.wall()))
    except BaseException:
        instance.capacity.release(instance.key)
        raise
    if previous is not None and previous.finished and not previous.deleting:
        instance.spawn(instance.ctx.backend.delete_pod(previous.name, 0))  # kept for its logs until now


async def _create_pod(instance: Instance, started_at: Any, repull_of: int = 0) -> PodState:
    """Creates the next run's Pod under the first free run number; the caller makes it the
    current run."""
    ctx, run = instance.ctx, instance.run
    for _ in range(NAME_ATTEMPTS):
        run += 1
        manifest = instance_pod(
            instance.config, instance.id, run, started_at, instance.override, ctx.pod_settings, repull_of
        )
        try:
            await ctx.backend.create_pod(manifest)
            break
        except PodExists:
            continue
    else:
        raise errors.no_instance(f"Pods for runs up to {run} of this instance exist already")
    return _new_pod(manifest, instance, run, started_at, repull_of)


def may_repull(pod: PodState, repulled_from: int) -> bool:
    """Whether a run whose image pull failed gets one fresh Pod before the start fails: once per
    start, as a new Pod pulls at once where the kubelet would back off past the start budget."""
    return pod.pull_failed and repulled_from == 0


async def repull(instance: Instance, failed: PodState) -> None:
    """Replaces a run whose pull failed by a new Pod (same start time, so `hardTimeout` still
    counts from the start), then removes the failed one; if no Pod can be made, the start fails
    with the pull's words."""
    log.info("%s/%s: Pod %s could not pull its image (%s): trying a new Pod",
             instance.config.name, instance.id, failed.name, failed.fatal)  # fmt: skip
    try:
        fresh = await _create_pod(instance, failed.started_at or instance.ctx.clock.wall(), failed.run)
    except errors.Unavailable:
        instance.run_failure = fatal_error(instance, failed)
        await instance.halt(0)
        instance.pulse()
        return
    current = instance.pod
    if current is None or current.run != failed.run or not current.live:
        # stopped, destroyed or timed out while the new Pod was made: it must not run
        await instance.ctx.backend.delete_pod(fresh.name, 0)
        return
    instance.begin_run(fresh)
    await instance.ctx.backend.delete_pod(failed.name, 0)


def _new_pod(
    manifest: dict[str, Any], instance: Instance, run: int, started_at: Any, repull_of: int
) -> PodState:
    meta = manifest["metadata"]
    return PodState(
        name=meta["name"], uid="", container=instance.config.name, instance_key=instance.key,
        instance_id=instance.id, run=run, started_at=started_at, deleting=False, phase="Pending",
        ip=None, running=False, exit_code=None,
        repull_of=repull_of,
    )  # fmt: skip


def _check_run(instance: Instance, run: int) -> PodState:
    """The run's Pod while it may still serve; raises what the caller gets once it cannot."""
    pod = instance.pod
    if instance.run_failure is not None and instance.run == run:
        raise instance.run_failure
    if pod is None or pod.run != run:
        raise errors.no_instance("the instance was stopped while it started")
    if pod.exit_code is not None:
        raise errors.exited(pod.exit_code)
    if pod.deleting:
        raise errors.no_instance("the instance was stopped while it started")
    return pod


def _process_running(instance: Instance, run: int) -> bool:
    pod = _check_run(instance, run)
    return pod.running and pod.ip is not None


async def _all(*work: Coroutine[Any, Any, None]) -> None:
    """Runs `work` in parallel; the first failure cancels the rest and is raised."""
    tasks = [asyncio.ensure_future(item) for item in work]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()


async def _wait_ports(instance: Instance, run: int, deadline: float) -> None:
    ports = instance.config.ports_to_wait_for
    await _all(*(_wait_port(instance, run, port, deadline) for port in ports))
    _check_run(instance, run)
    instance.mark_healthy(run)


async def _wait_port(instance: Instance, run: int, port: int, deadline: float) -> None:
    clock, budgets = instance.ctx.clock, instance.ctx.budgets
    while True:
        ip = _check_run(instance, run).ip or ""
        limit = min(budgets.ping_timeout, max(deadline - clock.monotonic(), budgets.poll_interval))
        error = await instance.ctx.backend.probe_port(ip, port, instance.config.ping_endpoint, limit)
        if error is None:
            return
        _check_run(instance, run)
        if clock.monotonic() + budgets.poll_interval > deadline:
            raise errors.start_failed(texts.NOT_LISTENING.format(port=port), error)
        await instance.changed(budgets.poll_interval)


async def _wait_ready(instance: Instance, run: int) -> None:
    deadline = instance.ctx.clock.monotonic() + instance.ctx.budgets.readiness
    await _all(*(_wait_probe(instance, run, probe, deadline) for probe in instance.config.ready_on))
    _check_run(instance, run)
    instance.ready_run = run


async def _wait_probe(instance: Instance, run: int, probe: ReadyProbe, deadline: float) -> None:
    clock, budgets = instance.ctx.clock, instance.ctx.budgets
    while True:
        ip = _check_run(instance, run).ip or ""
        limit = max(budgets.readiness_poll, deadline - clock.monotonic())
        status = await instance.ctx.backend.probe_ready(ip, probe.port, probe.request_path, limit)
        if status == probe.status:
            return
        _check_run(instance, run)
        if clock.monotonic() >= deadline:
            raise errors.start_failed(
                texts.READINESS_FAILED.format(
                    name=instance.config.export_name,
                    path=probe.path,
                    port=probe.port,
                    status=probe.status,
                    budget_ms=round(budgets.readiness * 1000),
                )
            )
        await instance.changed(budgets.readiness_poll)


_MISSING_SECRET = re.compile(r'secrets? "(?P<name>[^"]+)" not found')
_MISSING_KEY = re.compile(r"couldn't find key (?P<key>\S+) in Secret (?P<namespace>[^/\s]+)/(?P<name>\S+)")


def cannot_start(instance: Instance, pod: PodState) -> bool:
    """Whether the run's Pod will not start by itself. A missing override Secret is the one
    exception: the router has just written it, and the kubelet, which reads Secrets through a
    cache, retries until it sees it."""
    if pod.fatal is None:
        return False
    own = names.override_secret_name(instance.config.name, instance.key)
    return not (pod.waiting_reason == CONFIG_ERROR and own in (pod.waiting_message or ""))


def fatal_error(instance: Instance, pod: PodState) -> errors.Unavailable:
    """The answer for a run that cannot start: a missing Secret or key (failing closed, as
    Lunora does for an unset secret), or an image (the instance's or the exec helper's) the node
    cannot pull."""
    config = instance.config
    if pod.helper_failure is not None:
        helper = instance.ctx.pod_settings.exec_helper_image
        return errors.start_failed(f'the exec helper image "{helper}" cannot be run: {pod.helper_failure}')
    message = pod.waiting_message or ""
    if pod.waiting_reason != CONFIG_ERROR:
        return errors.start_failed(f'image "{config.image}" cannot be run: {pod.fatal}')
    missing = _MISSING_KEY.search(message) or _MISSING_SECRET.search(message)
    if missing is None:
        return errors.start_failed(f'container "{config.export_name}": {message}')
    secret, key = missing.group("name"), missing.groupdict().get("key")
    declared = [s for s in config.secrets if s.secret == secret and (key is None or s.key == key)]
    where = f'Secret "{config.namespace}/{secret}"'
    reason = f'{where} has no key "{key}"' if key is not None else f"{where} not found"
    env = declared[0].env if declared else (key or secret)
    text = texts.SECRET_NOT_SET.format(name=config.export_name, env=env, reason=reason, container=config.name)
    instance.ctx.backend.record(config, "SecretMissing", text, warning=True)
    return errors.start_failed(text)
