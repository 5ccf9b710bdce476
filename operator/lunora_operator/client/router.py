"""The HTTP mapping onto the local-mode router (or any gateway serving the same routes).

Every route the client uses is written here and only here:

- `<base>/<container>/<instance><path>?<query>`: the request proxied to the instance, any method,
  headers and body as given (the port header `cf-container-target-port` selects the port).
- `<base>/_api/containers/<container>/instances/<instance>/<action>`: the router's lifecycle API.
  `POST start` (body: the options object `{envVars?, entrypoint?, labels?, enableInternet?}`),
  `POST stop` (`{signal?}`), `POST destroy`, `POST renew` (renewActivityTimeout), `GET state`
  (getState: the state object). Egress and exec, not served by the router yet, follow the same
  shape: `POST allowHost` / `denyHost` / `removeAllowedHost` / `removeDeniedHost` (`{hostname}`),
  `POST setAllowedHosts` / `setDeniedHosts` (`{hosts}`), and `POST exec` (body
  `{args, command, cwd?, env?, timeoutMs?}`, reply `200 {code, stdout, stderr}`, 413 over budget,
  504 on timeout, 400 for a bad body; the port header honoured).
- Errors are JSON `{code, message}` (or `{"error": {code, message}}`) with Lunora's codes. A route
  the router does not serve (404 "no such endpoint ...", 405, 501) means the method is not exposed.

The lifecycle API is apart from `/<container>/<instance>/`, whose `/__lunora/` paths the router
refuses with 403 as Lunora does; a container name never starts with `_`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from urllib.parse import quote

import httpx

from lunora_operator.api.naming import binding_name
from lunora_operator.client.body import read_capped
from lunora_operator.client.errors import LifecycleNotExposed, LunoraError
from lunora_operator.client.transport import InstanceTarget, LifecycleMethod
from lunora_operator.client.wire import JsonValue

API_PREFIX = "_api"
EXEC_ACTION = "exec"
# Each method: the HTTP method and the action segment the router serves it under.
LIFECYCLE_ROUTES: dict[str, tuple[str, str]] = {
    "start": ("POST", "start"),
    "stop": ("POST", "stop"),
    "destroy": ("POST", "destroy"),
    "renewActivityTimeout": ("POST", "renew"),
    "getState": ("GET", "state"),
    "allowHost": ("POST", "allowHost"),
    "denyHost": ("POST", "denyHost"),
    "removeAllowedHost": ("POST", "removeAllowedHost"),
    "removeDeniedHost": ("POST", "removeDeniedHost"),
    "setAllowedHosts": ("POST", "setAllowedHosts"),
    "setDeniedHosts": ("POST", "setDeniedHosts"),
}
# The key each one-argument method's argument travels under.
ARGUMENT_KEYS: dict[str, str] = {
    "stop": "signal",
    "allowHost": "hostname",
    "denyHost": "hostname",
    "removeAllowedHost": "hostname",
    "removeDeniedHost": "hostname",
    "setAllowedHosts": "hosts",
    "setDeniedHosts": "hosts",
}
ERROR_BODY_LIMIT = 512
# How the router's 404 for a route it does not serve begins (an unknown instance says otherwise).
NOT_SERVED = "no such endpoint"
# Container calls hold while an instance starts; only connecting is bounded.
DEFAULT_TIMEOUT = httpx.Timeout(None, connect=10.0)
# Per-connection headers that must not be copied onto the router request (the body's own framing,
# content-length or transfer-encoding, travels with the body).
_NOT_FORWARDED = {"host", "connection", "keep-alive", "te", "upgrade"}


def _segment(name: str) -> str:
    return quote(name, safe="")


class RouterTransport:
    """The client's backend over HTTP: the local-mode router, or a gateway serving the same routes.

    `headers` are added to every request (for example a gateway's own credential, which the gateway
    removes before the request reaches the instance).
    """

    def __init__(
        self,
        base_url: str,
        *,
        client: httpx.AsyncClient | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if not isinstance(base_url, str) or not base_url.strip():
            raise TypeError(
                "Containers: `base_url` must be a non-empty router URL such as http://127.0.0.1:8080"
            )
        self.base_url = base_url.rstrip("/")
        self._client = client or httpx.AsyncClient(timeout=DEFAULT_TIMEOUT)
        self._owns_client = client is None
        self._headers = dict(headers or {})

    def instance_url(self, target: InstanceTarget, raw_path: bytes) -> str:
        return f"{self.base_url}/{_segment(target.container)}/{_segment(target.instance)}{raw_path.decode('ascii')}"

    def lifecycle_url(self, target: InstanceTarget, action: str) -> str:
        return (
            f"{self.base_url}/{API_PREFIX}/containers/{_segment(target.container)}"
            f"/instances/{_segment(target.instance)}/{action}"
        )

    def _forward(self, request: httpx.Request, url: str) -> httpx.Request:
        headers = httpx.Headers(
            [(k, v) for k, v in request.headers.multi_items() if k.lower() not in _NOT_FORWARDED]
        )
        headers.update(self._headers)
        headers["host"] = httpx.URL(url).netloc.decode("ascii")
        return httpx.Request(
            request.method, url, headers=headers, stream=request.stream, extensions=request.extensions
        )

    async def fetch(self, target: InstanceTarget, request: httpx.Request) -> httpx.Response:
        url = self.instance_url(target, request.url.raw_path)
        return await self._client.send(self._forward(request, url), stream=True)

    async def exec(self, target: InstanceTarget, request: httpx.Request) -> httpx.Response:
        url = self.lifecycle_url(target, EXEC_ACTION)
        return await self._client.send(self._forward(request, url), stream=True)

    async def call(self, target: InstanceTarget, method: LifecycleMethod, argument: JsonValue) -> JsonValue:
        http_method, action = LIFECYCLE_ROUTES[method]
        if method in ARGUMENT_KEYS:
            body: JsonValue = {} if argument is None else {ARGUMENT_KEYS[method]: argument}
        else:
            body = {} if argument is None else argument
        response = await self._client.request(
            http_method,
            self.lifecycle_url(target, action),
            content=None if http_method == "GET" else json.dumps(body, separators=(",", ":")),
            headers={"content-type": "application/json", **self._headers},
        )
        if response.is_success:
            if response.status_code == 204 or not response.content:
                return None
            return json.loads(response.content)  # type: ignore[no-any-return]
        envelope = _error_envelope(response)
        if response.status_code in (405, 501) or (
            response.status_code == 404 and (envelope is None or envelope[1].startswith(NOT_SERVED))
        ):
            raise LifecycleNotExposed(binding_name(target.container), method)
        if envelope is not None:
            raise LunoraError(*envelope)
        quoted = (await read_capped(response, ERROR_BODY_LIMIT)).text
        raise LunoraError(
            "INTERNAL",
            f"ctx.containers.{target.container}: {method}() failed — the router answered "
            f"{response.status_code}. Body: {quoted}",
        )

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()


def _error_envelope(response: httpx.Response) -> tuple[str, str] | None:
    """`{code, message}` or `{"error": {code, message}}` from an error answer; None for anything else."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]
    if isinstance(body, dict) and isinstance(body.get("code"), str) and isinstance(body.get("message"), str):
        return body["code"], body["message"]
    return None
