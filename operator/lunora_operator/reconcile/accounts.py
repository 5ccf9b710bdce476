"""An app's Cloudflare account: its API token read from the Secret it names, and the client the
process keeps for that token (held by the app, so a rotated token closes the old client)."""

from __future__ import annotations

from lunora_operator.api.resources import LunoraApp
from lunora_operator.cloudflare import AccountClient, CloudflareClients, CloudflareError
from lunora_operator.kube.gateway import Kube, ReferenceMissing
from lunora_operator.reconcile.errors import Stalled, Waiting


async def app_account(kube: Kube, cloudflare: CloudflareClients, app: LunoraApp) -> AccountClient:
    """Waits for a missing token Secret; stalls on a token Cloudflare's client refuses (a blank
    one), naming the Secret."""
    account = app.spec.cloudflare
    assert account is not None  # the CRD requires it in cloudflare mode
    namespace = app.metadata.namespace or "default"
    ref = account.api_token_secret_ref
    try:
        token = await kube.secret_value(namespace, ref.name, ref.key)
    except ReferenceMissing as missing:
        raise Waiting("SecretNotFound", f"API token: {missing}; create it and the app continues") from None
    try:
        return cloudflare.for_account(
            account.account_id, token, account.api_base_url, holder=(namespace, app.metadata.name)
        )
    except CloudflareError as error:
        raise Stalled(
            error.reason, f'API token in Secret "{namespace}/{ref.name}" key "{ref.key}": {error.message}'
        ) from None
