"""Field types shared by both resources: references, names and durations."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import Field

from lunora_operator.api.base import ApiModel
from lunora_operator.api.rules import OK, Rule

DNS_SUBDOMAIN_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"

ObjectName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=253,
        pattern=DNS_SUBDOMAIN_PATTERN,
        description="Name of an object in the same namespace.",
    ),
]
ConfigMapKey = Annotated[
    str,
    Field(
        min_length=1,
        max_length=253,
        pattern=r"^[-._a-zA-Z0-9]+$",
        description="A key of the ConfigMap or Secret.",
    ),
]


class SecretKeySelector(ApiModel):
    """A key of a Secret in the same namespace. Secret values only ever arrive by reference."""

    name: ObjectName
    """Name of the Secret."""
    key: ConfigMapKey
    """Key within the Secret."""


class ConfigMapKeySelector(ApiModel):
    """A key of a ConfigMap in the same namespace."""

    name: ObjectName
    """Name of the ConfigMap."""
    key: ConfigMapKey
    """Key within the ConfigMap."""


# --- durations (`sleepAfter`, `hardTimeout`) ---------------------------------------------------

DURATION_STRING_PATTERN = "^[0-9]+[smh]$"
ZERO_DURATION_PATTERN = "^0+[smh]$"
_DURATION_RE = re.compile(DURATION_STRING_PATTERN)
_ZERO_DURATION_RE = re.compile(ZERO_DURATION_PATTERN)


def duration_rules(label: str) -> tuple[Rule, ...]:
    """Lunora's duration grammar: a positive integer of seconds, or digits plus one unit.

    Deliberate fix of a Lunora quirk: Lunora accepts "0s" although it rejects numeric 0;
    here a zero duration is rejected in both spellings.
    """

    def numeric(value: Any) -> tuple[Any, ...] | None:
        return OK if not isinstance(value, int) or value > 0 else (value,)

    def grammar(value: Any) -> tuple[Any, ...] | None:
        return OK if not isinstance(value, str) or _DURATION_RE.match(value) else (value,)

    def zero(value: Any) -> tuple[Any, ...] | None:
        return OK if not isinstance(value, str) or not _ZERO_DURATION_RE.match(value) else (value,)

    return (
        Rule(
            cel="type(self) != int || self > 0",
            message=f'`{label}` must be a positive integer number of seconds or a duration string like "5m" (got %s)',
            cel_args=("self",),
            check=numeric,
        ),
        Rule(
            cel=f"type(self) != string || self.matches('{DURATION_STRING_PATTERN}')",
            message=f'`{label}` must be a number followed by one unit s, m or h, like "30s", "5m" or "1h" (got "%s")',
            cel_args=("self",),
            check=grammar,
        ),
        Rule(
            cel=f"type(self) != string || !self.matches('{ZERO_DURATION_PATTERN}')",
            message=f'`{label}` must be a positive duration (got "%s")',
            cel_args=("self",),
            check=zero,
        ),
    )


def duration_schema(description: str) -> dict[str, Any]:
    return {"x-kubernetes-int-or-string": True, "maxLength": 32, "description": description}
