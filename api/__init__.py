"""HTTP layer (FastAPI app factory, routers, error envelope). Lands with the service issue."""
