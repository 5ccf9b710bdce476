"""The statuses and texts a caller gets while no instance can serve, and the platform's timings.

Each is the platform's own: Cloudflare's `Container` Durable Object class (`@cloudflare/containers`),
the container runtime under it, or Lunora's `LunoraContainer` class on top. Callers such as
Lunora's client match on these words (its cold-start retry looks for `no Container instance
available` and a leading `Failed to start container:`), so they must not be reworded.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Answer:
    """A response the router makes itself: status and plain-text body."""

    status: int
    text: str


NO_INSTANCE = Answer(
    503,
    "There is no Container instance available at this time.\n"
    "This is likely because you have reached your max concurrent instance count (set in wrangler config)"
    " or are you currently provisioning the Container.\n"
    "If you are deploying your Container for the first time, check your dashboard to see provisioning"
    " status, this may take a few minutes.",
)
"""Cloudflare's `containerFetch` answers 503 with these three lines when the start loop found no
instance within its budget: the application is at its instance cap, or still provisioning."""

START_FAILED_STATUS = 500
START_FAILED_PREFIX = "Failed to start container: "
"""Cloudflare's `containerFetch` answers 500 with this prefix and the start error's message when a
start fails for any reason other than a missing instance or a rate limit."""

EXITED_WITH_CODE = "Container exited with unexpected exit code: {code}"
"""The container runtime's message when an instance's process exits while it is being started;
Cloudflare's local runtime answers `Failed to start container: ` followed by it."""

NOT_LISTENING = "Container is not listening to port {port}"
"""The container runtime's message when a request goes to a port no process of a running instance
listens on; it follows `Error proxying request to container: `, or `Failed to start container: `
when the port never listened within the start budget."""

PROXY_FAILED_STATUS = 500
PROXY_FAILED_PREFIX = "Error proxying request to container: "
"""Cloudflare's `containerFetch` answers 500 with this prefix and the error when proxying a
request to a started instance fails."""

DISCONNECTED = Answer(500, "Container suddenly disconnected, try again")
"""Cloudflare's `containerFetch` answers 500 with this text when the connection to the instance is
lost mid-request (the instance may have just restarted)."""

NO_PORT = Answer(
    500,
    "No port configured for this container. Set the `defaultPort` in your Container subclass, or"
    " specify a port with `container.fetch(switchPort(request, port))`.",
)
"""Cloudflare's `Container.fetch` throws this when neither `defaultPort` nor the
`cf-container-target-port` header names a port; a thrown error reaches the caller as a 500."""

PORT_NOT_A_NUMBER = Answer(500, "port value from switchPort is not a number")
"""Cloudflare's `Container.fetch` throws this when the `cf-container-target-port` header is not a
number; a thrown error reaches the caller as a 500."""

RESERVED_PATH = Answer(
    403,
    "`/__lunora/*` is reserved for Lunora's own container routes and cannot be reached with `fetch`."
    " Use `exec` to run a command.",
)
"""Lunora's container Durable Object answers 403 for any path that touches `/__lunora/`, however
it is spelled and whatever headers come with it; the words are those of Lunora's client, which
refuses the same paths before sending them."""

READINESS_FAILED = (
    'container "{name}": readiness check "{path}" (port {port}) did not return {status} within {budget_ms}ms'
)
"""Lunora's `readyOn` gate fails the start with this message when a probe has not answered its
status within the budget; the request then gets `Failed to start container: ` followed by it."""

SECRET_NOT_SET = (
    'container "{name}": declared secret "{env}" is not set: {reason}. Create it, or fix'
    " `secrets[].valueFrom.secretKeyRef` of LunoraContainer {container}"
)
"""Lunora refuses to start an instance whose declared secret is missing (`declared secret "NAME"
is not set`): it fails closed rather than start without the credential. Here the reason names
the Secret and key; the request gets `Failed to start container: ` followed by it."""

CONFLICT_CODE = "CONFLICT"
START_CONFLICT = (
    'container "{name}": instance "{instance}" is {state} with different start options; stop() it'
    " before starting it with other envVars, entrypoint or labels"
)
"""Lunora rejects a `start()` whose options differ from those the instance is running or starting
with, with its CONFLICT error; repeating the same options is fine."""

# --- timings ----------------------------------------------------------------------------------

INSTANCE_POLL_INTERVAL = 0.3
"""Cloudflare's start loop and port checks poll every 300 ms."""
INSTANCE_GET_TIMEOUT = 8.0
"""Cloudflare's start loop gives up finding an instance after 8 s (the 503 above)."""
PORT_READY_TIMEOUT = 20.0
"""Cloudflare waits up to 20 s from the start for the instance's ports to listen."""
PING_TIMEOUT = 5.0
"""Cloudflare bounds each port check at 5 s."""
READINESS_POLL_INTERVAL = 0.5
"""Lunora polls `readyOn` probes every 500 ms."""
READINESS_TIMEOUT = 30.0
"""Lunora gives all `readyOn` probes of one start 30 s together."""
DEFAULT_SLEEP_AFTER = 600
"""Cloudflare stops an instance after 10 minutes without activity unless `sleepAfter` says otherwise."""
DEFAULT_MAX_INSTANCES = 20
"""wrangler's `max_instances` when a container sets none."""
DEFAULT_POOL_SIZE = 3
"""Lunora's `.any()` / `.pool()` pick among `maxInstances` instances, or 3 without it."""
DEFAULT_PING_ENDPOINT = "ping"
"""Cloudflare's port check asks `http://ping` unless `pingEndpoint` names another host/path."""
