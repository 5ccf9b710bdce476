"""What the libraries under the Cloudflare layer log: request bodies never, each HTTP request
only at DEBUG. Installed by `CloudflareClients` (once per process, whoever builds one)."""

from __future__ import annotations

import logging
from collections.abc import Mapping


class RequestOptionsRedactor(logging.Filter):
    """The SDK logs each request's JSON body at DEBUG ("Request options: …"), which would put
    Worker secret values into the operator's log; the record keeps only the method and path."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "Request options: %s":
            options = record.args[0] if isinstance(record.args, tuple) and record.args else None
            method, url = (
                (options.get("method"), options.get("url")) if isinstance(options, Mapping) else (None, None)
            )
            record.args = (f"{{'method': {method!r}, 'url': {url!r}, <body and headers redacted>}}",)
        return True


class RequestLinesAtDebug(logging.Filter):
    """httpx logs every request at INFO (`HTTP Request: GET …`): one line per Cloudflare call
    drowns the operator's own lines, which say what happened. They become DEBUG lines, shown
    only when the process logs at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and str(record.msg).startswith("HTTP Request:"):
            record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


def _add_once(logger_name: str, kind: type[logging.Filter]) -> None:
    logger = logging.getLogger(logger_name)
    if not any(isinstance(existing, kind) for existing in logger.filters):
        logger.addFilter(kind())


def install_log_filters() -> None:
    _add_once("cloudflare._base_client", RequestOptionsRedactor)
    _add_once("httpx", RequestLinesAtDebug)
