"""The records of the operator's Worker writes in the output's annotations, and the decision a new
process takes from them: adopt an upload only while Cloudflare holds exactly it, and never record a
secret value in a form that can be tested against guesses without the app's token."""

from __future__ import annotations

import hashlib
import json

from lunora_operator.reconcile.worker_records import (
    SECRET_MACS_ANNOTATION,
    UPLOAD_ANNOTATION,
    SecretMacs,
    UploadRecord,
    adopted_upload,
    annotation_changes,
    record_annotations,
    recorded_secret_macs,
    recorded_upload,
)

RECORD = UploadRecord(content_key="k1", etag="e1")


def test_an_upload_is_adopted_only_while_cloudflare_holds_it_and_the_content_is_the_same() -> None:
    assert adopted_upload(RECORD, "k1", "e1") == RECORD
    assert adopted_upload(RECORD, "k2", "e1") is None  # the bundle changed
    assert adopted_upload(RECORD, "k1", "e2") is None  # deployed over (wrangler, the dashboard)
    assert adopted_upload(RECORD, "k1", None) is None  # not read, or uploaded since it was read
    assert adopted_upload(None, "k1", "e1") is None


def test_the_records_read_back_what_was_written_and_unreadable_ones_count_as_none() -> None:
    written = record_annotations(RECORD, {"B": "mac-b", "A": "mac-a"})
    annotations = {key: value for key, value in written.items() if value is not None}
    assert recorded_upload(annotations) == RECORD
    assert recorded_secret_macs(annotations) == {"A": "mac-a", "B": "mac-b"}
    assert record_annotations(None, {}) == {UPLOAD_ANNOTATION: None, SECRET_MACS_ANNOTATION: None}
    for broken in ("", "{", "[]", '{"etag": "e1"}', "null"):
        assert recorded_upload({UPLOAD_ANNOTATION: broken}) is None
    for broken in ("", "{", "[]", "null", '"mac"'):
        assert recorded_secret_macs({SECRET_MACS_ANNOTATION: broken}) == {}
    assert recorded_secret_macs({SECRET_MACS_ANNOTATION: '{"A": "mac-a", "B": 1}'}) == {"A": "mac-a"}


def test_only_what_the_annotations_do_not_say_yet_is_patched() -> None:
    wanted = record_annotations(RECORD, {"A": "mac-a"})
    current = {key: value for key, value in wanted.items() if value is not None}
    assert annotation_changes(current, wanted) == {}
    assert annotation_changes({**current, "other": "kept"}, wanted) == {}
    assert annotation_changes(current, record_annotations(RECORD, {})) == {SECRET_MACS_ANNOTATION: None}
    assert annotation_changes({}, wanted) == wanted


def test_a_secret_mac_needs_the_key_and_differs_per_worker_name_and_value() -> None:
    macs = SecretMacs(b"key-from-the-token", "demo")
    mac = macs.of("API_KEY", "hunter2")
    assert mac == SecretMacs(b"key-from-the-token", "demo").of("API_KEY", "hunter2")
    assert mac != SecretMacs(b"another-token-key", "demo").of("API_KEY", "hunter2")
    assert mac != SecretMacs(b"key-from-the-token", "other").of("API_KEY", "hunter2")
    assert mac != macs.of("OTHER_KEY", "hunter2")
    assert mac != macs.of("API_KEY", "hunter3")
    # Not a digest anyone could compute from a guessed value.
    for guess in (b"hunter2", b"API_KEY\0hunter2", b"API_KEY\0hunter2\0"):
        assert mac not in (hashlib.sha256(guess).hexdigest(), hashlib.sha1(guess).hexdigest())
    assert "hunter2" not in json.dumps(record_annotations(None, {"API_KEY": mac}))
    assert "key-from-the-token" not in repr(macs)
