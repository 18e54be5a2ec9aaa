"""The JSON API under /api/v1: token authentication, JSON errors, a generated OpenAPI.

How an endpoint is written (flask-smorest on marshmallow; app/api/spec.py, app/api/schemas.py):

    class ThingIn(Schema):               # the request body; unknown keys answer 422
        name = Text(max_length=200, required=True)
        event_id = Id(required=True)      # strict JSON integers that fit an id column
        public = StrictBoolean()          # JSON true/false only

    @bp.post("/things", tags=["things"])
    @token_required("organiser")          # documents the token scheme, 401, 403 and 429
    @errors(404, 409)                     # further error answers, in the error shape
    @bp.arguments(ThingIn)                # parses and validates; a 422 names every field
    @bp.response(201, ThingSchema)        # dumps the answer: documented = what is sent
    def thing_create(data: dict): ...

Query parameters: `@bp.arguments(PageArgs, location="query")`; lists answer
`page(results, count, limit, offset)` through `@bp.response(200, page_of(ThingSchema))`.
Services raise DomainError as everywhere; app/core/errors.py answers
{"error": {"code", "message", "fields"}}. GET /api/v1/openapi.json is generated from the
decorators, so a view without them is described without its body.
"""
