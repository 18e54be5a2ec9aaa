"""Membership forms: applying, the member's own record and consents, and the staff forms."""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TelField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from app.core.forms import FlaskForm
from app.members.consents import CONSENT_TEXTS
from app.members.groups import KIND_LABELS
from app.members.groups import ROLE_LABELS as GROUP_ROLE_LABELS
from app.members.titles import TITLE_LABELS

GENDER_CHOICES = [
    ("", _l("Not stated")),
    ("female", _l("Woman")),
    ("male", _l("Man")),
    ("nonbinary", _l("Non-binary")),
    ("other", _l("Other")),
]
HOUSING_CHOICES = [
    ("", _l("Not stated")),
    ("owner", _l("Own home")),
    ("renter", _l("Rented home")),
    ("cooperative", _l("Housing cooperative")),
    ("student", _l("Student housing")),
    ("family", _l("Living with family")),
    ("other", _l("Other")),
]


def _optional_id(value) -> str:
    """A select of ids with an empty choice: None (nothing chosen) stays empty."""
    return "" if value is None else str(value)


# Babel's territories that are no country: unions, test codes, and the exceptionally reserved
# codes of places that belong to another country (Ascension, Tristan da Cunha, Canary Islands...).
NOT_A_REGION = {"EU", "EZ", "UN", "ZZ", "QO", "XA", "XB", "AC", "CP", "CQ", "DG", "EA", "IC", "TA"}


def country_choices() -> list[tuple[str, str]]:
    """Every country, named in the current language, Iceland and Denmark first."""
    from babel import Locale

    names = Locale.parse(str(get_locale())).territories
    countries = sorted(
        (
            (code, name)
            for code, name in names.items()
            if len(code) == 2 and code.isalpha() and code not in NOT_A_REGION
        ),
        key=lambda item: item[1],
    )
    first = [c for c in countries if c[0] in ("IS", "DK")]
    return first + [c for c in countries if c[0] not in ("IS", "DK")]


class _Countries:
    def _fill_countries(self, *fields):
        choices = country_choices()
        for field in fields:
            field.choices = choices


class RecordForm(FlaskForm, _Countries):
    """The fields of the member record a member keeps themselves."""

    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    birthday = DateField(_l("Birthday"), validators=[Optional()])
    gender = SelectField(_l("Gender (optional)"), choices=GENDER_CHOICES, default="")
    phone = TelField(_l("Phone"), validators=[Optional(), Length(max=40)])
    secondary_email = EmailField(
        _l("Second e-mail address (optional)"), validators=[Optional(), Length(max=320)]
    )
    street = StringField(_l("Street"), validators=[Optional(), Length(max=200)])
    house_number = StringField(_l("House number"), validators=[Optional(), Length(max=20)])
    apartment = StringField(_l("Apartment, floor or c/o"), validators=[Optional(), Length(max=40)])
    postal_code = StringField(_l("Postal code"), validators=[Optional(), Length(max=20)])
    city = StringField(_l("City or town"), validators=[Optional(), Length(max=100)])
    municipality = StringField(_l("Municipality"), validators=[Optional(), Length(max=100)])
    region = StringField(_l("Region"), validators=[Optional(), Length(max=100)])
    country = SelectField(_l("Country"), validators=[DataRequired()])
    job_title = StringField(_l("Job title"), validators=[Optional(), Length(max=200)])
    housing = SelectField(_l("Housing (optional)"), choices=HOUSING_CHOICES, default="")
    unions = TextAreaField(
        _l("Union memberships"),
        validators=[Optional(), Length(max=2000)],
        description=_l("One union a line, with your member number after a colon: Efling: 12345"),
    )
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._fill_countries(self.country)


