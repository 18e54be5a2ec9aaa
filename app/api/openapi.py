"""The OpenAPI 3.1 description of /api/v1. Every API route must appear here (a test checks)."""

from flask import Flask

ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object"},
            },
            "required": ["code", "message"],
        }
    },
}


def _responses(ok: dict, *errors: int) -> dict:
    responses = {"200": ok}
    for status in errors:
        responses[str(status)] = {
            "description": "Error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    return responses


PATHS: dict = {
    "/api/v1/me": {
        "get": {
            "summary": "The user the token belongs to",
            "security": [{"token": []}],
            "responses": _responses(
                {
                    "description": "The user",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "id": {"type": "integer"},
                                    "name": {"type": "string"},
                                    "email": {"type": "string"},
                                    "roles": {"type": "array", "items": {"type": "string"}},
                                },
                            }
                        }
                    },
                },
                401,
                429,
            ),
        }
    },
    "/api/v1/openapi.json": {
        "get": {"summary": "This description", "responses": {"200": {"description": "OpenAPI"}}}
    },
}


def build_spec(app: Flask) -> dict:
    """The spec, with the server URL from BASE_URL."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Félag API", "version": "1"},
        "servers": [{"url": app.config["BASE_URL"]}],
        "components": {
            "securitySchemes": {
                "token": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "Authorization: Token <key> (or Bearer <key>)",
                }
            },
            "schemas": {"Error": ERROR},
        },
        "paths": PATHS,
    }
