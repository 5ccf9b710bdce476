"""The pure render planner (`plan`) and the state record it reads and writes."""

from lunora_operator.planner.plan import Plan, PlanError, PlanInput, plan
from lunora_operator.planner.state import (
    STATE_FILE,
    OrphanedContainer,
    OwnedContainer,
    RenderState,
    StateRecordInvalid,
)
from lunora_operator.wrangler.migrations import DeployedMigrations

__all__ = [
    "STATE_FILE",
    "DeployedMigrations",
    "OrphanedContainer",
    "OwnedContainer",
    "Plan",
    "PlanError",
    "PlanInput",
    "RenderState",
    "StateRecordInvalid",
    "plan",
]
