"""Hand-written OpenAPI paths of the members and polls endpoints (being replaced by schemas)."""

from app.api.openapi_common import responses
from app.api.openapi_polls import POLL_PATHS
from app.members.records import ADDRESS_FIELDS

PATHS: dict = {}

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


def legacy_paths() -> dict:
    """The members' and polls' paths, until their endpoints declare schemas."""
    return {**PATHS, **POLL_PATHS}
