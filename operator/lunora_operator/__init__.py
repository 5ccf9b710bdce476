"""Kubernetes operator for Cloudflare Containers (LunoraContainer, LunoraApp)."""

__version__ = "0.1.0"
