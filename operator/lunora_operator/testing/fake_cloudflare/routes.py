"""The fake's HTTP side: one aiohttp route per endpoint, behind a middleware that reads and
records the request, injects the faults a test asked for, checks the token and the body against
the SDK's types, and answers in Cloudflare's v4 envelope."""

from __future__ import annotations

import asyncio
import base64
import copy
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import BodyPartReader, web

from lunora_operator.testing.fake_cloudflare import rules as st
from lunora_operator.testing.fake_cloudflare.endpoints import (
    API_PREFIX,
    ENDPOINTS,
    ENDPOINTS_BY_OPERATION,
    Endpoint,
    RecordedRequest,
    redact,
)
from lunora_operator.testing.fake_cloudflare.faults import Fault
from lunora_operator.testing.fake_cloudflare.state import FakeState
from lunora_operator.testing.fake_cloudflare.validation import validate

BODY: web.RequestKey[dict[str, Any]] = web.RequestKey("body")
"""The parsed request body (validated against the endpoint's schema before a handler sees it)."""

Handler = Callable[[web.Request, st.Account], Awaitable[tuple[Any, dict[str, Any] | None]]]
Snapshot = Callable[[], dict[str, Any]]


class _Dropped(Exception):
    pass


class Routes:
    """The aiohttp application over a `FakeState`. `token` is the only one accepted (any non-empty
    bearer token when None); `permissions` what it may do; `registry` what the credentials
    endpoint hands out; `snapshot` what `/__fake__/state` answers."""

    def __init__(
        self,
        state: FakeState,
        token: str | None,
        permissions: frozenset[str],
        registry: st.RegistryConfig | None,
        snapshot: Snapshot,
    ) -> None:
        self._state = state
        self._token = token
        self._permissions = permissions
        self._registry = registry
        self._snapshot = snapshot

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        handlers: dict[str, Handler] = {
            "applications.list": self._list_applications,
            "applications.create": self._create_application,
            "applications.get": self._get_application,
            "applications.edit": self._edit_application,
            "applications.delete": self._delete_application,
            "applications.rollouts.create": self._create_rollout,
            "applications.rollouts.get": self._get_rollout,
            "registries.credentials.generate": self._registry_credentials,
            "workers.scripts.list": self._list_scripts,
            "workers.scripts.update": self._upload_script,
            "workers.scripts.secrets.list": self._list_secrets,
            "workers.scripts.secrets.update": self._put_secret,
            "workers.scripts.secrets.delete": self._delete_secret,
            "durable_objects.namespaces.list": self._list_namespaces,
        }
        for endpoint in ENDPOINTS:
            app.router.add_route(
                endpoint.method,
                API_PREFIX + endpoint.path,
                self._bind(handlers[endpoint.operation]),
                name=endpoint.operation,
            )
        app.router.add_get("/__fake__/state", self._state_handler, name="fake.state")
        return app

    def _bind(self, handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            account = self._state.account(request.match_info["account_id"])
            result, result_info = await handler(request, account)
            envelope: dict[str, Any] = {"success": True, "errors": [], "messages": [], "result": result}
            if result_info is not None:
                envelope["result_info"] = result_info
            return web.json_response(envelope)

        return handle

    # --- request handling --------------------------------------------------------------------------

    def _authorize(self, request: web.Request, endpoint: Endpoint) -> None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or not token.strip() or (self._token is not None and token != self._token):
            raise st.ApiError(401, "Authentication error", 10000)
        if endpoint.permission not in self._permissions:
            raise st.ApiError(403, "Authentication error", 10000)

    async def _read_body(self, request: web.Request, endpoint: Endpoint) -> Any:
        """JSON body, or for a script upload {"metadata": …, "files": {name: (type, bytes)}}."""
        if endpoint.method in ("GET", "DELETE"):
            return None
        if request.content_type.startswith("multipart/"):
            metadata: Any = None
            files: dict[str, tuple[str, bytes]] = {}
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader):
                    continue
                content = bytes(await part.read())
                if part.name == "metadata":
                    metadata = _json(content)
                else:
                    name = part.filename or part.name or "unnamed"
                    files[name] = (part.headers.get("Content-Type", "application/octet-stream"), content)
            return {"metadata": metadata, "files": files}
        raw = await request.read()
        return _json(raw) if raw else None

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        operation = request.match_info.route.name
        endpoint = ENDPOINTS_BY_OPERATION.get(operation or "")
        if endpoint is None:
            if operation == "fake.state":
                return await handler(request)
            error = st.ApiError(404, f"No route for that URI: {request.method} {request.path}", 7000)
            return web.json_response(error.envelope(), status=error.status)
        account_id = request.match_info.get("account_id")
        record_body: Any = None
        status = 0
        dropped = False
        try:
            body = await self._read_body(request, endpoint)
            record_body = _record_form(body)
            request[BODY] = body if isinstance(body, dict) else {}
            fault = self._state.take_fault(endpoint.operation)
            if fault is not None and fault.delay:
                await asyncio.sleep(fault.delay)
            if fault is not None and fault.drop == "before":
                raise _Dropped
            self._authorize(request, endpoint)
            if fault is not None and fault.status is not None:
                raise _injected_error(fault)
            if endpoint.schema is not None:
                validated = body.get("metadata") if endpoint.operation == "workers.scripts.update" else body
                problems = validate(endpoint.schema, validated)
                if problems:
                    raise _schema_error(endpoint, problems)
            response = await handler(request)
            status = response.status
            if fault is not None and fault.drop == "after":
                raise _Dropped
        except _Dropped:
            dropped = True
            if request.transport is not None:
                request.transport.close()
            raise web.HTTPInternalServerError() from None
        except st.ApiError as error:
            status = error.status
            response = web.json_response(error.envelope(), status=error.status, headers=error.headers)
        finally:
            self._state.record(
                RecordedRequest(
                    operation=endpoint.operation,
                    method=request.method,
                    path=request.path,
                    query=dict(request.query),
                    body=redact(endpoint.operation, record_body),
                    status=status,
                    account_id=account_id,
                    dropped=dropped,
                )
            )
        return response

    async def _state_handler(self, _request: web.Request) -> web.StreamResponse:
        return web.json_response(self._snapshot())

    # --- endpoints ------------------------------------------------------------------------------------

    async def _list_applications(
        self, request: web.Request, account: st.Account
    ) -> tuple[Any, dict[str, Any] | None]:
        with self._state.locked():
            apps = [
                app
                for app in account.applications.values()
                if request.query.get("name") in (None, app["name"])
                and request.query.get("image") in (None, app["configuration"].get("image"))
            ]
            token = request.query.get("page_token")
            offset = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
            per_page = int(request.query.get("per_page", 100 if token else max(len(apps), 1)))
            page = apps[offset : offset + per_page]
            following = offset + per_page
            next_token = (
                base64.urlsafe_b64encode(str(following).encode()).decode() if following < len(apps) else None
            )
            return copy.deepcopy(page), {"next_page_token": next_token, "per_page": per_page}

    async def _create_application(self, request: web.Request, account: st.Account) -> tuple[Any, None]:
        body = request[BODY]
        with self._state.locked():
            return copy.deepcopy(st.create_application(account, body)), None

    async def _get_application(self, request: web.Request, account: st.Account) -> tuple[Any, None]:
        with self._state.locked():
            return copy.deepcopy(st.find_application(account, request.match_info["application_id"])), None

    async def _edit_application(self, request: web.Request, account: st.Account) -> tuple[Any, None]:
        body = request[BODY]
        with self._state.locked():
            app = st.edit_application(account, request.match_info["application_id"], body)
            return copy.deepcopy(app), None

    async def _delete_application(self, request: web.Request, account: st.Account) -> tuple[Any, None]:
        with self._state.locked():
            app = st.find_application(account, request.match_info["application_id"])
            del account.applications[app["id"]]
            account.rollouts.pop(app["id"], None)
            return {"message": f"Deletion of application {app['id']} started"}, None

    async def _create_rollout(self, request: web.Request, account: st.Account) -> tuple[Any, None]:
        body = request[BODY]
        with self._state.locked():
            rollout = st.create_rollout(
                account, request.match_info["application_id"], body, hold=self._state.hold_rollouts
            )
            return copy.deepcopy(rollout), None

    async def _get_rollout(self, request: web.Request, account: st.Account) -> tuple[Any, None]:
        with self._state.locked():
            found = st.find_rollout(
                account, request.match_info["application_id"], request.match_info["rollout_id"]
            )
            return copy.deepcopy(found), None

    async def _registry_credentials(self, request: web.Request, account: st.Account) -> tuple[Any, None]:
        body = request[BODY]
        return st.registry_credentials(account, self._registry, request.match_info["domain"], body), None

    async def _list_scripts(self, _request: web.Request, account: st.Account) -> tuple[Any, None]:
        with self._state.locked():
            return [script.api() for script in account.scripts.values()], None

    async def _upload_script(self, request: web.Request, account: st.Account) -> tuple[Any, None]:
        body = request[BODY]
        if not isinstance(body.get("metadata"), dict):
            raise st.ApiError(400, "The upload has no JSON metadata part", 10021)
        with self._state.locked():
            script = st.upload_script(
                account, request.match_info["script_name"], body["metadata"], body["files"]
            )
            return {**script.api(), "startup_time_ms": 0}, None

    async def _list_secrets(self, request: web.Request, account: st.Account) -> tuple[Any, None]:
        with self._state.locked():
            script = st.find_script(account, request.match_info["script_name"])
            return [{"name": name, "type": "secret_text"} for name in sorted(script.secrets)], None

    async def _put_secret(self, request: web.Request, account: st.Account) -> tuple[Any, None]:
        body = request[BODY]
        if body.get("type") != "secret_text":
            raise st.ApiError(400, "FakeCloudflare only implements secret_text secrets", 10021)
        with self._state.locked():
            script = st.find_script(account, request.match_info["script_name"])
            script.secrets[body["name"]] = body["text"]
            return {"name": body["name"], "type": "secret_text"}, None

    async def _delete_secret(self, request: web.Request, account: st.Account) -> tuple[Any, None]:
        with self._state.locked():
            script = st.find_script(account, request.match_info["script_name"])
            name = request.match_info["secret_name"]
            if name not in script.secrets:
                raise st.ApiError(404, f"Secret {name} not found", 10056)
            del script.secrets[name]
            return {}, None

    async def _list_namespaces(self, request: web.Request, account: st.Account) -> tuple[Any, dict[str, Any]]:
        page = int(request.query.get("page", 1))
        per_page = int(request.query.get("per_page", 20))
        with self._state.locked():
            namespaces = list(account.namespaces.values())
            items = st.paginate(namespaces, page, per_page)
            return copy.deepcopy(items), {
                "page": page,
                "per_page": per_page,
                "count": len(items),
                "total_count": len(namespaces),
            }


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise st.ApiError(400, "Could not parse the request body as JSON", 10026) from None


