"""The OpenAPI 3.1 description of /api/v1. Every API route must appear here (a test checks)."""

from flask import Flask

from app.api.openapi_common import ERROR, responses
from app.api.openapi_polls import POLL_PATHS
from app.members.records import ADDRESS_FIELDS

PATHS: dict = {
    "/api/v1/me": {
        "get": {
            "summary": "The user the token belongs to",
            "security": [{"token": []}],
            "responses": responses(
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
    # --- check-in (app/api/checkin.py): token of a user with the door role ---
    "/api/v1/checkin": {
        "post": {
            "summary": "Check in a ticket at an event's door (exactly once; idempotent by nonce)",
            "description": (
                "The code (or the ticket URL from its QR) is checked against the event's Ed25519 "
                "signature first. A retry with the same nonce returns the stored answer and "
                "records nothing new; the same nonce with another code answers 409. Every scan "
                "is written to the event's scan log. Rate limit: CHECKIN_RATE_LIMIT per token "
                "(default 1200 per minute), 429 with Retry-After above it."
            ),
            "security": [{"token": []}],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["code", "event_id", "nonce"],
                            "properties": {
                                "code": {"type": "string", "maxLength": 2000},
                                "event_id": {"type": "integer"},
                                "nonce": {
                                    "type": "string",
                                    "pattern": "^[A-Za-z0-9._:-]{1,100}$",
                                    "description": "A new random value per scan (a UUID).",
                                },
                                "device": {
                                    "type": "string",
                                    "description": "Optional: the scanner's name, for the log.",
                                },
                            },
                        }
                    }
                },
            },
            "responses": responses(
                {
                    "description": "The answer (200 whatever the status)",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": [
                                    "status",
                                    "registration",
                                    "checked_in_at",
                                    "checked_in_by",
                                ],
                                "properties": {
                                    "status": {
                                        "type": "string",
                                        "enum": [
                                            "ok",
                                            "already_checked_in",
                                            "wrong_event",
                                            "cancelled",
                                            "not_confirmed",
                                            "unknown",
                                        ],
                                    },
                                    "registration": {
                                        "type": ["object", "null"],
                                        "properties": {
                                            "id": {"type": "integer"},
                                            "name": {"type": "string"},
                                        },
                                    },
                                    "checked_in_at": {
                                        "type": ["string", "null"],
                                        "format": "date-time",
                                    },
                                    "checked_in_by": {"type": ["string", "null"]},
                                },
                            }
                        }
                    },
                },
                400,
                401,
                403,
                404,
                409,
                422,
                429,
            ),
        }
    },
    "/api/v1/checkin/undo": {
        "post": {
            "summary": "Undo a check-in",
            "security": [{"token": []}],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["registration_id"],
                            "properties": {"registration_id": {"type": "integer"}},
                        }
                    }
                },
            },
            "responses": responses(
                {
                    "description": "undone, or not_checked_in when there was nothing to undo",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "status": {
                                        "type": "string",
                                        "enum": ["undone", "not_checked_in"],
                                    },
                                    "registration": {
                                        "type": "object",
                                        "properties": {
                                            "id": {"type": "integer"},
                                            "name": {"type": "string"},
                                        },
                                    },
                                },
                            }
                        }
                    },
                },
                400,
                401,
                403,
                404,
                422,
                429,
            ),
        }
    },
    "/api/v1/events/{event_id}/checkin": {
        "get": {
            "summary": "Check-in counts of an event",
            "security": [{"token": []}],
            "parameters": [
                {"name": "event_id", "in": "path", "required": True, "schema": {"type": "integer"}}
            ],
            "responses": responses(
                {
                    "description": "Confirmed registrations and how many are checked in",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "event_id": {"type": "integer"},
                                    "confirmed": {"type": "integer"},
                                    "checked_in": {"type": "integer"},
                                },
                            }
                        }
                    },
                },
                401,
                403,
                404,
                429,
            ),
        }
    },
}

