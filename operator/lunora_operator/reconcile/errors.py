"""What a reconcile step raises when it cannot finish, and what happens next.

- `Stalled`: the input is wrong (spec, base config, credentials refused); nothing changes until a
  person does. `Stalled=True`, no retry loop.
- `Waiting`: a dependency is not there yet (a Secret, the app, a `wrangler deploy`); it appears by
  itself. `Ready=False`, `Reconciling=True`, checked again after `retry_after`.
- `Transient`: an API fault (429, 5xx, timeouts, the registry or Docker engine away). Same as
  `Waiting`, with the backoff the fault asks for.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from lunora_operator.kube.gateway import KubeRefused

StepErrorKind = Literal["stalled", "waiting", "transient"]
DEFAULT_RETRY_SECONDS = 15.0


class StepError(Exception):
    kind: ClassVar[StepErrorKind]

    def __init__(self, reason: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.retry_after = retry_after

    @property
    def delay(self) -> float:
        return self.retry_after if self.retry_after is not None else DEFAULT_RETRY_SECONDS


class Stalled(StepError):
    kind = "stalled"


class Waiting(StepError):
    kind = "waiting"


class Transient(StepError):
    kind = "transient"


def kube_step_error(error: Exception) -> StepError:
    """The Kubernetes edge's errors: refused (RBAC, invalid) stalls, no answer retries."""
    if isinstance(error, KubeRefused):
        return Stalled("KubernetesRefused", str(error))
    return Transient("KubernetesUnavailable", str(error))
