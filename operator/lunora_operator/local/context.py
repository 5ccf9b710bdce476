"""What every instance of one router shares: the edges to Kubernetes and the Pod network, the
clock, the budgets and what instance Pods are made with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from lunora_operator.local.backend import InstanceBackend
from lunora_operator.local.pod_spec import PodSettings
from lunora_operator.local.settings import Budgets


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def wall(self) -> Any: ...


@dataclass(frozen=True)
class Context:
    """What all instances of a router share."""

    backend: InstanceBackend
    clock: Clock
    budgets: Budgets = field(default_factory=Budgets)
    pod_settings: PodSettings = field(default_factory=PodSettings)
