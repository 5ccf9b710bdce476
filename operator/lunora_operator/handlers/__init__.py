"""kopf wiring only: each handler hands its object to the `Controller` (memo.controller)."""

from lunora_operator.handlers import apps, containers, startup

__all__ = ["apps", "containers", "startup"]
