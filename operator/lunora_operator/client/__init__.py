"""Call containers the way a Lunora Worker does with `ctx.containers`, from Python.

`Containers(base_url)` reaches them through the local-mode router; `ContainerTestDouble(handlers)`
plays them in unit tests; `ContainerBridge` calls the app back from inside a container;
`SyncContainers` is the blocking form. See docs/client.md.
"""

from lunora_operator.client.bridge import BridgeRequestFailed, ContainerBridge, FunctionReference
from lunora_operator.client.clock import Clock, SystemClock
from lunora_operator.client.containers import Containers
from lunora_operator.client.double import ContainerTestDouble, DoubleTransport, Instance, LifecycleCall
from lunora_operator.client.errors import ContainerBridgeError, LifecycleNotExposed, LunoraError
from lunora_operator.client.exec import ExecResult
from lunora_operator.client.handles import (
    ContainerAccessor,
    ContainerHandle,
    EgressControls,
    InstanceHandle,
    PoolHandle,
)
from lunora_operator.client.router import RouterTransport
from lunora_operator.client.sync import SyncContainers
from lunora_operator.client.transport import InstanceTarget, Transport

__all__ = [
    "BridgeRequestFailed",
    "Clock",
    "ContainerAccessor",
    "ContainerBridge",
    "ContainerBridgeError",
    "ContainerHandle",
    "ContainerTestDouble",
    "Containers",
    "DoubleTransport",
    "EgressControls",
    "ExecResult",
    "FunctionReference",
    "Instance",
    "InstanceHandle",
    "InstanceTarget",
    "LifecycleCall",
    "LifecycleNotExposed",
    "LunoraError",
    "PoolHandle",
    "RouterTransport",
    "SyncContainers",
    "SystemClock",
    "Transport",
]
