"""Counters of the image pipeline's side effects, exported with the operator's metrics.

`ImageCounts.read()` takes a snapshot; subtracting two snapshots is how tests and benchmarks
show that an unchanged resync built and pushed nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import REGISTRY, Counter

BUILDS = Counter("lunora_image_builds", "Image builds started, by outcome", ["outcome"])
PUSHES = Counter("lunora_image_pushes", "Image pushes started, by outcome", ["outcome"])
LOOKUPS = Counter("lunora_image_registry_lookups", "Registry lookups of a content tag, by result", ["result"])
GIT_EXPORTS = Counter("lunora_image_git_exports", "Git contexts fetched and exported")

SUCCEEDED, FAILED = "succeeded", "failed"
FOUND, MISSING, REFUSED = "found", "missing", "refused"
LOOKUP_RESULTS = (FOUND, MISSING, REFUSED, FAILED)


def _total(name: str, labels: dict[str, str] | None = None) -> int:
    return int(REGISTRY.get_sample_value(f"{name}_total", labels or {}) or 0)


@dataclass(frozen=True)
class ImageCounts:
    builds: int
    pushes: int
    lookups: int
    git_exports: int

    @classmethod
    def read(cls) -> ImageCounts:
        return cls(
            builds=sum(_total("lunora_image_builds", {"outcome": o}) for o in (SUCCEEDED, FAILED)),
            pushes=sum(_total("lunora_image_pushes", {"outcome": o}) for o in (SUCCEEDED, FAILED)),
            lookups=sum(_total("lunora_image_registry_lookups", {"result": r}) for r in LOOKUP_RESULTS),
            git_exports=_total("lunora_image_git_exports"),
        )

    def __sub__(self, earlier: ImageCounts) -> ImageCounts:
        return ImageCounts(
            builds=self.builds - earlier.builds,
            pushes=self.pushes - earlier.pushes,
            lookups=self.lookups - earlier.lookups,
            git_exports=self.git_exports - earlier.git_exports,
        )
