"""What the operator last wrote to an app's Worker, recorded in the output ConfigMap's
annotations, so that a restarted or reinstalled process recognises what Cloudflare already holds
and writes nothing again.

- The upload: its content key (a digest of what it carries besides migrations) and the etag
  Cloudflare answered. A new process adopts it when Cloudflare's Worker still has that etag and
  the upload it would make carries the same content.
- Each Worker secret put: an HMAC-SHA256 of its name and value under a key derived from the app's
  API token. Whoever reads the ConfigMap without holding the token cannot test guesses of a value
  against it (a plain digest of a short value gives the value away to a few million tries). A new
  process adopts a put whose HMAC matches the value it would put, if Cloudflare lists the name; a
  changed value does not match and is put once. A rotated token changes the key: the running
  process rewrites the records under it without a Cloudflare write, and a process started after the
  rotation (before any run recorded it) puts each secret once more.

Records are written only after the write they describe succeeded: a process stopped in between
writes once more what it cannot prove, never less.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass

UPLOAD_ANNOTATION = "lunora.sh/worker-upload"
"""{"contentKey": …, "etag": …} of the last Worker upload the operator made."""
SECRET_MACS_ANNOTATION = "lunora.sh/worker-secret-macs"
"""{name: HMAC-SHA256 hex} of each Worker secret value the operator put (never a value)."""
MAC_KEY_PURPOSE = "lunora.sh/worker-secret-mac/v1"


@dataclass(frozen=True)
class UploadRecord:
    content_key: str
    etag: str


def recorded_upload(annotations: Mapping[str, str]) -> UploadRecord | None:
    """The recorded upload; None when there is none or it cannot be read (that only costs one
    upload)."""
    try:
        found = json.loads(annotations.get(UPLOAD_ANNOTATION, ""))
        return UploadRecord(content_key=str(found["contentKey"]), etag=str(found["etag"]))
    except (ValueError, TypeError, KeyError):
        return None


def recorded_secret_macs(annotations: Mapping[str, str]) -> dict[str, str]:
    try:
        found = json.loads(annotations.get(SECRET_MACS_ANNOTATION, ""))
    except ValueError:
        return {}
    if not isinstance(found, dict):
        return {}
    return {str(name): mac for name, mac in found.items() if isinstance(mac, str)}


def adopted_upload(
    record: UploadRecord | None, content_key: str, cloudflare_etag: str | None
) -> UploadRecord | None:
    """The recorded upload when Cloudflare's Worker is still exactly it and the upload about to be
    made would carry the same content; None when an upload is needed."""
    if record is None or cloudflare_etag is None:
        return None
    if record.content_key != content_key or record.etag != cloudflare_etag:
        return None
    return record


class SecretMacs:
    """HMAC-SHA256 of a Worker secret's name and value under a key derived from the app's API
    token (and the Worker's name, so equal values of two Workers do not show as equal)."""

    def __init__(self, key: bytes, worker_name: str) -> None:
        self._key = hmac.new(key, worker_name.encode(), hashlib.sha256).digest()

    def __repr__(self) -> str:
        return "SecretMacs(<key not shown>)"

    def of(self, name: str, value: str) -> str:
        return hmac.new(self._key, name.encode() + b"\0" + value.encode(), hashlib.sha256).hexdigest()


def record_annotations(upload: UploadRecord | None, secret_macs: Mapping[str, str]) -> dict[str, str | None]:
    """The annotations that record these writes (None: remove the annotation)."""
    return {
        UPLOAD_ANNOTATION: (
            json.dumps({"contentKey": upload.content_key, "etag": upload.etag}, sort_keys=True)
            if upload is not None
            else None
        ),
        SECRET_MACS_ANNOTATION: json.dumps(dict(sorted(secret_macs.items()))) if secret_macs else None,
    }


def annotation_changes(current: Mapping[str, str], wanted: Mapping[str, str | None]) -> dict[str, str | None]:
    """The part of `wanted` the annotations do not already say."""
    return {key: value for key, value in wanted.items() if current.get(key) != value}
