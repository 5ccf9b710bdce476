"""Reading and editing Cloudflare Wrangler configuration files."""
