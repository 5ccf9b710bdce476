"""The operator's Kubernetes edge: Secrets, ConfigMaps and status writes, off the event loop."""
