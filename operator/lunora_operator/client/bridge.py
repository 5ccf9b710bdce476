"""The bridge, container -> app: call the app's Lunora functions over `POST <base>/_lunora/rpc`.

The same contract as `@lunora/container/bridge`: a bearer token when one is given, arguments and
results through the wire codec, an error envelope raised as `ContainerBridgeError`. No retries and
no timeouts, as Lunora's bridge has none.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from lunora_operator.client.errors import ContainerBridgeError, LunoraError
from lunora_operator.client.wire import decode, encode

RPC_PATH = "/_lunora/rpc"


class BridgeRequestFailed(Exception):
    """The app answered a non-2xx status without an error envelope."""

    def __init__(self, function_path: str, response: httpx.Response) -> None:
        reason = f" {response.reason_phrase}" if response.reason_phrase else ""
        super().__init__(
            f'ContainerBridge: request to "{function_path}" failed (status {response.status_code}{reason})'
        )
        self.status_code = response.status_code


@dataclass(frozen=True)
class FunctionReference:
    """A generated function reference: `ref` is its `__lunoraRef` (`"messages:list"`)."""

    ref: str


class ContainerBridge:
    """`ContainerBridge(os.environ["LUNORA_URL"], token=os.environ["LUNORA_TOKEN"])`."""

    def __init__(
        self, base_url: str, token: str | None = None, *, client: httpx.AsyncClient | None = None
    ) -> None:
        if not isinstance(base_url, str) or not base_url:
            raise TypeError(
                "ContainerBridge: `base_url` must be a non-empty Worker URL (e.g. https://my-app.workers.dev) "
                "— is the URL env var set?"
            )
        if token is not None and (not isinstance(token, str) or not token):
            # An unset env var read as "" would send a bare `Bearer`; HTTP/1.1 clients refuse it anyway.
            raise TypeError(
                "ContainerBridge: `token` is empty — is the token env var set? Pass None for no token"
            )
        self.url = base_url.rstrip("/") + RPC_PATH
        self._token = token
        self._client = client or httpx.AsyncClient(timeout=None)
        self._owns_client = client is None

    async def call(
        self, function_path: str, args: Mapping[str, Any] | None = None, shard_key: str | None = None
    ) -> Any:
        """Call any Lunora function by `"file:function"` path; the app dispatches by its kind."""
        if self._client.is_closed:
            raise TypeError(
                "ContainerBridge: no `fetch` available — the httpx.AsyncClient given as `client` is closed; "
                "pass an open one"
            )
        headers = {"content-type": "application/json"}
        if self._token is not None:
            headers["authorization"] = f"Bearer {self._token}"
        body: dict[str, Any] = {"args": encode(dict(args or {})), "functionPath": function_path}
        if shard_key is not None:
            body["shardKey"] = shard_key
        response = await self._client.post(
            self.url, content=json.dumps(body, separators=(",", ":"), ensure_ascii=False), headers=headers
        )
        try:
            parsed = json.loads(response.content)
        except ValueError:
            if not response.is_success:
                raise BridgeRequestFailed(function_path, response) from None
            raise LunoraError(
                "INTERNAL",
                f'ContainerBridge: request to "{function_path}" returned a non-JSON response '
                f"(status {response.status_code})",
            ) from None
        if isinstance(parsed, dict) and "error" in parsed:
            error = parsed["error"]
            if (
                isinstance(error, dict)
                and isinstance(error.get("code"), str)
                and isinstance(error.get("message"), str)
            ):
                raise ContainerBridgeError(error["code"], error["message"])
            raise LunoraError(
                "INTERNAL",
                f'ContainerBridge: request to "{function_path}" returned a malformed error envelope '
                f"(status {response.status_code}): {json.dumps(error)}",
            )
        if not response.is_success:
            raise BridgeRequestFailed(function_path, response)
        return decode(parsed.get("result") if isinstance(parsed, dict) else None)

    # One function: the wire is identical and the app dispatches by the function's registered kind.
    query = call
    mutation = call
    action = call

    async def run(
        self,
        reference: FunctionReference | Mapping[str, Any],
        args: Mapping[str, Any],
        shard_key: str | None = None,
    ) -> Any:
        """Call through a generated reference (its `__lunoraRef`)."""
        ref = reference.ref if isinstance(reference, FunctionReference) else reference.get("__lunoraRef")
        if not isinstance(ref, str) or not ref:
            raise TypeError(f"ContainerBridge.run: {reference!r} carries no `__lunoraRef` function path")
        return await self.call(ref, args, shard_key)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> ContainerBridge:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()
