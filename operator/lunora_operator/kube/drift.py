"""Whether an object as the API server holds it still says what the operator wrote, and the merge
patch that makes it say so again (compare-then-patch: an object that holds everything desired
gets no request at all).

The server adds to what it is given (defaults, status, fields other controllers set), so
"holds" means: every field the operator sets is there with the same value; lists must match
item by item, each item holding the desired one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

IDENTITY = ("apiVersion", "kind")
NAMING = ("name", "namespace")


def holds(desired: Any, observed: Any) -> bool:
    if isinstance(desired, Mapping):
        return isinstance(observed, Mapping) and all(
            key in observed and holds(value, observed[key]) for key, value in desired.items()
        )
    if isinstance(desired, list):
        return (
            isinstance(observed, list)
            and len(desired) == len(observed)
            and all(holds(d, o) for d, o in zip(desired, observed, strict=True))
        )
    return bool(desired == observed)


def drift_patch(desired: Mapping[str, Any], observed: Mapping[str, Any]) -> dict[str, Any]:
    """An RFC 7386 merge patch carrying, whole, each top-level section (and each metadata field)
    the observed object does not hold; {} when it holds them all. Lists in a section are sent
    whole, so the server drops what was there and defaults the rest again."""
    patch: dict[str, Any] = {}
    observed_meta = observed.get("metadata") or {}
    for key, value in desired.items():
        if key in IDENTITY:
            continue
        if key == "metadata":
            meta = {
                field: wanted
                for field, wanted in value.items()
                if field not in NAMING and not holds(wanted, observed_meta.get(field))
            }
            if meta:
                patch["metadata"] = meta
        elif not holds(value, observed.get(key)):
            patch[key] = value
    return patch


def owned_by(observed: Mapping[str, Any], kind: str, name: str) -> bool:
    """Whether an object names `kind`/`name` as an owner (of any uid: one created again under the
    same name takes over what its predecessor left)."""
    owners = (observed.get("metadata") or {}).get("ownerReferences") or []
    return any(o.get("kind") == kind and o.get("name") == name for o in owners)
