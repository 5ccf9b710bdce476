"""Image builds, content-addressed tags and registry pushes (docker SDK).

The reconciler's entry points: `ImagePipeline.ensure_image`, `target_repository`,
`config_map_files`, and `ImageError` (reason / message / retryable for `ImageReady`).
"""

from lunora_operator.images.config_map import config_map_files
from lunora_operator.images.errors import ImageError, Reason
from lunora_operator.images.metrics import ImageCounts
from lunora_operator.images.pipeline import (
    BuiltImage,
    CredentialsProvider,
    ImagePipeline,
    ImageSettings,
)
from lunora_operator.images.push import RegistryAuth
from lunora_operator.images.reference import (
    ForeignImage,
    container_registry,
    repository_name,
    resolve_image_name,
    target_repository,
)

__all__ = [
    "BuiltImage",
    "CredentialsProvider",
    "ForeignImage",
    "ImageCounts",
    "ImageError",
    "ImagePipeline",
    "ImageSettings",
    "Reason",
    "RegistryAuth",
    "config_map_files",
    "container_registry",
    "repository_name",
    "resolve_image_name",
    "target_repository",
]
