"""The OpenAPI 3.1 description of /api/v1. Every API route must appear here (a test checks)."""

from flask import Flask

from app.members.records import ADDRESS_FIELDS

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
            "responses": _responses(
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
            "responses": _responses(
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
            "responses": _responses(
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
        "responses": _responses(
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
        "responses": _responses(
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
        "responses": _responses(
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


# --- polls (app/api/polls.py): staff (role membership) set up; voters cast with their own token ---
_POLL_ID = {"name": "poll_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_OPTION = {
    "type": "object",
    "properties": {
        "id": {"type": "integer", "readOnly": True},
        "text": {"type": "string"},
        "value": {"type": ["string", "null"], "enum": ["yes", "no", "abstain", None]},
    },
}
_QUESTION = {
    "type": "object",
    "required": ["text", "kind"],
    "properties": {
        "id": {"type": "integer", "readOnly": True},
        "text": {"type": "string", "maxLength": 500},
        "kind": {"type": "string", "enum": ["yes_no", "single", "multiple", "ranked"]},
        "max_choices": {"type": "integer", "minimum": 1, "description": "multiple: at most"},
        "seats": {
            "type": "integer",
            "minimum": 1,
            "description": "ranked: 1 = instant runoff, more = STV with the Droop quota",
        },
        "options": {
            "type": "array",
            "description": "In a request: texts (none for yes_no, which gets yes/no/abstain). "
            "In an answer: objects with their ids.",
            "items": {"oneOf": [{"type": "string", "maxLength": 300}, _OPTION]},
        },
    },
}
POLL = {
    "type": "object",
    "properties": {
        "id": {"type": "integer", "readOnly": True},
        "title": {"type": "string", "maxLength": 200},
        "description": {"type": "string"},
        "status": {
            "type": "string",
            "enum": ["draft", "scheduled", "open", "closed", "published"],
            "readOnly": True,
        },
        "secret": {"type": "boolean", "default": True},
        "results": {"type": "string", "enum": ["after_close", "live"]},
        "may_change_vote": {"type": "boolean", "description": "Open ballots only."},
        "reminder_hours_before": {"type": ["integer", "null"], "minimum": 1},
        "electorate": {
            "type": "object",
            "properties": {
                "kind": {"type": "string", "enum": ["members", "users", "group", "event"]},
                "group": {"type": ["string", "null"], "description": "The group's slug"},
                "event_id": {"type": ["integer", "null"]},
                "size": {
                    "type": ["integer", "null"],
                    "readOnly": True,
                    "description": "Fixed when the poll opens; null before.",
                },
            },
        },
        "opens_at": {"type": ["string", "null"], "format": "date-time"},
        "closes_at": {"type": ["string", "null"], "format": "date-time"},
        "opened_at": {"type": ["string", "null"], "format": "date-time", "readOnly": True},
        "closed_at": {"type": ["string", "null"], "format": "date-time", "readOnly": True},
        "published_at": {"type": ["string", "null"], "format": "date-time", "readOnly": True},
        "voted": {
            "type": ["boolean", "null"],
            "readOnly": True,
            "description": "Whether the caller has voted in it.",
        },
        "questions": {"type": "array", "items": _QUESTION},
    },
}
_ROUND = {"type": "object", "description": "A stage of the ranked count"}
_POLL_ANSWER = {"content": {"application/json": {"schema": POLL}}}
PATHS["/api/v1/polls"] = {
    "get": {
        "summary": "Polls: staff see all; others those they may vote in and published ones",
        "security": [{"token": []}],
        "parameters": [
            {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 1000}},
            {"name": "offset", "in": "query", "schema": {"type": "integer"}},
        ],
        "responses": _responses(
            {
                "description": "A page of polls",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "count": {"type": "integer"},
                                "next": {"type": ["string", "null"]},
                                "previous": {"type": ["string", "null"]},
                                "results": {"type": "array", "items": POLL},
                            },
                        }
                    }
                },
            },
            401,
            422,
            429,
        ),
    },
    "post": {
        "summary": "Create a poll with its questions (role membership)",
        "description": (
            "A draft; with both opens_at and closes_at it is scheduled and opens by itself at "
            "opens_at (at once if that has passed). Times are ISO 8601 with a timezone. "
            "Answers 201 with the poll as GET shows it."
        ),
        "security": [{"token": []}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": POLL}}},
        "responses": {
            "201": {"description": "The poll", **_POLL_ANSWER},
            **{k: v for k, v in _responses({}, 400, 401, 403, 422, 429).items() if k != "200"},
        },
    },
}
PATHS["/api/v1/polls/{poll_id}"] = {
    "get": {
        "summary": "One poll (404 when the caller may not see it)",
        "security": [{"token": []}],
        "parameters": [_POLL_ID],
        "responses": _responses({"description": "The poll", **_POLL_ANSWER}, 401, 404, 429),
    }
}
for _action, _summary in (
    ("open", "Open voting now (role membership): fixes the electorate and e-mails it"),
    ("close", "Close voting now (role membership)"),
):
    PATHS[f"/api/v1/polls/{{poll_id}}/{_action}"] = {
        "post": {
            "summary": _summary,
            "description": "409 when the poll is not in a state that allows it.",
            "security": [{"token": []}],
            "parameters": [_POLL_ID],
            "responses": _responses(
                {"description": "The poll", **_POLL_ANSWER}, 401, 403, 404, 409, 422, 429
            ),
        }
    }
PATHS["/api/v1/polls/{poll_id}/ballots"] = {
    "post": {
        "summary": "Cast the caller's ballot (the voter's own token); exactly one per person",
        "description": (
            "answers maps a question id to option ids, in preference order for ranked "
            "questions; a question left out is blank. The receipt is in this answer only: it "
            "is never stored (only its hash) or e-mailed. Errors: 403 not_eligible, "
            "409 already_voted, 409 closed, 422 invalid (too many choices, an unknown option, "
            "a duplicate rank)."
        ),
        "security": [{"token": []}],
        "parameters": [_POLL_ID],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["answers"],
                        "properties": {
                            "answers": {
                                "type": "object",
                                "additionalProperties": {
                                    "type": "array",
                                    "items": {"type": "integer"},
                                },
                            }
                        },
                    }
                }
            },
        },
        "responses": {
            "201": {
                "description": "Counted",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {"receipt": {"type": "string"}},
                        }
                    }
                },
            },
            **{
                k: v
                for k, v in _responses({}, 400, 401, 403, 404, 409, 422, 429).items()
                if k != "200"
            },
        },
    }
}
PATHS["/api/v1/polls/{poll_id}/results"] = {
    "get": {
        "summary": "Results: counts, blank, turnout, ranked rounds and who is elected",
        "description": (
            "403 before publication for people who are not staff (live results: to the "
            "electorate while voting runs)."
        ),
        "security": [{"token": []}],
        "parameters": [_POLL_ID],
        "responses": _responses(
            {
                "description": "The results",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "electorate": {"type": "integer"},
                                "voted": {"type": "integer"},
                                "questions": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "id": {"type": "integer"},
                                            "options": {
                                                "type": "array",
                                                "items": {
                                                    "type": "object",
                                                    "properties": {
                                                        "id": {"type": "integer"},
                                                        "text": {"type": "string"},
                                                        "votes": {"type": "integer"},
                                                    },
                                                },
                                            },
                                            "rounds": {"type": "array", "items": _ROUND},
                                            "elected": {
                                                "type": "array",
                                                "items": {"type": "integer"},
                                            },
                                        },
                                    },
                                },
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
