"""FakeCloudflare: a stateful stand-in for the Cloudflare API endpoints the operator calls.

Every request body is checked against the official SDK's parameter types (see validation.py),
answers use the v4 envelope, and requests are recorded with secret values redacted.

    async with FakeCloudflare() as fake:          # in the test's event loop
        client = AsyncCloudflare(api_token="t", base_url=fake.base_url)
    with FakeCloudflare() as fake:                # in a thread, for sync tests and other processes
        ...
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import threading
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiohttp import BodyPartReader, web
from cloudflare.types.containers.application_create_params import ApplicationCreateParams
from cloudflare.types.containers.application_edit_params import ApplicationEditParams
from cloudflare.types.containers.applications.rollout_create_params import RolloutCreateParams
from cloudflare.types.containers.registries.credential_generate_params import CredentialGenerateParams
from cloudflare.types.workers.script_update_params import Metadata
from cloudflare.types.workers.scripts.secret_update_params import SecretUpdateParams

from lunora_operator.testing.fake_cloudflare import state as st
from lunora_operator.testing.fake_cloudflare.faults import Fault
from lunora_operator.testing.fake_cloudflare.validation import (
    CUSTOM_SIZE_KEYS,
    WORKER_METADATA_KEYS,
    BodySchema,
    validate,
)

API_PREFIX = "/client/v4"
DEFAULT_ACCOUNT_ID = "023e105f4ecef8ad9ca31a8372d0c353"
REDACTED = "<redacted>"
BODY: web.RequestKey[dict[str, Any]] = web.RequestKey("body")
"""The parsed request body (validated against the endpoint's schema before a handler sees it)."""

PERMISSION_CONTAINERS = "Workers Containers Edit"
PERMISSION_SCRIPTS = "Workers Scripts Edit"
PERMISSION_DURABLE_OBJECTS = "Durable Objects Read"
ALL_PERMISSIONS = frozenset({PERMISSION_CONTAINERS, PERMISSION_SCRIPTS, PERMISSION_DURABLE_OBJECTS})

Handler = Callable[[web.Request, st.Account], Awaitable[tuple[Any, dict[str, Any] | None]]]


@dataclass(frozen=True)
class Endpoint:
    """One route. `operation` names it as the SDK method does (`applications.create`)."""

    method: str
    path: str
    operation: str
    permission: str
    schema: BodySchema | None = None


ENDPOINTS = (
    Endpoint(
        "GET", "/accounts/{account_id}/containers/applications", "applications.list", PERMISSION_CONTAINERS
    ),
    Endpoint(
        "POST",
        "/accounts/{account_id}/containers/applications",
        "applications.create",
        PERMISSION_CONTAINERS,
        BodySchema(ApplicationCreateParams, extras={("configuration",): CUSTOM_SIZE_KEYS}),
    ),
    Endpoint(
        "GET",
        "/accounts/{account_id}/containers/applications/{application_id}",
        "applications.get",
        PERMISSION_CONTAINERS,
    ),
    Endpoint(
        "PATCH",
        "/accounts/{account_id}/containers/applications/{application_id}",
        "applications.edit",
        PERMISSION_CONTAINERS,
        BodySchema(ApplicationEditParams),
    ),
    Endpoint(
        "DELETE",
        "/accounts/{account_id}/containers/applications/{application_id}",
        "applications.delete",
        PERMISSION_CONTAINERS,
    ),
    Endpoint(
        "POST",
        "/accounts/{account_id}/containers/applications/{application_id}/rollouts",
        "applications.rollouts.create",
        PERMISSION_CONTAINERS,
        BodySchema(RolloutCreateParams, extras={("target_configuration",): CUSTOM_SIZE_KEYS}),
    ),
    Endpoint(
        "GET",
        "/accounts/{account_id}/containers/applications/{application_id}/rollouts/{rollout_id}",
        "applications.rollouts.get",
        PERMISSION_CONTAINERS,
    ),
    Endpoint(
        "POST",
        "/accounts/{account_id}/containers/registries/{domain}/credentials",
        "registries.credentials.generate",
        PERMISSION_CONTAINERS,
        BodySchema(CredentialGenerateParams),
    ),
    Endpoint("GET", "/accounts/{account_id}/workers/scripts", "workers.scripts.list", PERMISSION_SCRIPTS),
    Endpoint(
        "PUT",
        "/accounts/{account_id}/workers/scripts/{script_name}",
        "workers.scripts.update",
        PERMISSION_SCRIPTS,
        BodySchema(Metadata, extras={(): WORKER_METADATA_KEYS}, path_params=()),
    ),
    Endpoint(
        "GET",
        "/accounts/{account_id}/workers/scripts/{script_name}/secrets",
        "workers.scripts.secrets.list",
        PERMISSION_SCRIPTS,
    ),
    Endpoint(
        "PUT",
        "/accounts/{account_id}/workers/scripts/{script_name}/secrets",
        "workers.scripts.secrets.update",
        PERMISSION_SCRIPTS,
        BodySchema(SecretUpdateParams),
    ),
    Endpoint(
        "DELETE",
        "/accounts/{account_id}/workers/scripts/{script_name}/secrets/{secret_name}",
        "workers.scripts.secrets.delete",
        PERMISSION_SCRIPTS,
    ),
    Endpoint(
        "GET",
        "/accounts/{account_id}/workers/durable_objects/namespaces",
        "durable_objects.namespaces.list",
        PERMISSION_DURABLE_OBJECTS,
    ),
)
ENDPOINTS_BY_OPERATION = {endpoint.operation: endpoint for endpoint in ENDPOINTS}


@dataclass(frozen=True)
class RecordedRequest:
    """A request as the fake saw it. Secret values are replaced by "<redacted>"; the token is
    never recorded."""

    operation: str
    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int
    """The answer's status; 0 when the connection was dropped before handling."""
    account_id: str | None = None
    dropped: bool = False


def _redact(operation: str, body: Any) -> Any:
    body = copy.deepcopy(body)
    if operation == "workers.scripts.secrets.update" and isinstance(body, dict):
        for key in ("text", "key_base64", "key_jwk"):
            if key in body:
                body[key] = REDACTED
    if operation == "workers.scripts.update" and isinstance(body, dict):
        for binding in (body.get("metadata") or {}).get("bindings") or []:
            if isinstance(binding, dict) and binding.get("type") in ("secret_text", "secret_key"):
                for key in ("text", "key_base64", "key_jwk"):
                    if key in binding:
                        binding[key] = REDACTED
    return _redact_passwords(body)


def _redact_passwords(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: REDACTED if key in ("password", "private_credential") else _redact_passwords(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_redact_passwords(item) for item in value]
    return value


class _Dropped(Exception):
    pass


class FakeCloudflare:
    """A fake Cloudflare API on 127.0.0.1 (ephemeral port unless `port` is given).

    Any non-empty bearer token is accepted unless `token` is set; `permissions` narrows what that
    token may do (all of ALL_PERMISSIONS by default). `registry` is handed out by the registry
    credentials endpoint, so images can really be pushed with what the layer obtains.
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        permissions: Iterable[str] | None = None,
        registry: st.RegistryConfig | None = None,
        account_id: str = DEFAULT_ACCOUNT_ID,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._token = token
        self.permissions = frozenset(ALL_PERMISSIONS if permissions is None else permissions)
        self.registry = registry
        self.account_id = account_id
        self.host = host
        self.port = port
        self._lock = threading.RLock()
        self._accounts: dict[str, st.Account] = {}
        self._faults: dict[str, list[Fault]] = {}
        self._hold_rollouts = False
        self._records: list[RecordedRequest] = []
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"FakeCloudflare(base_url={self.base_url!r})"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}{API_PREFIX}"

    # --- running -----------------------------------------------------------------------------------

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
            with self._lock:
                account = self._account(request.match_info["account_id"])
            result, result_info = await handler(request, account)
            envelope: dict[str, Any] = {"success": True, "errors": [], "messages": [], "result": result}
            if result_info is not None:
                envelope["result_info"] = result_info
            return web.json_response(envelope)

        return handle

    async def start(self) -> None:
        self._runner = web.AppRunner(self.make_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeCloudflare:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    def __enter__(self) -> FakeCloudflare:
        """Runs the server in a thread of its own, for sync tests and clients in other processes."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = self._loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(self.start())
            except BaseException as error:  # handed to the starting thread
                failure.append(error)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        self._thread = threading.Thread(target=run, name="FakeCloudflare", daemon=True)
        self._thread.start()
        ready.wait(30)
        if failure:
            raise failure[0]
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _error: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)
            self._thread = None
            self._loop = None

    # --- faults, records and state for assertions -----------------------------------------------

    def inject(self, operation: str, fault: Fault) -> None:
        """Applies `fault` to the next requests of `operation` (an Endpoint.operation name)."""
        if operation not in ENDPOINTS_BY_OPERATION:
            raise ValueError(f"unknown operation {operation!r}; known: {sorted(ENDPOINTS_BY_OPERATION)}")
        with self._lock:
            self._faults.setdefault(operation, []).append(fault)

    def hold_rollouts(self, hold: bool = True) -> None:
        """New `full_auto` rollouts stay `progressing` at their first step (as real ones do for a
        while) until `finish_rollout`; by default they complete at once."""
        with self._lock:
            self._hold_rollouts = hold

    def finish_rollout(
        self, application_id: str, status: str = "completed", account_id: str | None = None
    ) -> None:
        """Ends the application's latest rollout: `completed`, or `reverted` (its previous
        configuration comes back)."""
        if status not in ("completed", "reverted"):
            raise ValueError(f"a rollout finishes as completed or reverted, not {status!r}")
        with self._lock:
            st.finish_rollout(self._account(account_id or self.account_id), application_id, status)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def requests(self, operation: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [record for record in self._records if operation is None or record.operation == operation]

    def clear_requests(self) -> None:
        with self._lock:
            self._records.clear()

    def applications(self, account_id: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self._account(account_id or self.account_id).applications.values()))

    def application(self, name: str, account_id: str | None = None) -> dict[str, Any] | None:
        found = [app for app in self.applications(account_id) if app["name"] == name]
        return found[0] if found else None

    def rollouts(self, application_id: str, account_id: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(
                self._account(account_id or self.account_id).rollouts.get(application_id, [])
            )

    def script(self, script_name: str, account_id: str | None = None) -> dict[str, Any] | None:
        """The stored upload: metadata, migration tag, etag and module content types."""
        with self._lock:
            script = self._account(account_id or self.account_id).scripts.get(script_name)
            if script is None:
                return None
            return {
                **script.api(),
                "metadata": _redact("workers.scripts.update", {"metadata": script.metadata})["metadata"],
                "modules": {name: content_type for name, (content_type, _content) in script.modules.items()},
            }

    def namespaces(self, script_name: str | None = None, account_id: str | None = None) -> dict[str, str]:
        """Durable Object class -> namespace id (of one script, or of all as `script.class`)."""
        with self._lock:
            namespaces = self._account(account_id or self.account_id).namespaces.values()
            if script_name is not None:
                return {ns["class"]: ns["id"] for ns in namespaces if ns["script"] == script_name}
            return {f"{ns['script']}.{ns['class']}": ns["id"] for ns in namespaces}

    def secret_names(self, script_name: str, account_id: str | None = None) -> set[str]:
        with self._lock:
            script = self._account(account_id or self.account_id).scripts.get(script_name)
            return set(script.secrets) if script else set()

    def secret_value(self, script_name: str, name: str, account_id: str | None = None) -> str:
        """A stored secret value, for a test that checks what was set; never recorded or shown."""
        with self._lock:
            return self._account(account_id or self.account_id).scripts[script_name].secrets[name]

    def deploy_worker(
        self,
        script_name: str,
        classes: Iterable[str],
        *,
        container_classes: Iterable[str] | None = None,
        migration_tag: str = "v1",
        account_id: str | None = None,
    ) -> dict[str, str]:
        """Does what an external `wrangler deploy` does to the account: uploads a Worker that
        defines and binds `classes` (SQLite-backed), container-enabled for `container_classes`
        (default: all). Returns class -> namespace id."""
        classes = list(classes)
        containers = classes if container_classes is None else list(container_classes)
        source = "\n".join(f"export class {name} {{}}" for name in classes) + "\nexport default {};\n"
        metadata = {
            "main_module": "index.js",
            "compatibility_date": "2025-04-01",
            "bindings": [
                {"type": "durable_object_namespace", "name": name, "class_name": name} for name in classes
            ],
            "containers": [{"class_name": name} for name in containers],
            "migrations": {"new_tag": migration_tag, "steps": [{"new_sqlite_classes": classes}]},
        }
        with self._lock:
            account = self._account(account_id or self.account_id)
            if script_name in account.scripts:
                raise ValueError(f"Worker {script_name} already exists in the fake")
            st.upload_script(
                account,
                script_name,
                metadata,
                {"index.js": ("application/javascript+module", source.encode())},
            )
        return self.namespaces(script_name, account_id)

    def snapshot(self) -> dict[str, Any]:
        """Everything the fake holds, as JSON, without secret values."""
        with self._lock:
            return {
                account_id: {
                    "applications": list(account.applications.values()),
                    "rollouts": account.rollouts,
                    "scripts": {
                        name: {**script.api(), "secrets": sorted(script.secrets)}
                        for name, script in account.scripts.items()
                    },
                    "namespaces": list(account.namespaces.values()),
                }
                for account_id, account in self._accounts.items()
            }

    # --- request handling --------------------------------------------------------------------------

    def _account(self, account_id: str) -> st.Account:
        account = self._accounts.get(account_id)
        if account is None:
            account = self._accounts[account_id] = st.Account(account_id)
        return account

    def _take_fault(self, operation: str) -> Fault | None:
        with self._lock:
            for fault in self._faults.get(operation, []):
                if fault.take():
                    return fault
        return None

    def _authorize(self, request: web.Request, endpoint: Endpoint) -> None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or not token.strip() or (self._token is not None and token != self._token):
            raise st.ApiError(401, "Authentication error", 10000)
        if endpoint.permission not in self.permissions:
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
            fault = self._take_fault(endpoint.operation)
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
            self._record(
                RecordedRequest(
                    operation=endpoint.operation,
                    method=request.method,
                    path=request.path,
                    query=dict(request.query),
                    body=_redact(endpoint.operation, record_body),
                    status=status,
                    account_id=account_id,
                    dropped=dropped,
                )
            )
        return response

    def _record(self, record: RecordedRequest) -> None:
        with self._lock:
            self._records.append(record)

    async def _state_handler(self, _request: web.Request) -> web.StreamResponse:
        return web.json_response(self.snapshot())

    # --- endpoints ------------------------------------------------------------------------------------

    async def _list_applications(
        self, request: web.Request, account: st.Account
    ) -> tuple[Any, dict[str, Any] | None]:
        with self._lock:
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
        with self._lock:
            return copy.deepcopy(st.create_application(account, body)), None

    async def _get_application(self, request: web.Request, account: st.Account) -> tuple[Any, None]:
        with self._lock:
            return copy.deepcopy(st.find_application(account, request.match_info["application_id"])), None

    async def _edit_application(self, request: web.Request, account: st.Account) -> tuple[Any, None]:
        body = request[BODY]
        with self._lock:
            app = st.edit_application(account, request.match_info["application_id"], body)
            return copy.deepcopy(app), None

    async def _delete_application(self, request: web.Request, account: st.Account) -> tuple[Any, None]:
        with self._lock:
            app = st.find_application(account, request.match_info["application_id"])
            del account.applications[app["id"]]
            account.rollouts.pop(app["id"], None)
            return {"message": f"Deletion of application {app['id']} started"}, None

    async def _create_rollout(self, request: web.Request, account: st.Account) -> tuple[Any, None]:
        body = request[BODY]
        with self._lock:
            rollout = st.create_rollout(
                account, request.match_info["application_id"], body, hold=self._hold_rollouts
            )
            return copy.deepcopy(rollout), None

    async def _get_rollout(self, request: web.Request, account: st.Account) -> tuple[Any, None]:
        with self._lock:
            found = st.find_rollout(
                account, request.match_info["application_id"], request.match_info["rollout_id"]
            )
            return copy.deepcopy(found), None

    async def _registry_credentials(self, request: web.Request, account: st.Account) -> tuple[Any, None]:
        body = request[BODY]
        return st.registry_credentials(account, self.registry, request.match_info["domain"], body), None

    async def _list_scripts(self, _request: web.Request, account: st.Account) -> tuple[Any, None]:
        with self._lock:
            return [script.api() for script in account.scripts.values()], None

    async def _upload_script(self, request: web.Request, account: st.Account) -> tuple[Any, None]:
        body = request[BODY]
        if not isinstance(body.get("metadata"), dict):
            raise st.ApiError(400, "The upload has no JSON metadata part", 10021)
        with self._lock:
            script = st.upload_script(
                account, request.match_info["script_name"], body["metadata"], body["files"]
            )
            return {**script.api(), "startup_time_ms": 0}, None

    async def _list_secrets(self, request: web.Request, account: st.Account) -> tuple[Any, None]:
        with self._lock:
            script = st.find_script(account, request.match_info["script_name"])
            return [{"name": name, "type": "secret_text"} for name in sorted(script.secrets)], None

    async def _put_secret(self, request: web.Request, account: st.Account) -> tuple[Any, None]:
        body = request[BODY]
        if body.get("type") != "secret_text":
            raise st.ApiError(400, "FakeCloudflare only implements secret_text secrets", 10021)
        with self._lock:
            script = st.find_script(account, request.match_info["script_name"])
            script.secrets[body["name"]] = body["text"]
            return {"name": body["name"], "type": "secret_text"}, None

    async def _delete_secret(self, request: web.Request, account: st.Account) -> tuple[Any, None]:
        with self._lock:
            script = st.find_script(account, request.match_info["script_name"])
            name = request.match_info["secret_name"]
            if name not in script.secrets:
                raise st.ApiError(404, f"Secret {name} not found", 10056)
            del script.secrets[name]
            return {}, None

    async def _list_namespaces(self, request: web.Request, account: st.Account) -> tuple[Any, dict[str, Any]]:
        page = int(request.query.get("page", 1))
        per_page = int(request.query.get("per_page", 20))
        with self._lock:
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
