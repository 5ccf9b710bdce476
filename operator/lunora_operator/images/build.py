"""Building an image with the engine's classic builder and reading its progress stream.

Like pushes, `APIClient.build(..., decode=True)` reports a failing step inside the stream (an
`error` / `errorDetail` item after the `Step N/M : …` line) rather than raising; a success
carries the image id in an `aux.ID` item.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from docker.errors import APIError

from lunora_operator.images.errors import ImageError, Reason

STEP_PREFIX = "Step "


class BuildingClient(Protocol):
    def build(self, **kwargs: Any) -> Iterable[Mapping[str, Any]]: ...


def _error_text(item: Mapping[str, Any]) -> str:
    detail = item.get("errorDetail")
    message = detail.get("message") if isinstance(detail, Mapping) else None
    return str(message or item.get("error") or "unknown error")


def read_build_stream(
    reference: str, items: Iterable[Mapping[str, Any]], progress: Callable[[str], None]
) -> str:
    """Consumes a decoded build stream, passing each output line to `progress`; returns the
    image id or raises BuildFailed naming the step that failed.

    A failing `FROM` step is retryable (the base image could not be fetched); any other
    failing step is not: the same Dockerfile and context fail the same way again."""
    step: str | None = None
    pending = ""
    image_id: str | None = None
    for item in items:
        if "error" in item or "errorDetail" in item:
            if pending.strip():
                progress(pending.rstrip())
            where = f' at "{step}"' if step else ""
            raise ImageError(
                Reason.BUILD_FAILED,
                f"building {reference} failed{where}: {_error_text(item)}",
                retryable=step is not None and step.split(" : ", 1)[-1].upper().startswith("FROM "),
            )
        text = item.get("stream")
        if isinstance(text, str):
            *lines, pending = (pending + text).split("\n")
            for line in lines:
                if line.startswith(STEP_PREFIX):
                    step = line.strip()
                if line.strip():
                    progress(line.rstrip())
        aux = item.get("aux")
        if isinstance(aux, Mapping) and aux.get("ID"):
            image_id = str(aux["ID"])
    if pending.strip():
        progress(pending.rstrip())
    if image_id is None:
        raise ImageError(
            Reason.BUILD_FAILED,
            f"building {reference}: the engine's stream ended without an image id",
            retryable=True,
        )
    return image_id


def build_image(
    api: BuildingClient,
    directory: Path,
    dockerfile: str,
    reference: str,
    build_args: Mapping[str, str],
    platform: str | None,
    progress: Callable[[str], None],
) -> str:
    """Builds `directory` with the classic builder, tagged `reference`; returns the image id."""
    try:
        items = api.build(
            path=str(directory),
            dockerfile=dockerfile,
            tag=reference,
            buildargs=dict(build_args),
            platform=platform,
            rm=True,
            forcerm=True,
            pull=False,
            decode=True,
            # Proxies from ~/.docker/config.json would become build args the tag does not cover.
            use_config_proxy=False,
        )
        return read_build_stream(reference, items, progress)
    except APIError as error:
        # The engine refuses some Dockerfiles before streaming (e.g. 400 "dockerfile parse error").
        raise ImageError(
            Reason.BUILD_FAILED,
            f"building {reference} failed: {error.explanation or error}",
            retryable=error.is_server_error(),
        ) from None
