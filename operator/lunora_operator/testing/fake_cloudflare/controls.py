"""What a test does to a fake beside calling its API: inject faults and hold or finish rollouts
(faults), read what it holds and what it was asked (inspection), and deploy a Worker as an
outside `wrangler deploy` would."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from lunora_operator.testing.fake_cloudflare import rules as st
from lunora_operator.testing.fake_cloudflare.endpoints import ENDPOINTS_BY_OPERATION, RecordedRequest, redact
from lunora_operator.testing.fake_cloudflare.faults import Fault
from lunora_operator.testing.fake_cloudflare.state import FakeState


class FakeControls:
    """The test-facing methods of `FakeCloudflare` over its state; `account_id` is the account
    they mean unless one is named."""

    def __init__(self, state: FakeState, account_id: str) -> None:
        self.state = state
        self.account_id = account_id

    def _account(self, account_id: str | None) -> st.Account:
        return self.state.account(account_id or self.account_id)

    # --- faults ---------------------------------------------------------------------------------

    def inject(self, operation: str, fault: Fault) -> None:
        """Applies `fault` to the next requests of `operation` (an Endpoint.operation name)."""
        if operation not in ENDPOINTS_BY_OPERATION:
            raise ValueError(f"unknown operation {operation!r}; known: {sorted(ENDPOINTS_BY_OPERATION)}")
        self.state.add_fault(operation, fault)

    def hold_rollouts(self, hold: bool = True) -> None:
        """New `full_auto` rollouts stay `progressing` at their first step (as real ones do for a
        while) until `finish_rollout`; by default they complete at once."""
        self.state.hold_rollouts = hold

    def finish_rollout(
        self, application_id: str, status: str = "completed", account_id: str | None = None
    ) -> None:
        """Ends the application's latest rollout: `completed`, or `reverted` (its previous
        configuration comes back)."""
        if status not in ("completed", "reverted"):
            raise ValueError(f"a rollout finishes as completed or reverted, not {status!r}")
        with self.state.locked():
            st.finish_rollout(self._account(account_id), application_id, status)

    def clear_faults(self) -> None:
        self.state.clear_faults()

    # --- inspection -----------------------------------------------------------------------------

    def requests(self, operation: str | None = None) -> list[RecordedRequest]:
        return self.state.records(operation)

    def clear_requests(self) -> None:
        self.state.clear_records()

    def applications(self, account_id: str | None = None) -> list[dict[str, Any]]:
        with self.state.locked():
            return copy.deepcopy(list(self._account(account_id).applications.values()))

    def application(self, name: str, account_id: str | None = None) -> dict[str, Any] | None:
        found = [app for app in self.applications(account_id) if app["name"] == name]
        return found[0] if found else None

    def rollouts(self, application_id: str, account_id: str | None = None) -> list[dict[str, Any]]:
        with self.state.locked():
            return copy.deepcopy(self._account(account_id).rollouts.get(application_id, []))

    def script(self, script_name: str, account_id: str | None = None) -> dict[str, Any] | None:
        """The stored upload: metadata, migration tag, etag and module content types."""
        with self.state.locked():
            script = self._account(account_id).scripts.get(script_name)
            if script is None:
                return None
            return {
                **script.api(),
                "metadata": redact("workers.scripts.update", {"metadata": script.metadata})["metadata"],
                "modules": {name: content_type for name, (content_type, _content) in script.modules.items()},
            }

    def namespaces(self, script_name: str | None = None, account_id: str | None = None) -> dict[str, str]:
        """Durable Object class -> namespace id (of one script, or of all as `script.class`)."""
        with self.state.locked():
            namespaces = self._account(account_id).namespaces.values()
            if script_name is not None:
                return {ns["class"]: ns["id"] for ns in namespaces if ns["script"] == script_name}
            return {f"{ns['script']}.{ns['class']}": ns["id"] for ns in namespaces}

    def secret_names(self, script_name: str, account_id: str | None = None) -> set[str]:
        with self.state.locked():
            script = self._account(account_id).scripts.get(script_name)
            return set(script.secrets) if script else set()

    def secret_value(self, script_name: str, name: str, account_id: str | None = None) -> str:
        """A stored secret value, for a test that checks what was set; never recorded or shown."""
        with self.state.locked():
            return self._account(account_id).scripts[script_name].secrets[name]

    # --- what happens outside the operator ----------------------------------------------------------

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
        with self.state.locked():
            account = self._account(account_id)
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
        with self.state.locked():
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
                for account_id, account in self.state.accounts().items()
            }
