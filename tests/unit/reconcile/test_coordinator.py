"""The per-app debounce: many render requests share a handful of runs of the app's pipeline."""

from __future__ import annotations

import asyncio

import pytest

from lunora_operator.reconcile.app_run import AppMemory, AppOutcome
from lunora_operator.reconcile.coordinator import AppCoordinator
from lunora_operator.reconcile.status import StatusDraft


class CountingRuns:
    """A pipeline stand-in: each run returns an outcome numbered by its run; `gate` can hold a run."""

    def __init__(self) -> None:
        self.count = 0
        self.observed: list[bool] = []
        self.gate: asyncio.Event | None = None
        self.started = asyncio.Event()
        self.failure: Exception | None = None

    async def __call__(self, memory: AppMemory, observe: bool) -> AppOutcome:
        self.count += 1
        self.observed.append(observe)
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.failure is not None:
            raise self.failure
        return AppOutcome(draft=StatusDraft(self.count), config_hash=f"run-{self.count}")


@pytest.fixture
def runs() -> CountingRuns:
    return CountingRuns()


async def test_a_hundred_containers_applied_at_once_share_a_handful_of_runs(runs: CountingRuns) -> None:
    coordinator = AppCoordinator(runs, quiet=0.02, max_delay=0.2)

    async def container(index: int) -> AppOutcome:
        await asyncio.sleep(index * 0.0005)  # arriving over 50 ms, as watch events do
        return await coordinator.request()

    outcomes = await asyncio.gather(*(container(i) for i in range(100)))
    await coordinator.close()

    assert 1 <= runs.count <= 3
    assert coordinator.runs == runs.count
    assert all(outcome.config_hash is not None for outcome in outcomes)
    assert {outcome.config_hash for outcome in outcomes} <= {f"run-{n}" for n in range(1, runs.count + 1)}


async def test_a_steady_stream_of_requests_still_runs_after_max_delay(runs: CountingRuns) -> None:
    coordinator = AppCoordinator(runs, quiet=0.05, max_delay=0.1)
    stop = asyncio.Event()
    requests: list[asyncio.Future[AppOutcome]] = []

    async def stream() -> None:
        while not stop.is_set():
            requests.append(asyncio.ensure_future(coordinator.request()))
            await asyncio.sleep(0.01)  # always inside `quiet`

    streaming = asyncio.ensure_future(stream())
    first = await asyncio.wait_for(coordinator.request(), timeout=1.0)
    stop.set()
    await streaming
    await asyncio.wait_for(asyncio.gather(*requests), timeout=1.0)
    await coordinator.close()

    assert first.config_hash == "run-1"


async def test_a_request_during_a_run_gets_the_next_run(runs: CountingRuns) -> None:
    runs.gate = asyncio.Event()
    coordinator = AppCoordinator(runs, quiet=0.005, max_delay=0.05)

    early = asyncio.ensure_future(coordinator.request())
    await asyncio.wait_for(runs.started.wait(), timeout=1.0)
    late = asyncio.ensure_future(coordinator.request(observe_cloudflare=True))
    await asyncio.sleep(0.02)
    runs.gate.set()
    first, second = await asyncio.wait_for(asyncio.gather(early, late), timeout=1.0)
    await coordinator.close()

    assert first.config_hash == "run-1"
    assert second.config_hash == "run-2"
    assert runs.observed == [False, True]
    assert coordinator.last is second


async def test_an_exception_in_the_run_reaches_every_waiter_and_the_next_request_runs_again(
    runs: CountingRuns,
) -> None:
    runs.failure = RuntimeError("render crashed")
    coordinator = AppCoordinator(runs, quiet=0.005, max_delay=0.05)

    results = await asyncio.wait_for(
        asyncio.gather(*(coordinator.request() for _ in range(5)), return_exceptions=True), timeout=1.0
    )

    assert runs.count == 1
    assert all(isinstance(r, RuntimeError) and str(r) == "render crashed" for r in results)

    runs.failure = None
    recovered = await asyncio.wait_for(coordinator.request(), timeout=1.0)
    await coordinator.close()
    assert recovered.config_hash == "run-2"
