"""One instance id of one container: the Durable Object's part of Cloudflare's `Container` class.

States are the platform's (`stopped`, `running` once a run is created, `healthy` once its ports
listen, `stopped_with_code` when its process has ended). A request starts the instance on demand
(`bringup`), is held until it can be served, and counts as in flight until its response ends;
`sleepAfter` and `hardTimeout` stop it (`timers`). Everything about the run is read back from its
Pod (`observe`), so a restarted router picks up where the last one left off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from dataclasses import replace
from enum import StrEnum
from functools import partial
from typing import Any

from lunora_operator.local import bringup, errors, names, texts
from lunora_operator.local.capacity import Capacity
from lunora_operator.local.config import ContainerConfig
from lunora_operator.local.context import Context
from lunora_operator.local.override import StartOverride
from lunora_operator.local.pod_state import PodState
from lunora_operator.local.timers import SleepVerdict, Timer, hard_deadline, sleep_verdict

log = logging.getLogger(__name__)

SIGKILL = ("SIGKILL", "9", 9)


class Status(StrEnum):
    STOPPED = "stopped"
    RUNNING = "running"
    HEALTHY = "healthy"
    STOPPED_WITH_CODE = "stopped_with_code"


class Instance:
    def __init__(self, ctx: Context, config: ContainerConfig, instance_id: str, capacity: Capacity) -> None:
        self.ctx = ctx
        self.config = config
        self.id = instance_id
        self.key = names.instance_key(config.name, instance_id)
        self.capacity = capacity
        self.status = Status.STOPPED
        self.exit_code: int | None = None
        self.last_change = ctx.clock.wall()
        self.run = 0
        self.pod: PodState | None = None
        self.inflight = 0
        self.activity_deadline = 0.0
        self.override: StartOverride | None = None
        self.override_loaded = False
        self.run_failure: errors.Unavailable | None = None
        self.repulled_from = 0
        """The run whose failed pull this start replaced by a new Pod (0: none yet)."""
        self.healthy_run = 0
        self.ready_run = 0
        self.creating: asyncio.Future[None] | None = None
        self.ports_step = bringup.Step()
        self.gate_step = bringup.Step()
        self._changed = asyncio.Event()
        self._sleep = Timer(self._sleep_fired)
        self._hard = Timer(lambda: None)
        self._hard_run = 0
        self._tasks: set[asyncio.Future[Any]] = set()

    # --- what callers see ----------------------------------------------------------------------

    @property
    def live(self) -> bool:
        return self.pod is not None and self.pod.live

    @property
    def serving(self) -> bool:
        return self.live and self.healthy_run == self.run and self.ready_run == self.run

    def state(self) -> dict[str, Any]:
        """`getState()`: status, lastChange (epoch ms) and, after an exit, its code."""
        state: dict[str, Any] = {
            "status": self.status.value,
            "lastChange": int(self.last_change.timestamp() * 1000),
        }
        if self.status is Status.STOPPED_WITH_CODE:
            state["exitCode"] = self.exit_code
        return state

    async def open(self) -> str:
        """Holds a request until the instance serves it; returns the Pod's address. The request
        counts as in flight until `close()`."""
        self.enter()
        try:
            if not self.serving:
                await bringup.bring_up(self, wait_ports=True)
            pod = self.pod
            assert pod is not None
            assert pod.ip is not None
            return pod.ip
        except BaseException:
            self.leave()
            raise

    def enter(self) -> None:
        self.inflight += 1
        self.renew()

    def leave(self) -> None:
        self.inflight -= 1
        if self.inflight == 0:
            self.renew()

    def renew(self) -> None:
        """Activity: the instance may sleep `sleepAfter` from now at the earliest."""
        self.activity_deadline = self.ctx.clock.monotonic() + self.config.sleep_after
        if self.live and not self._sleep.armed:
            self._sleep.arm(self.activity_deadline)

    # --- lifecycle calls -----------------------------------------------------------------------

    async def start(self, options: StartOverride) -> None:
        """`start()`: persists the options as the instance's override, starts it without waiting
        for its ports, and waits for its `readyOn` probes, as Lunora's start does."""
        await self.load_override()
        wanted = options.over(self.override)
        if self.live or self.creating is not None:
            if not wanted.same_start(self.override):
                raise errors.Conflict(
                    texts.START_CONFLICT.format(
                        name=self.config.export_name, instance=self.id, state=self.status.value
                    )
                )
        elif not wanted.same_start(self.override):
            if wanted.empty:
                await self.ctx.backend.delete_override(self.config, self.id)
            else:
                await self.ctx.backend.save_override(self.config, self.id, wanted)
            self.override = None if wanted.empty else wanted
        self.enter()
        try:
            await bringup.bring_up(self, wait_ports=False)
        finally:
            self.leave()

    async def stop(self, signal: str | int = "SIGTERM") -> None:
        """`stop()`: SIGTERM, then SIGKILL after the Pod's grace period; SIGKILL at once."""
        await self.halt(0 if signal in SIGKILL else None)

    async def destroy(self) -> None:
        """`destroy()`: kills the run, drops its disk (the Pod) and the start override."""
        pod = self.pod
        await self.halt(0)
        if pod is not None and not pod.live:
            await self.ctx.backend.delete_pod(pod.name, 0)
        await self.ctx.backend.delete_override(self.config, self.id)
        self.override, self.override_loaded = None, True

    async def load_override(self) -> None:
        if not self.override_loaded:
            self.override = await self.ctx.backend.load_override(self.config, self.id)
            self.override_loaded = True

    async def halt(self, grace_seconds: int | None) -> None:
        pod = self.pod
        if pod is None or not pod.live:
            return
        self.pod = replace(pod, deleting=True)
        self._run_ended()
        await self.ctx.backend.delete_pod(pod.name, grace_seconds)

    # --- the run, as the Pod tells it ----------------------------------------------------------

    def begin_run(self, pod: PodState) -> None:
        """A run was just created (its Pod may not have been seen by the watch yet)."""
        if self.pod is None or self.pod.run < pod.run:
            self.run, self.pod = pod.run, pod
        self.run_failure = None
        self.set_status(Status.RUNNING)
        self._follow(pod)

    def observe(self, pod: PodState) -> None:
        """The watch saw this instance's Pod change."""
        if pod.run < self.run:
            if not pod.deleting:  # an earlier run's leftover (kept for its logs, or a failed pull's)
                self.spawn(self.ctx.backend.delete_pod(pod.name, 0))
            return
        if pod.run > self.run:  # found after a restart, or seen before create_pod returned
            self.run = pod.run
            self.repulled_from = max(self.repulled_from, pod.repull_of)
            if pod.live:
                self.set_status(Status.RUNNING)
                self.renew()
        was_live = self.live
        self.pod = pod
        if pod.live:
            self._follow(pod)
            if self.run_failure is None and pod.run != self.repulled_from and bringup.cannot_start(self, pod):
                if bringup.may_repull(pod, self.repulled_from):
                    self.repulled_from = pod.run
                    self.spawn(bringup.repull(self, pod))
                else:
                    self.run_failure = bringup.fatal_error(self, pod)
                    self.spawn(self.halt(0))
        elif was_live or self.capacity.holds(self.key):
            self._run_ended()
        if pod.exit_code is not None and self.status is not Status.STOPPED_WITH_CODE:
            self.exit_code = pod.exit_code
            self.set_status(Status.STOPPED_WITH_CODE)
        self.pulse()

    def gone(self, name: str) -> None:
        """The watch saw this instance's Pod deleted."""
        if self.pod is None or self.pod.name != name:
            return
        if self.capacity.holds(self.key):
            self._run_ended()
        if self.status in (Status.RUNNING, Status.HEALTHY):
            self.set_status(Status.STOPPED)
        self.pod = None
        self.pulse()

    def _follow(self, pod: PodState) -> None:
        self.capacity.hold(self.key)
        if self.config.hard_timeout is not None and (self._hard_run != pod.run or not self._hard.armed):
            clock = self.ctx.clock
            when = hard_deadline(clock.monotonic(), clock.wall(), pod.started_at, self.config.hard_timeout)
            self._hard.cancel()
            self._hard, self._hard_run = Timer(partial(self.hard_timeout_expired, pod.run)), pod.run
            self._hard.arm(when)
        if not self._sleep.armed:
            self._sleep.arm(max(self.activity_deadline, self.ctx.clock.monotonic()))

    def _run_ended(self) -> None:
        self.capacity.release(self.key)
        self._hard.cancel()
        self._sleep.cancel()
        self.pulse()

    def mark_healthy(self, run: int) -> None:
        """Every port of run `run` listens."""
        self.healthy_run = run
        self.set_status(Status.HEALTHY)

    def set_status(self, status: Status) -> None:
        if status is not self.status:
            self.status = status
            self.last_change = self.ctx.clock.wall()

    # --- timers --------------------------------------------------------------------------------

    def _sleep_fired(self) -> None:
        verdict = sleep_verdict(self.live, self.inflight, self.ctx.clock.monotonic(), self.activity_deadline)
        if verdict is SleepVerdict.BUSY:
            self.renew()
        elif verdict is SleepVerdict.LATER:
            self._sleep.arm(self.activity_deadline)
        elif verdict is SleepVerdict.EXPIRED:
            log.info(
                "%s/%s: no activity for %ss (sleepAfter): stopping",
                self.config.name,
                self.id,
                self.config.sleep_after,
            )
            self.spawn(self.halt(None))

    def hard_timeout_expired(self, run: int) -> None:
        """The hard timeout armed for run `run` is due: stop that run, and nothing else."""
        if run != self.run or not self.live:
            return  # armed for an earlier run: never stops a fresh one
        log.info("%s/%s: hard timeout reached: stopping run %s", self.config.name, self.id, run)
        self.ctx.backend.record(self.config, "HardTimeout", f'instance "{self.id}": hard timeout reached')
        self.spawn(self.halt(None))

    # --- plumbing ------------------------------------------------------------------------------

    def pulse(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def changed(self, seconds: float) -> None:
        """Waits until the Pod changes or `seconds` pass, whichever is first."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), seconds)

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("%s/%s: %s", self.config.name, self.id, task.exception())
