"""A local-mode LunoraContainer's status facts from one pass: the image its instances run (the
router reads `image.ref` for built images), its instance Pods by state, its class and binding
names, its instances' egress decisions. Nothing of Cloudflare mode is carried over; what a pass
did not learn keeps what the last local pass said."""

from __future__ import annotations

from lunora_operator.api.status import ImageStatus, LunoraContainerStatus
from lunora_operator.reconcile.container import ContainerRun


def local_container_facts(run: ContainerRun, previous: LunoraContainerStatus) -> LunoraContainerStatus:
    carried = previous if previous.mode == "local" else LunoraContainerStatus()
    image = carried.image
    if run.image is not None:
        image = ImageStatus(ref=run.image.reference, digest=run.image.digest)
    class_name, binding_name = carried.class_name, carried.binding_name
    if run.names is not None:
        class_name, binding_name = run.names.class_name, run.names.binding_name
    return LunoraContainerStatus(
        mode="local",
        class_name=class_name,
        binding_name=binding_name,
        image=image,
        instances=run.instances or carried.instances,
        egress=run.egress or carried.egress,
    )
