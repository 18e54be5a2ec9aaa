"""The JSON API under /api/v1: token authentication, JSON errors, OpenAPI."""
