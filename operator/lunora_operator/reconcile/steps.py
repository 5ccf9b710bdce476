"""Runs a reconcile as a list of small steps, each owning one condition (Flux's model).

A step sets its own condition when it succeeds. When it raises a `StepError`, the runner marks
its condition False with the error's reason and stops: later steps keep what they said last.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from lunora_operator.reconcile.errors import StepError
from lunora_operator.reconcile.status import StatusDraft

RunT = TypeVar("RunT")


class Halt(Exception):
    """Raised by a step to end the run early without an error (e.g. the resource is suspended)."""


@dataclass(frozen=True)
class Step(Generic[RunT]):
    condition: str | None
    """The condition this step owns; None for a step whose failure only shows in `Ready`."""
    run: Callable[[RunT], Awaitable[None]]


async def run_steps(steps: Sequence[Step[RunT]], run: RunT, draft: StatusDraft) -> StepError | None:
    for step in steps:
        try:
            await step.run(run)
        except Halt:
            return None
        except StepError as error:
            if step.condition is not None:
                draft.set(step.condition, "False", error.reason, error.message)
            return error
    return None
