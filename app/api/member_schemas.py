"""What the member-sync API reads and answers: a member record, its parts and the list filters."""

from __future__ import annotations

from flask_babel import gettext as _
from marshmallow import Schema, ValidationError, fields, pre_load, validate

from app.api.schemas import PageArgs, StrictBoolean, Text
from app.members.directory import MEMBERSHIP_STATUSES
from app.members.records import ADDRESS_FIELDS, STATUS_NOT_EDITABLE


def _date(**kwargs) -> fields.String:
    """A date as YYYY-MM-DD (checked by the members domain, which knows what makes sense)."""
    return fields.String(allow_none=True, metadata={"format": "date"}, **kwargs)


AddressSchema = Schema.from_dict(
    {name: fields.String() for name in ADDRESS_FIELDS}, name="AddressSchema"
)


class UnionSchema(Schema):
    union = Text(max_length=200, required=True)
    member_number = Text(max_length=60, load_default="")


class ConsentsSchema(Schema):
    reachable = StrictBoolean()
    groupable = StrictBoolean()
    newsletter = StrictBoolean()


class GroupRoleSchema(Schema):
    slug = fields.String(required=True)
    role = fields.String(required=True)


class MemberSchema(Schema):
    """A member record. PATCH takes the writable fields; a read-only one answers 422."""

    id = fields.Integer(dump_only=True)
    user_id = fields.Integer(dump_only=True)
    status = fields.String(
        dump_only=True,
        validate=validate.OneOf(MEMBERSHIP_STATUSES),
        metadata={
            "description": "Changes only through the lifecycle (approve, reject, end, "
            "reactivate) in the staff area; a PATCH with it answers 422."
        },
    )
    full_name = fields.String()
    email = fields.String(dump_only=True)
    national_id = fields.String(
        dump_only=True,
        allow_none=True,
        metadata={"description": "In full; every response that carries it is audit-logged."},
    )
    national_id_masked = fields.String(dump_only=True, metadata={"example": "120190-****"})
    national_id_country = fields.String(dump_only=True, metadata={"example": "IS"})
    birthday = _date()
    gender = fields.String()
    phone = fields.String()
    secondary_email = fields.String()
    address = fields.Nested(AddressSchema)
    job_title = fields.String()
    housing = fields.String()
    joined_on = _date()
    ended_on = _date(dump_only=True)
    is_test = StrictBoolean()
    unions = fields.List(fields.Nested(UnionSchema))
    consents = fields.Nested(ConsentsSchema)
    groups = fields.List(fields.Nested(GroupRoleSchema), dump_only=True)
    updated_at = fields.String(dump_only=True, metadata={"format": "date-time"})

    @pre_load
    def refuse_read_only(self, data, **kwargs):
        """Name the read-only fields sent, with why (the status has its own steps)."""
        if isinstance(data, dict):
            errors = {
                key: [
                    str(STATUS_NOT_EDITABLE) if key == "status" else _("This field is read-only.")
                ]
                for key in data
                if key in self.fields and key not in self.load_fields
            }
            if errors:
                raise ValidationError(errors)
        return data


class MemberListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(MEMBERSHIP_STATUSES))
    q = fields.String(metadata={"description": "Name, e-mail, phone or exact national ID."})
    national_id = fields.String(
        metadata={"description": "Exact national ID (matched through its keyed hash)."}
    )
    group = fields.Integer(metadata={"description": "A group's id"})
    municipality = fields.String()
    joined_from = fields.Date()
    joined_to = fields.Date()
    updated_since = fields.AwareDateTime()
    include_test = fields.Boolean(
        load_default=False, metadata={"description": "Test records are left out unless 1."}
    )


class IncludeTestArgs(Schema):
    include_test = fields.Boolean(
        load_default=False, metadata={"description": "Test records are left out unless 1."}
    )
