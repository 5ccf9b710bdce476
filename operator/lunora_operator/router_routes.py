"""The local-mode router's own HTTP API, as one table both sides read: the router
(`lunora_operator.local.lifecycle_api`) serves these routes and the Python client
(`lunora_operator.client.router`) sends them, so the two cannot drift apart.

    <base>/_api/containers/<container>/instances/<instance>/<action>

Each Durable Object method an instance handle forwards maps to one HTTP method and action.
"""

from __future__ import annotations

from urllib.parse import quote

API_PREFIX = "_api"

# Durable Object method -> (HTTP method, action segment).
LIFECYCLE_ROUTES: dict[str, tuple[str, str]] = {
    "start": ("POST", "start"),
    "stop": ("POST", "stop"),
    "destroy": ("POST", "destroy"),
    "renewActivityTimeout": ("POST", "renew"),
    "getState": ("GET", "state"),
}
EGRESS_ROUTES: dict[str, tuple[str, str]] = {
    method: ("POST", method)
    for method in (
        "allowHost",
        "denyHost",
        "removeAllowedHost",
        "removeDeniedHost",
        "setAllowedHosts",
        "setDeniedHosts",
    )
}
# Exec: body {args, command, cwd?, env?, timeoutMs?}; 200 {code, stdout, stderr}, 413 over the
# output budget, 504 on timeout, 400 for a bad body.
EXEC_ROUTE = ("POST", "exec")
# A container's egress decision counts (what its LunoraContainer's status.egress shows):
# GET <base>/_api/containers/<container>/egress.
EGRESS_STATUS_ROUTE = ("GET", "egress")


def container_egress_path(container: str) -> str:
    return f"/{API_PREFIX}/containers/{quote(container, safe='')}/{EGRESS_STATUS_ROUTE[1]}"


# The key each one-argument method's argument travels under in the JSON body.
ARGUMENT_KEYS: dict[str, str] = {
    "stop": "signal",
    "allowHost": "hostname",
    "denyHost": "hostname",
    "removeAllowedHost": "hostname",
    "removeDeniedHost": "hostname",
    "setAllowedHosts": "hosts",
    "setDeniedHosts": "hosts",
}

# How the router's 404 for a route it does not serve begins (an unknown container says otherwise);
# that 404, a 405 or a 501 means "this router does not expose the method".
NOT_SERVED = "no such endpoint"
NOT_EXPOSED_STATUSES = (405, 501)