class ApplicationForm(RecordForm):
    national_id_country = SelectField(_l("Country of the national ID number"))
    national_id = StringField(
        _l("National ID number"),
        validators=[Optional(), Length(max=40)],
        description=_l("In Iceland your kennitala, like 120190-3269."),
    )
    reachable = BooleanField(CONSENT_TEXTS["reachable"])
    groupable = BooleanField(CONSENT_TEXTS["groupable"])
    newsletter = BooleanField(CONSENT_TEXTS["newsletter"])
    submit = SubmitField(_l("Send application"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._fill_countries(self.national_id_country)


class ConsentForm(FlaskForm):
    reachable = BooleanField(CONSENT_TEXTS["reachable"])
    groupable = BooleanField(CONSENT_TEXTS["groupable"])
    newsletter = BooleanField(CONSENT_TEXTS["newsletter"])
    submit = SubmitField(_l("Save my choices"))


class ResignForm(FlaskForm):
    reason = TextAreaField(_l("Why are you leaving? (optional)"), validators=[Length(max=2000)])
    confirm = BooleanField(
        _l("Yes, end my membership"),
        id="resign-confirm",
        validators=[InputRequired(message=_l("Tick the box to confirm."))],
    )
    submit = SubmitField(_l("Resign"))


class ErasureForm(FlaskForm):
    confirm = BooleanField(
        _l("Yes, erase my personal data"),
        id="erasure-confirm",
        validators=[InputRequired(message=_l("Tick the box to confirm."))],
    )
    submit = SubmitField(_l("Ask for erasure"))


class ActionForm(FlaskForm):
    """A button that needs only the CSRF token (join, leave, approve, reveal)."""

    submit = SubmitField(_l("Confirm"))


class UnsubscribeForm(FlaskForm):
    submit = SubmitField(_l("Unsubscribe"))


# -- staff --------------------------------------------------------------------------------------


class StaffRecordForm(RecordForm):
    national_id_country = SelectField(_l("Country of the national ID number"))
    national_id = StringField(
        _l("New national ID number"),
        validators=[Optional(), Length(max=40)],
        description=_l("Leave empty to keep the number on record."),
    )
    remove_national_id = BooleanField(_l("Remove the national ID number"))
    joined_on = DateField(_l("Joined on"), validators=[Optional()])
    is_test = BooleanField(_l("Test record (left out of lists, exports, counts and the API)"))
    reachable = BooleanField(CONSENT_TEXTS["reachable"])
    groupable = BooleanField(CONSENT_TEXTS["groupable"])
    newsletter = BooleanField(CONSENT_TEXTS["newsletter"])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._fill_countries(self.national_id_country)


class RejectForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason"),
        validators=[DataRequired(), Length(max=2000)],
        description=_l("The applicant receives this text by e-mail."),
    )
    submit = SubmitField(_l("Reject"))


class EndForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[Length(max=2000)])
    submit = SubmitField(_l("End membership"))


class NoteForm(FlaskForm):
    text = TextAreaField(_l("Note"), validators=[DataRequired(), Length(max=10000)])
    tags = StringField(
        _l("Tags"), validators=[Length(max=300)], description=_l("Separate tags with commas.")
    )
    submit = SubmitField(_l("Add note"))


class TitleForm(FlaskForm):
    kind = SelectField(_l("Title"), choices=list(TITLE_LABELS.items()))
    custom_title = StringField(_l("Title, when other"), validators=[Length(max=100)])
    group_id = SelectField(
        _l("Group"), coerce=_optional_id, choices=[], default="", id="title-group_id"
    )
    starts_on = DateField(_l("From"), validators=[DataRequired()])
    ends_on = DateField(_l("To (optional)"), validators=[Optional()])
    submit = SubmitField(_l("Add title"))


class EndTitleForm(FlaskForm):
    ends_on = DateField(_l("Ends on"), validators=[Optional()])
    submit = SubmitField(_l("End title"))


class AddToGroupForm(FlaskForm):
    group_id = SelectField(_l("Group"), coerce=_optional_id, choices=[])
    role = SelectField(_l("Role in the group"), choices=list(GROUP_ROLE_LABELS.items()))
    custom_role = StringField(_l("Role, when other"), validators=[Length(max=100)])
    submit = SubmitField(_l("Add to group"))


class GroupRoleForm(FlaskForm):
    role = SelectField(_l("Role in the group"), choices=list(GROUP_ROLE_LABELS.items()))
    custom_role = StringField(_l("Role, when other"), validators=[Length(max=100)])
    submit = SubmitField(_l("Change role"))


class GroupForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    slug = StringField(
        _l("Address"),
        validators=[Length(max=100)],
        description=_l("The last part of the group's web address; made from the name when empty."),
    )
    kind = SelectField(_l("Kind"), choices=list(KIND_LABELS.items()))
    description = TextAreaField(_l("Description"), validators=[Length(max=5000)])
    parent_id = SelectField(_l("Part of"), coerce=_optional_id, choices=[], default="")
    capacity = IntegerField(
        _l("Capacity"),
        validators=[Optional()],
        description=_l("How many members the group takes; empty for no limit."),
    )
    recruiting = BooleanField(_l("Recruiting: members may join on their own"))
    submit = SubmitField(_l("Save group"))


class ImportForm(FlaskForm):
    file = FileField(
        _l("CSV or Excel file"),
        validators=[FileRequired(message=_l("Choose a file."))],
        description=_l(
            "CSV in UTF-8 (comma or semicolon separated) or an Excel workbook (XLSX), "
            "with a header row."
        ),
    )
    submit = SubmitField(_l("Check the file"))


class ImportConfirmForm(FlaskForm):
    upload = HiddenField(validators=[DataRequired()])
    submit = SubmitField(_l("Import the members"))


class AnonymiseForm(FlaskForm):
    confirm = BooleanField(
        _l("I understand: the person's data is removed for good"),
        validators=[InputRequired(message=_l("Tick the box to confirm."))],
    )
    submit = SubmitField(_l("Anonymise"))
