"""Face encoders and the sha256-verified model registry."""
