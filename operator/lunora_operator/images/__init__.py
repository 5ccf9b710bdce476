"""Image builds, content-addressed tags and registry pushes (docker SDK)."""
