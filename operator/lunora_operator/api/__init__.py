"""The resources users write: pydantic models (the single source of truth), validation
rules shared with the CRDs, naming, and CRD generation."""
