"""Caller mistakes `ensure_image` rejects before touching the engine (which is unreachable here)."""

from __future__ import annotations

import pytest

from lunora_operator.api.container import ImageBuild
from lunora_operator.images import ImagePipeline, ImageSettings, RegistryAuth

NO_ENGINE = ImageSettings(docker_environment={"DOCKER_HOST": "tcp://127.0.0.1:1"})
BUILD = ImageBuild.model_validate({"context": {"configMap": {"name": "web"}}})


async def never() -> RegistryAuth:
    raise AssertionError("no credentials may be minted for a call that cannot succeed")


async def test_a_repository_that_is_not_a_reference_is_a_caller_error() -> None:
    with pytest.raises(ValueError, match=r'"Registry\.example/ACME" is not a repository reference'):
        await ImagePipeline(NO_ENGINE).ensure_image(
            BUILD, "Registry.example/ACME", never, config_map_files={}
        )


async def test_a_config_map_context_needs_its_files() -> None:
    with pytest.raises(ValueError, match="needs config_map_files"):
        await ImagePipeline(NO_ENGINE).ensure_image(BUILD, "registry.example/acme/web", never)