# --- members (app/api/members.py): token of a user with the membership role ---
_ADDRESS = {
    "type": "object",
    "properties": {name: {"type": "string"} for name in ADDRESS_FIELDS},
}
MEMBER = {
    "type": "object",
    "properties": {
        "id": {"type": "integer", "readOnly": True},
        "user_id": {"type": "integer", "readOnly": True},
        "status": {
            "type": "string",
            "enum": ["applied", "active", "rejected", "resigned"],
            "readOnly": True,
            "description": "Changes only through the lifecycle (approve, reject, end, reactivate) "
            "in the staff area; a PATCH with it answers 422.",
        },
        "full_name": {"type": "string"},
        "email": {"type": "string", "readOnly": True},
        "national_id": {
            "type": "string",
            "readOnly": True,
            "description": "In full; every response that carries it is audit-logged.",
        },
        "national_id_masked": {"type": "string", "readOnly": True, "example": "120190-****"},
        "national_id_country": {"type": "string", "readOnly": True, "example": "IS"},
        "birthday": {"type": ["string", "null"], "format": "date"},
        "gender": {"type": "string"},
        "phone": {"type": "string"},
        "secondary_email": {"type": "string"},
        "address": _ADDRESS,
        "job_title": {"type": "string"},
        "housing": {"type": "string"},
        "joined_on": {"type": ["string", "null"], "format": "date"},
        "ended_on": {"type": ["string", "null"], "format": "date", "readOnly": True},
        "is_test": {"type": "boolean"},
        "unions": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"union": {"type": "string"}, "member_number": {"type": "string"}},
            },
        },
        "consents": {
            "type": "object",
            "properties": {
                "reachable": {"type": "boolean"},
                "groupable": {"type": "boolean"},
                "newsletter": {"type": "boolean"},
            },
        },
        "groups": {
            "type": "array",
            "readOnly": True,
            "items": {
                "type": "object",
                "properties": {"slug": {"type": "string"}, "role": {"type": "string"}},
            },
        },
        "updated_at": {"type": "string", "format": "date-time", "readOnly": True},
    },
}
_MEMBER_ID = {"name": "member_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_INCLUDE_TEST = {
    "name": "include_test",
    "in": "query",
    "schema": {"type": "boolean"},
    "description": "Test records are left out unless 1.",
}
PATHS["/api/v1/members"] = {
    "get": {
        "summary": "List members (test records left out by default)",
        "description": "Filters combine. The national IDs returned are audit-logged.",
        "security": [{"token": []}],
        "parameters": [
            {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 1000}},
            {"name": "offset", "in": "query", "schema": {"type": "integer"}},
            {"name": "status", "in": "query", "schema": MEMBER["properties"]["status"]},
            {
                "name": "q",
                "in": "query",
                "schema": {"type": "string"},
                "description": "Name, e-mail, phone or exact national ID.",
            },
            {
                "name": "national_id",
                "in": "query",
                "schema": {"type": "string"},
                "description": "Exact national ID (matched through its keyed hash).",
            },
            {"name": "group", "in": "query", "schema": {"type": "integer"}},
            {"name": "municipality", "in": "query", "schema": {"type": "string"}},
            {"name": "joined_from", "in": "query", "schema": {"type": "string", "format": "date"}},
            {"name": "joined_to", "in": "query", "schema": {"type": "string", "format": "date"}},
            {
                "name": "updated_since",
                "in": "query",
                "schema": {"type": "string", "format": "date-time"},
            },
            _INCLUDE_TEST,
        ],
        "responses": responses(
            {
                "description": "A page of members",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "count": {"type": "integer"},
                                "next": {"type": ["string", "null"]},
                                "previous": {"type": ["string", "null"]},
                                "results": {"type": "array", "items": MEMBER},
                            },
                        }
                    }
                },
            },
            401,
            403,
            422,
            429,
        ),
    }
}
PATHS["/api/v1/members/{member_id}"] = {
    "get": {
        "summary": "One member",
        "security": [{"token": []}],
        "parameters": [_MEMBER_ID, _INCLUDE_TEST],
        "responses": responses(
            {"description": "The member", "content": {"application/json": {"schema": MEMBER}}},
            401,
            403,
            404,
            429,
        ),
    },
    "patch": {
        "summary": "Change fields of a member (field-level audit)",
        "description": (
            "Send only the fields to change. Read-only fields (national_id, email, id, ...) and "
            "unknown fields answer 422 with the field named in error.fields. DELETE answers 405."
        ),
        "security": [{"token": []}],
        "parameters": [_MEMBER_ID, _INCLUDE_TEST],
        "requestBody": {"required": True, "content": {"application/json": {"schema": MEMBER}}},
        "responses": responses(
            {"description": "The member", "content": {"application/json": {"schema": MEMBER}}},
            400,
            401,
            403,
            404,
            409,
            422,
            429,
        ),
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
        "paths": {**PATHS, **POLL_PATHS},
    }
