"""The polls part of the OpenAPI description (app/api/polls.py): staff (role membership) set up;
voters cast with their own token."""

from app.api.openapi_common import responses

POLL_PATHS: dict = {}

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
POLL_PATHS["/api/v1/polls"] = {
    "get": {
        "summary": "Polls: staff see all; others those they may vote in and published ones",
        "security": [{"token": []}],
        "parameters": [
            {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 1000}},
            {"name": "offset", "in": "query", "schema": {"type": "integer"}},
        ],
        "responses": responses(
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
            **{k: v for k, v in responses({}, 400, 401, 403, 422, 429).items() if k != "200"},
        },
    },
}
POLL_PATHS["/api/v1/polls/{poll_id}"] = {
    "get": {
        "summary": "One poll (404 when the caller may not see it)",
        "security": [{"token": []}],
        "parameters": [_POLL_ID],
        "responses": responses({"description": "The poll", **_POLL_ANSWER}, 401, 404, 429),
    }
}
for _action, _summary in (
    ("open", "Open voting now (role membership): fixes the electorate and e-mails it"),
    ("close", "Close voting now (role membership)"),
):
    POLL_PATHS[f"/api/v1/polls/{{poll_id}}/{_action}"] = {
        "post": {
            "summary": _summary,
            "description": "409 when the poll is not in a state that allows it.",
            "security": [{"token": []}],
            "parameters": [_POLL_ID],
            "responses": responses(
                {"description": "The poll", **_POLL_ANSWER}, 401, 403, 404, 409, 422, 429
            ),
        }
    }
POLL_PATHS["/api/v1/polls/{poll_id}/ballots"] = {
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
                for k, v in responses({}, 400, 401, 403, 404, 409, 422, 429).items()
                if k != "200"
            },
        },
    }
}
POLL_PATHS["/api/v1/polls/{poll_id}/results"] = {
    "get": {
        "summary": "Results: counts, blank, turnout, ranked rounds and who is elected",
        "description": (
            "403 before publication for people who are not staff (live results: to the "
            "electorate while voting runs)."
        ),
        "security": [{"token": []}],
        "parameters": [_POLL_ID],
        "responses": responses(
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
