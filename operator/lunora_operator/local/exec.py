"""`POST /_api/containers/<c>/instances/<id>/exec`: Lunora's native exec, on an instance Pod.

The contract is Lunora's: body `{args, command, cwd?, env?, timeoutMs?}`; the command runs
unshelled with the instance's start env plus the call's `env`, in `cwd`; stdout and stderr share
one output budget. Answers: 200 `{code, stdout, stderr}` (a non-zero code is a result), 413 when
the output (or the encoded reply) exceeds the budget, 504 when `timeoutMs` passes — the command is
killed in both cases — and 400 for a bad body. The instance is started on demand as for a request,
and the exec counts as in flight, so `sleepAfter` cannot stop it midway.

The exec helper in the Pod (see `exec_helper`) runs the command; this module checks the body,
hands it to the helper over the Pod exec's stdin and relays the helper's answer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from lunora_operator.local import exec_helper
from lunora_operator.local.errors import ApiProblem
from lunora_operator.local.instance import Instance
from lunora_operator.local.pod_exec import PodExecFailed, PodExecutor
from lunora_operator.local.pod_spec import CONTAINER_NAME

MAX_OUTPUT_BYTES = 1_000_000
"""The output budget: what Lunora's client accepts by default (`maxOutputBytes`)."""
MAX_BODY_BYTES = 1 << 20
# A helper answers at most the budget plus its status line; anything longer is not the helper.
HELPER_ANSWER_LIMIT = MAX_OUTPUT_BYTES + 4096
# The helper enforces `timeoutMs`; the router waits this much longer before it gives up on it.
HELPER_GRACE_SECONDS = 30.0
_MAX_SAFE_INTEGER = 2**53 - 1


class BadExec(ApiProblem):
    """The exec body is not one Lunora's runner accepts: 400."""

    def __init__(self, message: str) -> None:
        super().__init__(400, "BAD_REQUEST", message)


def _internal(message: str) -> ApiProblem:
    return ApiProblem(500, "INTERNAL", message)


@dataclass(frozen=True)
class ExecRequest:
    command: str
    args: tuple[str, ...] = ()
    cwd: str | None = None
    env: Mapping[str, str] | None = None
    timeout_ms: float | None = None

    def helper_line(self, max_output_bytes: int) -> bytes:
        """The helper's request: one line of JSON on its stdin (never its command line, so env
        values stay out of the API server's request log)."""
        body: dict[str, Any] = {
            "command": self.command,
            "args": list(self.args),
            "maxOutputBytes": max_output_bytes,
        }
        if self.cwd is not None:
            body["cwd"] = self.cwd
        if self.env is not None:
            body["env"] = dict(self.env)
        if self.timeout_ms is not None:
            body["timeoutMs"] = self.timeout_ms
        return json.dumps(body, separators=(",", ":")).encode() + b"\n"


def parse_exec_body(raw: bytes) -> ExecRequest:
    """The body Lunora's client sends, checked as its runner checks it."""
    if len(raw) > MAX_BODY_BYTES:
        raise BadExec(f"the exec body is over {MAX_BODY_BYTES} bytes")
    try:
        body = json.loads(raw)
    except ValueError:
        raise BadExec("the exec body is not JSON: expected {args, command, cwd?, env?, timeoutMs?}") from None
    if not isinstance(body, dict):
        raise BadExec("the exec body must be a JSON object {args, command, cwd?, env?, timeoutMs?}")
    command = body.get("command")
    if not isinstance(command, str) or not command:
        raise BadExec("exec requires a non-empty `command`")
    args = body.get("args", [])
    if not isinstance(args, list) or not all(isinstance(arg, str) for arg in args):
        raise BadExec("exec `args` must be a list of strings")
    cwd = body.get("cwd")
    if cwd is not None and (not isinstance(cwd, str) or not cwd):
        raise BadExec("exec `cwd` must be a non-empty string")
    env = body.get("env")
    if env is not None and not (
        isinstance(env, dict)
        and all(isinstance(k, str) and k and "=" not in k and "\0" not in k for k in env)
        and all(isinstance(v, str) and "\0" not in v for v in env.values())
    ):
        raise BadExec("exec `env` must map variable names to string values")
    timeout = body.get("timeoutMs")
    if timeout is not None and (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not math.isfinite(timeout)
        or not 0 < timeout <= _MAX_SAFE_INTEGER
    ):
        raise BadExec("exec `timeoutMs` must be a positive number of milliseconds")
    if "\0" in command or any("\0" in arg for arg in args) or (cwd is not None and "\0" in cwd):
        raise BadExec("exec `command`, `args` and `cwd` cannot hold NUL characters")
    return ExecRequest(command, tuple(args), cwd, env, timeout)


NO_HELPER = (
    "exec is not served by this router: it runs commands through the exec helper, so start it with "
    "--exec-helper-image REF (hack/exec-helper-image.sh builds and pushes one)"
)


def relay(answer: bytes, pod: str) -> web.Response:
    """The helper's answer (`<status>\\n<JSON body>`) as the HTTP response."""
    head, _, body = answer.partition(b"\n")
    if not head.isdigit():
        raise _internal(f"the exec helper in Pod {pod} answered something else than a status line")
    return web.Response(status=int(head), body=body, content_type="application/json")


async def read_body(request: web.Request) -> bytes:
    body = await request.content.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise BadExec(f"the exec body is over {MAX_BODY_BYTES} bytes")
    return body


async def serve_exec(instance: Instance, request: web.Request, executor: PodExecutor | None) -> web.Response:
    """Raises ApiProblem for what the router answers itself, errors.Unavailable when the instance
    cannot start (the platform's answers, which Lunora's client retries)."""
    parsed = parse_exec_body(await read_body(request))
    if executor is None:
        raise ApiProblem(501, "NOT_IMPLEMENTED", NO_HELPER)
    await instance.open()
    try:
        pod = instance.pod
        assert pod is not None
        if not pod.exec_helper:
            raise ApiProblem(
                501,
                "NOT_IMPLEMENTED",
                f"Pod {pod.name} of instance {instance.id!r} was started without the exec helper (by a "
                "router without --exec-helper-image); stop() the instance and exec again",
            )
        timeout = None if parsed.timeout_ms is None else parsed.timeout_ms / 1000 + HELPER_GRACE_SECONDS
        try:
            result = await executor.run(
                pod.name,
                CONTAINER_NAME,
                exec_helper.RUN_COMMAND,
                parsed.helper_line(MAX_OUTPUT_BYTES),
                HELPER_ANSWER_LIMIT,
                timeout,
            )
        except PodExecFailed as failed:
            raise _internal(f"exec in Pod {pod.name} failed: {failed}") from None
        if not result.succeeded:
            reason = result.status.get("message") or result.status.get("reason") or "no reason given"
            detail = result.stderr.decode(errors="replace").strip()
            raise _internal(
                f"the exec helper in Pod {pod.name} could not run: {reason}"
                + (f" ({detail})" if detail else "")
            )
        return relay(result.stdout, pod.name)
    finally:
        instance.leave()
