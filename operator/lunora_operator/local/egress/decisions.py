"""Every egress decision: logged per instance (host, rule, verdict), counted for Prometheus, and
summed per instance for the container's status."""

from __future__ import annotations

import logging
from collections import Counter as Tally
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from prometheus_client import Counter

from lunora_operator.api.status import RECENTLY_DENIED
from lunora_operator.local.egress.instances import Instance
from lunora_operator.local.egress.rules import Decision

logger = logging.getLogger("lunora_operator.egress")

DECISIONS = Counter(
    "lunora_egress_decisions",
    "Egress requests decided by the proxy, by container, verdict, deciding rule and channel",
    ["namespace", "container", "verdict", "rule", "channel"],
)
REFUSED_CLIENTS = Counter(
    "lunora_egress_unknown_clients", "Connections refused because no instance Pod holds the client's address"
)
RECENT_DENIED = RECENTLY_DENIED


class Channel(StrEnum):
    HTTP = "http"
    HTTPS_INTERCEPTED = "https-intercepted"
    HTTPS_TUNNEL = "https-tunnel"


@dataclass
class InstanceSummary:
    uid: str
    pod: str
    container: str
    allowed: int = 0
    denied: int = 0
    by_rule: Tally[str] = field(default_factory=Tally)
    recent_denied: deque[str] = field(default_factory=lambda: deque(maxlen=RECENT_DENIED))

    def to_json(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "pod": self.pod,
            "container": self.container,
            "allowed": self.allowed,
            "denied": self.denied,
            "byRule": dict(sorted(self.by_rule.items())),
            "recentDenied": list(self.recent_denied),
        }


class DecisionRecorder:
    def __init__(self) -> None:
        self._summaries: dict[str, InstanceSummary] = {}

    def record(self, instance: Instance, host: str, channel: Channel, decision: Decision) -> None:
        logger.info(
            "egress %s %s host=%s rule=%s channel=%s instance=%s uid=%s",
            decision.verdict,
            instance.container or "-",
            host,
            decision.rule.value,
            channel.value,
            instance.label,
            instance.uid,
            extra={
                "egress": {
                    "instance": instance.label,
                    "uid": instance.uid,
                    "container": instance.container,
                    "host": host,
                    "rule": decision.rule.value,
                    "verdict": decision.verdict,
                    "channel": channel.value,
                }
            },
        )
        DECISIONS.labels(
            instance.namespace, instance.container, decision.verdict, decision.rule.value, channel.value
        ).inc()
        summary = self._summaries.get(instance.uid)
        if summary is None:
            summary = self._summaries[instance.uid] = InstanceSummary(
                instance.uid, instance.label, instance.container
            )
        summary.by_rule[f"{decision.verdict}:{decision.rule.value}"] += 1
        if decision.allowed:
            summary.allowed += 1
        else:
            summary.denied += 1
            if host in summary.recent_denied:
                summary.recent_denied.remove(host)
            summary.recent_denied.append(host)

    def summary(self, uid: str) -> InstanceSummary | None:
        return self._summaries.get(uid)

    def summaries(self) -> list[InstanceSummary]:
        return list(self._summaries.values())

    def forget(self, uid: str) -> None:
        """Drops the summary of an instance that is gone."""
        self._summaries.pop(uid, None)


def container_egress_status(summaries: Iterable[InstanceSummary], container: str) -> dict[str, Any]:
    """What a LunoraContainer's status can say about its instances' egress: totals over its
    running instances and the hosts they were last refused."""
    mine = [s for s in summaries if s.container == container]
    recent: list[str] = []
    for summary in mine:
        recent.extend(h for h in summary.recent_denied if h not in recent)
    return {
        "allowed": sum(s.allowed for s in mine),
        "denied": sum(s.denied for s in mine),
        "instances": len(mine),
        "recentlyDenied": recent[-RECENT_DENIED:],
    }
