"""The operator's Prometheus metrics (the image pipeline keeps its own in images/metrics.py),
served by `lunora-operator run --metrics-port`."""

from __future__ import annotations

from prometheus_client import Counter

RECONCILES = Counter(
    "lunora_reconciles",
    "Reconcile passes, by kind and outcome (ready, waiting, transient, stalled)",
    ["kind", "result"],
)
APP_RENDERS = Counter("lunora_app_renders", "Runs of an app's shared render, by app", ["namespace", "app"])
STATUS_WRITES = Counter("lunora_status_writes", "Status patches written, by kind", ["kind"])
CONFIG_MAP_WRITES = Counter("lunora_config_map_writes", "Output ConfigMaps written")
CLOUDFLARE_REQUESTS = Counter(
    "lunora_cloudflare_requests", "HTTP requests sent to Cloudflare, by method", ["method"]
)
