"""List-then-watch of one kind of object, delivered to the event loop.

The official client is synchronous: the list and the watch run in a thread of their own, and each
event is handed to the loop with `call_soon_threadsafe`. After a list, the consumer gets the whole
snapshot (so nothing deleted while the watch was down is remembered), then every change. An
expired resourceVersion, a dropped connection or an API server restart leads to a fresh list.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import urllib3
from kubernetes.client.exceptions import ApiException
from kubernetes.watch.watch import iter_resp_lines

log = logging.getLogger(__name__)

Obj = dict[str, Any]
ListCall = Callable[..., Any]
RETRY_SECONDS = 1.0
WATCH_SECONDS = 240


@dataclass
class Informer:
    """Calls `on_snapshot(items)` after each list and `on_event(type, obj)` for each change, both
    on `loop`. `list_call` is a namespaced list method of the official client, such as
    `CoreV1Api.list_namespaced_pod`, bound to its positional arguments."""

    what: str
    list_call: ListCall
    on_snapshot: Callable[[list[Obj]], None]
    on_event: Callable[[str, Obj], None]
    loop: asyncio.AbstractEventLoop
    selectors: dict[str, str] = field(default_factory=dict)
    synced: threading.Event = field(default_factory=threading.Event)
    _stopped: bool = False
    _response: Any = None
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"informer-{self.what}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped = True
        response = self._response
        if response is not None:
            response.close()

    async def wait_synced(self, seconds: float) -> bool:
        return await asyncio.to_thread(self.synced.wait, seconds)

    def _run(self) -> None:
        while not self._stopped:
            try:
                version = self._list()
                while not self._stopped:
                    version = self._watch(version)
            except ApiException as error:
                if error.status != 410:
                    log.warning(
                        "watching %s failed (%s %s); listing again", self.what, error.status, error.reason
                    )
            except (urllib3.exceptions.HTTPError, OSError, ValueError) as error:
                if not self._stopped:
                    log.warning("watching %s failed (%s); listing again", self.what, type(error).__name__)
            if not self._stopped:
                threading.Event().wait(RETRY_SECONDS)

    def _deliver(self, callback: Callable[..., None], *args: Any) -> None:
        try:
            self.loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed: nobody listens any more
            self._stopped = True

    def _list(self) -> str:
        response = self.list_call(**self.selectors, _preload_content=False)
        body = json.loads(response.data)
        items: list[Obj] = body.get("items") or []
        self._deliver(self.on_snapshot, items)
        self.synced.set()
        return str(body["metadata"]["resourceVersion"])

    def _watch(self, version: str) -> str:
        response = self.list_call(
            **self.selectors,
            watch=True,
            resource_version=version,
            allow_watch_bookmarks=True,
            timeout_seconds=WATCH_SECONDS,
            _preload_content=False,
        )
        self._response = response
        try:
            for line in iter_resp_lines(response):  # type: ignore[no-untyped-call]
                if self._stopped:
                    break
                event = json.loads(line)
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    raise ApiException(status=obj.get("code"), reason=obj.get("reason"))
                version = str(obj.get("metadata", {}).get("resourceVersion") or version)
                if kind != "BOOKMARK":
                    self._deliver(self.on_event, kind, obj)
        finally:
            self._response = None
            response.release_conn()
        return version