def _record_form(body: Any) -> Any:
    """A recordable copy: uploaded files become their content type and size."""
    if isinstance(body, dict) and isinstance(body.get("files"), dict):
        return {
            "metadata": body.get("metadata"),
            "files": {
                name: {"content_type": ctype, "size": len(data)}
                for name, (ctype, data) in body["files"].items()
            },
        }
    return body


def _schema_error(endpoint: Endpoint, problems: list[str]) -> st.ApiError:
    if endpoint.operation.startswith(("applications", "registries")):
        details: dict[str, str] = {}
        for problem in problems:
            field_name, _, text = problem.partition(": ")
            details[field_name] = f"{details[field_name]}; {text}" if field_name in details else text
        return st.validation_error(details)
    return st.ApiError(400, "Invalid request: " + "; ".join(problems), 10021)


def _injected_error(fault: Fault) -> st.ApiError:
    assert fault.status is not None
    if fault.status == 429:
        error = st.ApiError(429, "Rate limited. Please wait and try again.", 971)
        if fault.retry_after is not None:
            seconds = fault.retry_after
            error.headers["Retry-After"] = str(int(seconds)) if float(seconds).is_integer() else str(seconds)
        return error
    return st.ApiError(fault.status, "FakeCloudflare: injected fault", 10013)
