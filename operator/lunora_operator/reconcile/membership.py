"""Which containers an app's config holds: the facts are fetched first (`membership_facts`),
then `membership` decides over them alone (pure).

A container that exists is never rendered as removed: removal follows only deletion. One that
exists but cannot be rendered now (invalid, suspended, a name collision, its image not built
yet) keeps its last rendered entry; one that left Kubernetes under `deletionPolicy: Delete`
without its finalizer running is departed, and its application is deleted before its class.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from lunora_operator.api.naming import find_collisions
from lunora_operator.api.resources import LunoraApp, LunoraContainer
from lunora_operator.api.validation import ResourceInvalid
from lunora_operator.kube.gateway import Kube
from lunora_operator.planner import OwnedContainer, RenderState
from lunora_operator.reconcile.errors import Stalled, StepError, Waiting, invalid
from lunora_operator.reconcile.records import AppKey, ContainerRecord, Inventory

CONTAINERS_PLURAL = "lunoracontainers"


@dataclass(frozen=True)
class MembershipFacts:
    """Everything `membership` decides over, read before it runs."""

    records: Sequence[ContainerRecord]
    """The app's containers in the inventory, oldest first."""
    released: Collection[str]
    """Containers being deleted whose application is gone: they leave the config."""
    image_refs: Mapping[str, str]
    """Container name -> the image its last reconcile in this process resolved."""
    previous_images: Mapping[str, str]
    """Class name -> the image of its entry in the previous output."""
    owned: Sequence[OwnedContainer]
    """The containers the previous render owned."""
    unindexed_present: Collection[str]
    """Owned containers missing from the inventory that Kubernetes still has (not yet seen)."""


@dataclass(frozen=True)
class Membership:
    members: list[LunoraContainer]
    """The containers to render, oldest first."""
    images: dict[str, str]
    """Export name -> the image of each built member."""
    held: dict[str, StepError] = field(default_factory=dict)
    """Containers that exist but cannot be rendered now, with why."""
    keep: frozenset[str] = frozenset()
    """Previously owned containers whose entries are kept exactly as they were."""
    departed: list[OwnedContainer] = field(default_factory=list)
    """Containers that left without their `Delete` finalizer running."""


def _member_or_reason(
    record: ContainerRecord, app: LunoraApp, members: Sequence[LunoraContainer], facts: MembershipFacts
) -> tuple[LunoraContainer | None, str | None, StepError | None]:
    """(the container, its built image, None) to render; (None, None, why) when it is held;
    all None when it is suspended."""
    try:
        resource = record.resource()
    except ResourceInvalid as error:
        return None, None, invalid("LunoraContainer", record.name, error)
    if resource.spec.suspend:
        return None, None, None  # nothing changes while suspended: kept as last rendered, if it was
    names = resource.names_in(app)
    clashes = find_collisions([*(m.names_in(app) for m in members), names])
    if clashes:
        return None, None, Stalled("NameCollision", str(clashes[0]))
    if resource.spec.image.build is None:
        return resource, None, None
    # The image this process resolved, else the one last rendered, else the one that runs.
    image = (
        facts.image_refs.get(record.name)
        or facts.previous_images.get(names.class_name)
        or record.status_image_ref
    )
    if image is None:
        return None, None, Waiting("ImageNotReady", "waiting for the image to be built and pushed")
    return resource, image, None


def membership(app: LunoraApp, facts: MembershipFacts) -> Membership:
    members: list[LunoraContainer] = []
    images: dict[str, str] = {}
    held: dict[str, StepError] = {}
    leaving = {r.name for r in facts.records if r.deleting and r.name in facts.released}
    for record in facts.records:
        if record.name in leaving:
            continue
        member, image, reason = _member_or_reason(record, app, members, facts)
        if reason is not None:
            held[record.name] = reason
        if member is None:
            continue
        members.append(member)
        if image is not None:
            images[member.names_in(app).export_name] = image
    rendered = {m.metadata.name for m in members}
    present = {r.name for r in facts.records} - leaving
    keep: set[str] = set()
    departed: list[OwnedContainer] = []
    for owned in facts.owned:
        if owned.resource in rendered:
            continue
        if owned.resource in present or owned.resource in facts.unindexed_present:
            keep.add(owned.resource)
        elif owned.deletion_policy == "Delete" and owned.resource not in facts.released:
            departed.append(owned)
    return Membership(members, images, held, frozenset(keep), departed)


async def membership_facts(
    key: AppKey,
    inventory: Inventory,
    kube: Kube,
    previous_state: RenderState | None,
    previous_images: Mapping[str, str],
    image_refs: Mapping[str, str],
    released: Collection[str],
) -> MembershipFacts:
    """Reads what `membership` needs: the inventory, and for each owned container the inventory
    has not seen, whether Kubernetes still has it (read past the watch cache)."""
    records = sorted(inventory.containers(key), key=lambda c: (c.created, c.name))
    indexed = {r.name for r in records}
    owned = list(previous_state.containers) if previous_state else []
    unindexed = [o.resource for o in owned if o.resource not in indexed]
    present = {name for name in unindexed if await kube.exists(CONTAINERS_PLURAL, key[0], name)}
    return MembershipFacts(
        records=records,
        released=frozenset(released),
        image_refs=dict(image_refs),
        previous_images=dict(previous_images),
        owned=owned,
        unindexed_present=frozenset(present),
    )
