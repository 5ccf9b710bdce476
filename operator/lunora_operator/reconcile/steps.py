"""Runs a reconcile as a list of small steps, each owning one condition (Flux's model).

A step sets its own condition when it succeeds. When it raises, the runner turns the error into
a `StepError` (the one place the edges' faults are mapped: Cloudflare, Kubernetes, the image
pipeline), marks the step's condition False with its reason, and stops: later steps keep what
they said last.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from lunora_operator.cloudflare import CloudflareError
from lunora_operator.images import ImageError
from lunora_operator.kube.gateway import KubeRefused, KubeUnavailable
from lunora_operator.reconcile.errors import Stalled, StepError, Transient
from lunora_operator.reconcile.status import StatusDraft

RunT = TypeVar("RunT")
EDGE_FAULTS = (StepError, CloudflareError, KubeUnavailable, ImageError)
"""What a step may raise besides Halt: its own decisions and the edges' faults."""


class Halt(Exception):
    """Raised by a step to end the run early without an error (e.g. the resource is suspended)."""


def step_error(error: Exception) -> StepError:
    """An edge's fault as the step error it means: a retryable one backs off (honouring the
    Retry-After it carries), one that asking again cannot cure stalls."""
    if isinstance(error, StepError):
        return error
    if isinstance(error, CloudflareError):
        kind = Transient if error.retryable else Stalled
        return kind(error.reason, f"Cloudflare: {error.message}", error.retry_after)
    if isinstance(error, KubeRefused):  # RBAC refused, or an invalid write
        return Stalled("KubernetesRefused", str(error))
    if isinstance(error, KubeUnavailable):
        return Transient("KubernetesUnavailable", str(error))
    if isinstance(error, ImageError):
        return (Transient if error.retryable else Stalled)(str(error.reason), error.message)
    raise TypeError(f"not a fault of an edge: {type(error).__name__}") from error


@dataclass(frozen=True)
class Step(Generic[RunT]):
    condition: str | None
    """The condition this step owns; None for a step whose failure only shows in `Ready`."""
    run: Callable[[RunT], Awaitable[None]]


async def run_steps(steps: Sequence[Step[RunT]], run: RunT, draft: StatusDraft | None) -> StepError | None:
    """Runs the steps in order; returns the error that stopped them (None when all finished)."""
    for step in steps:
        try:
            await step.run(run)
        except Halt:
            return None
        except EDGE_FAULTS as raised:
            error = step_error(raised)
            if step.condition is not None and draft is not None:
                draft.set(step.condition, "False", error.reason, error.message)
            return error
    return None
