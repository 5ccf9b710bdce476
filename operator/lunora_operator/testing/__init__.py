"""Test support that users of the operator can reuse (test environment, fake Cloudflare API)."""
