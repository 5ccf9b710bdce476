"""A LunoraContainer's status facts from one pass (typed; conditions come from the pass's draft).

What the config says comes from the app's render (class, binding, application name, the
migration that declared the class, the hash of its entry); what runs comes from the application
as Cloudflare has it (image, instances, id), so a held or reverted rollout shows the image that
still runs. What a pass did not learn keeps what the last pass said.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from lunora_operator.api.status import ImageStatus, InstancesStatus, LunoraContainerStatus
from lunora_operator.cloudflare import Application
from lunora_operator.reconcile.app_run import RenderedContainer
from lunora_operator.reconcile.container import ContainerRun
from lunora_operator.wrangler.application import application_spec
from lunora_operator.wrangler.worker_upload import declaring_tag


def entry_hash(rendered: RenderedContainer) -> str:
    """Hash of what the config says about this one container: its entry and its binding."""
    described = {"entry": rendered.entry, "binding": [rendered.names.binding_name, rendered.names.class_name]}
    return "sha256:" + hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


def _image(run: ContainerRun, live: Application, previous: LunoraContainerStatus) -> ImageStatus:
    """The image the application runs, with its digest when known (pushed by this pass, or
    recorded with the same reference before)."""
    if run.image is not None and run.image.reference == live.image:
        digest = run.image.digest
    elif previous.image is not None and previous.image.ref == live.image:
        digest = previous.image.digest
    else:
        digest = None
    return ImageStatus(ref=live.image, digest=digest)


def container_facts(
    run: ContainerRun, previous: LunoraContainerStatus, now: datetime
) -> LunoraContainerStatus:
    learnt: dict[str, Any] = {"mode": "cloudflare"}
    if run.names is not None:
        learnt.update(class_name=run.names.class_name, binding_name=run.names.binding_name)
    outcome = run.outcome
    if run.rendered is not None and outcome is not None and outcome.config is not None:
        desired = application_spec(run.rendered.entry, outcome.config, outcome.worker_name or "")
        learnt.update(
            application_name=desired.name,
            config_hash=entry_hash(run.rendered),
            migration_tag=declaring_tag(outcome.config, run.rendered.names.class_name),
        )
    live = run.application
    if live is not None:
        learnt.update(
            application_id=live.id,
            image=_image(run, live, previous),
            instances=InstancesStatus(max=live.max_instances, running=live.running_instances, selector=None),
        )
    if run.changed_application:
        learnt.update(last_sync_time=now.replace(microsecond=0))
    return previous.model_copy(update=learnt)
