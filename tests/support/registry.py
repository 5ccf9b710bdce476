"""The test registry's address and credentials."""

from __future__ import annotations

from dataclasses import dataclass

from lunora_operator.images.push import RegistryAuth


@dataclass(frozen=True)
class TestRegistry:
    __test__ = False

    address: str
    auth: RegistryAuth

    def repository(self, name: str) -> str:
        return f"{self.address}/{name}"
