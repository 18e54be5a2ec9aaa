"""The caller's own account: GET|PATCH /api/v1/me and what belongs to me (any signed-in user)."""

from flask import g
from marshmallow import Schema, fields

from app.api.auth import token_required
from app.api.routes import bp


class MeSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)


@bp.get("/me", tags=["me"])
@token_required()
@bp.response(200, MeSchema)
def me():
    """The user the token belongs to."""
    user = g.api_user
    return {"id": user.id, "name": user.name, "email": user.email, "roles": sorted(user.role_names)}
