"""The exec contract: a typed POST whose result keeps "the command failed" (a non-zero `code`) apart
from "the command could not be run" (an error), bounded in time and in memory."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from lunora_operator.client.body import read_capped
from lunora_operator.client.clock import Clock
from lunora_operator.client.errors import LunoraError
from lunora_operator.client.request import EXEC_PATH

DEFAULT_MAX_OUTPUT_BYTES = 1_000_000
ERROR_BODY_LIMIT = 512
REDACTED = "<redacted>"
_MAX_SAFE_INTEGER = 2**53 - 1
_EXPECTED = 'expected {"code","stdout","stderr"} from POST ' + EXEC_PATH

# Sends one exec body (JSON bytes) as `POST /__lunora/exec` through the handle's own channel.
ExecSend = Callable[[bytes], Awaitable[httpx.Response]]


@dataclass(frozen=True)
class ExecResult:
    """A command that ran: a non-zero `code` is a result, not an error."""

    code: int | float
    stdout: str
    stderr: str


def js_number(value: object) -> str:
    """A number as JavaScript's `String()` writes it (`NaN`, `Infinity`, `250`)."""
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        if value.is_integer():
            return str(int(value))
    return str(value)


def _whole_positive(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return False
    return 0 < value <= _MAX_SAFE_INTEGER


def build_exec_body(
    label: str,
    command: object,
    *,
    args: Sequence[str] | None,
    cwd: str | None,
    env: Mapping[str, str] | None,
    timeout_ms: float | None,
    max_output_bytes: int | None,
) -> tuple[bytes, int]:
    """The wire body and the output cap, every input checked before anything runs."""
    if not isinstance(command, str) or not command:
        raise LunoraError("BAD_REQUEST", f"{label}: exec requires a non-empty `command`")
    limit = DEFAULT_MAX_OUTPUT_BYTES if max_output_bytes is None else max_output_bytes
    if not _whole_positive(limit):
        raise LunoraError(
            "BAD_REQUEST",
            f"{label}: exec `max_output_bytes` must be a positive whole number of bytes, got {js_number(limit)}",
        )
    if args is not None and (isinstance(args, str) or not all(isinstance(arg, str) for arg in args)):
        raise LunoraError("BAD_REQUEST", f"{label}: exec `args` must be a list of strings, got {args!r}")
    if cwd is not None and not isinstance(cwd, str):
        raise LunoraError("BAD_REQUEST", f"{label}: exec `cwd` must be a string, got {cwd!r}")
    if env is not None and not (
        isinstance(env, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in env.items())
    ):
        raise LunoraError("BAD_REQUEST", f"{label}: exec `env` must map names to string values")
    if timeout_ms is not None and (
        isinstance(timeout_ms, bool)
        or not isinstance(timeout_ms, int | float)
        or not math.isfinite(timeout_ms)
        or timeout_ms <= 0
    ):
        raise LunoraError(
            "BAD_REQUEST",
            f"{label}: exec `timeout_ms` must be a positive number of milliseconds, got {js_number(timeout_ms)}",
        )
    body: dict[str, object] = {"args": list(args or []), "command": command}
    if cwd is not None:
        body["cwd"] = cwd
    if env is not None:
        body["env"] = dict(env)
    if timeout_ms is not None:
        body["timeoutMs"] = timeout_ms
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(), int(limit)


def redact(text: str, env: Mapping[str, str] | None) -> str:
    """Per-call env values (where callers put tokens) taken out of text quoted back from the container."""
    for value in (env or {}).values():
        if value:
            text = text.replace(value, REDACTED)
    return text


@asynccontextmanager
async def deadline(clock: Clock, timeout_ms: float | None) -> AsyncIterator[None]:
    """Abandon the block after `timeout_ms` (headers and body alike) with Lunora's timeout error.

    A cancellation from the caller that comes first is left as it is, with the caller's reason.
    """
    if timeout_ms is None:
        yield
        return
    task = asyncio.current_task()
    assert task is not None
    fired = False

    async def expire() -> None:
        nonlocal fired
        await clock.sleep_ms(timeout_ms)
        if task.cancelling():  # the caller's cancellation came first and keeps its reason
            return
        fired = True
        task.cancel()

    timer = asyncio.create_task(expire())
    try:
        yield
    except asyncio.CancelledError:
        if fired and task.uncancel() == 0:
            raise LunoraError(
                "INTERNAL", f"ctx.containers: exec timed out after {js_number(timeout_ms)}ms"
            ) from None
        raise
    finally:
        timer.cancel()


async def run_exec(
    send: ExecSend,
    label: str,
    clock: Clock,
    command: object,
    *,
    args: Sequence[str] | None = None,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout_ms: float | None = None,
    max_output_bytes: int | None = None,
) -> ExecResult:
    body, limit = build_exec_body(
        label, command, args=args, cwd=cwd, env=env, timeout_ms=timeout_ms, max_output_bytes=max_output_bytes
    )
    async with deadline(clock, timeout_ms):
        response = await send(body)
        if not response.is_success:
            try:
                quoted = redact((await read_capped(response, ERROR_BODY_LIMIT)).text, env)
            except httpx.HTTPError:
                quoted = "<unreadable body>"
            raise LunoraError(
                "INTERNAL",
                f"{label}: exec failed — the container answered {response.status_code} for POST {EXEC_PATH}. "
                f"Does it serve that route? Body: {quoted}",
            )
        read = await read_capped(response, limit)
    if read.overflowed:
        raise LunoraError(
            "INTERNAL",
            f"{label}: exec response exceeded {limit} bytes and was abandoned — it is buffered whole to be "
            "parsed. Cap the command's output, or raise `max_output_bytes`.",
        )
    return _result(read.text, label)


def _reject_constant(name: str) -> object:
    raise ValueError(name)


def _result(text: str, label: str) -> ExecResult:
    try:
        parsed = json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        raise LunoraError("INTERNAL", f"{label}: exec response was not JSON — {_EXPECTED}") from None
    code = parsed.get("code") if isinstance(parsed, dict) else None
    if isinstance(code, bool) or not isinstance(code, int | float):
        raise LunoraError("INTERNAL", f"{label}: exec response is missing a numeric `code` — {_EXPECTED}")
    stdout, stderr = parsed.get("stdout"), parsed.get("stderr")
    return ExecResult(
        code=code,
        stdout=stdout if isinstance(stdout, str) else "",
        stderr=stderr if isinstance(stderr, str) else "",
    )
