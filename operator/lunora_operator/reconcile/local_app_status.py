"""A local-mode LunoraApp's status facts from one run (typed; conditions come from the run's
draft): the mode and its router. Nothing of Cloudflare mode is carried over."""

from __future__ import annotations

from lunora_operator.api.status import LunoraAppStatus
from lunora_operator.reconcile.app_run import AppOutcome


def local_app_facts(outcome: AppOutcome, previous: LunoraAppStatus) -> LunoraAppStatus:
    """`previous` gives nothing: what the run learnt is the whole of it (the conditions and the
    generation are merged in by `next_status`)."""
    return LunoraAppStatus(mode="local", router=outcome.router)


def local_app_ready_message(outcome: AppOutcome) -> str:
    if outcome.router is None or outcome.router.url is None:
        return "local mode; the router runs outside the cluster"
    return f"local mode; router {outcome.router.name} at {outcome.router.url}"
