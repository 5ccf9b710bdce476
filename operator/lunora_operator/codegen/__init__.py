"""TypeScript emitted for the Worker: the Container Durable Object classes."""
