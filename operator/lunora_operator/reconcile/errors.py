"""What a reconcile step raises when it cannot finish, and what happens next.

- `Stalled`: the input is wrong (spec, base config, credentials refused); a person must change
  it. `Stalled=True`; looked at again every 2 minutes (what stalls it may be in a ConfigMap or
  Secret the operator does not watch) and at once on a spec change.
- `Held`: everything is in order, but the change waits for a person to carry it out (a rollout
  held by rollout_kind "none"). `Ready=False` with neither `Reconciling` nor `Stalled`, so
  kstatus reads it as in progress, like a paused Deployment; looked at again like a stalled one.
- `Waiting`: a dependency is not there yet (a Secret, the app, a `wrangler deploy`); it appears by
  itself. `Ready=False`, `Reconciling=True`, checked again after `retry_after`.
- `Transient`: an API fault (429, 5xx, timeouts, the registry or Docker engine away). Same as
  `Waiting`, with the backoff the fault asks for.

Steps raise these for what they decide; the faults of the edges (Cloudflare, Kubernetes, the
image pipeline) are turned into them in one place, the step runner (`steps.py`).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from lunora_operator.api.validation import ResourceInvalid

StepErrorKind = Literal["stalled", "held", "waiting", "transient"]
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


class Held(StepError):
    kind = "held"


class Waiting(StepError):
    kind = "waiting"


class Transient(StepError):
    kind = "transient"


def invalid(kind: str, name: str, error: ResourceInvalid) -> Stalled:
    """An invalid resource stalls, listing every field error."""
    listed = "; ".join(str(e) for e in error.errors)
    return Stalled("InvalidSpec", f'{kind} "{name}" is invalid: {listed}')
