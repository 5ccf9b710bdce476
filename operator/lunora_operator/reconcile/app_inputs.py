"""The inputs of an app's render read from Kubernetes: the base config, and the previous output
with its render record and its `containers[]` entries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lunora_operator.kube.gateway import ConfigMapData, Kube, ReferenceMissing
from lunora_operator.planner import STATE_FILE, RenderState
from lunora_operator.reconcile.app_run import AppRun
from lunora_operator.reconcile.errors import Stalled, Waiting
from lunora_operator.wrangler.document import FILE_NAMES, Format, open_document


async def read_inputs(run: AppRun, kube: Kube) -> None:
    namespace = run.record.namespace
    wrangler = run.app.spec.wrangler
    try:
        if wrangler.base is not None:
            base = await kube.config_map(namespace, wrangler.base.name)
            if base is None:
                raise ReferenceMissing("ConfigMap", namespace, wrangler.base.name)
            if wrangler.base.key not in base.data:
                raise ReferenceMissing("ConfigMap", namespace, wrangler.base.name, wrangler.base.key)
            run.base_text = base.data[wrangler.base.key]
        run.output = await kube.config_map(namespace, run.output_name)
    except ReferenceMissing as missing:
        raise Waiting("ConfigMapNotFound", f"base config: {missing}") from None
    recorded = run.output.data.get(STATE_FILE) if run.output else None
    if recorded is not None:
        try:
            run.previous_state = RenderState.from_json(recorded)
        except ValueError as error:
            raise Stalled(
                "InvalidRenderRecord",
                f"ConfigMap {run.output_name} key {STATE_FILE} is not a render record ({error}); delete the "
                "key and the operator rebuilds it from Cloudflare",
            ) from None
    run.previous_entries = previous_entries(run.output, wrangler.format)


def previous_entries(output: ConfigMapData | None, format: Format) -> dict[str, Mapping[str, Any]]:
    """Class name -> `containers[]` entry of the previous output ({} when there is none or it
    cannot be read: that only costs the fallbacks it feeds)."""
    key = FILE_NAMES[format]
    if output is None or key not in output.data:
        return {}
    try:
        containers = open_document(output.data[key], format).get(["containers"])
    except Exception:
        return {}
    return {
        str(entry["class_name"]): entry
        for entry in containers or []
        if isinstance(entry, Mapping) and "class_name" in entry
    }
