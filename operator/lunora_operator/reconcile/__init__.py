"""Reconcile logic as plain async functions over typed inputs; kopf wiring lives in `handlers/`."""
