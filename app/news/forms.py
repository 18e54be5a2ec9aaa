"""Forms for editors: posts, their translations, publishing, pages and the front page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.core.forms import FlaskForm
from app.core.i18n import LANGUAGE_NAMES
from app.core.markdown import MARKDOWN_HELP
from app.news.services import PostFields, split_labels

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
# The editor's own script (static/js/editor.js) turns these into EasyMDE editors; without
# JavaScript they stay plain textareas.
MARKDOWN = {"rows": 14, "data-markdown-editor": "1"}


def _language_choices():
    return [(code, name) for code, name in LANGUAGE_NAMES.items()]


class PostForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    summary = TextAreaField(
        _l("Summary"),
        validators=[Optional(), Length(max=500)],
        render_kw={"rows": 2},
        description=_l("One or two sentences, shown in lists, the feed and when shared."),
    )
    body = TextAreaField(_l("Text"), render_kw=MARKDOWN, description=MARKDOWN_HELP)
    language = SelectField(
        _l("Written in"),
        choices=_language_choices,
        description=_l("Versions in the other languages are added after saving."),
    )
    categories = StringField(
        _l("Categories"),
        validators=[Optional(), Length(max=500)],
        description=_l("Separate several with commas."),
    )
    tags = StringField(
        _l("Tags"),
        validators=[Optional(), Length(max=500)],
        description=_l("Separate several with commas."),
    )
    slug = StringField(
        _l("Address (slug)"),
        validators=[Optional(), Length(max=120)],
        description=_l("Made from the title when empty. An old address keeps working."),
    )
    cover = FileField(_l("Cover image"), description=_l("JPEG, PNG, WebP or GIF, at most 5 MB."))
    submit = SubmitField(_l("Save"))

    def fields_data(self) -> PostFields:
        return PostFields(
            title=self.title.data or "",
            summary=self.summary.data or "",
            body=self.body.data or "",
            language=self.language.data,
            slug=self.slug.data or "",
            categories=split_labels(self.categories.data),
            tags=split_labels(self.tags.data),
        )

    def fill_from(self, post) -> None:
        self.title.data, self.summary.data, self.body.data = post.title, post.summary, post.body
        self.language.data, self.slug.data = post.language, post.slug
        self.categories.data = ", ".join(c.name for c in post.categories)
        self.tags.data = ", ".join(t.name for t in post.tags)


class TranslationForm(FlaskForm):
    title = StringField(_l("Title"), validators=[Optional(), Length(max=200)])
    summary = TextAreaField(
        _l("Summary"), validators=[Optional(), Length(max=500)], render_kw={"rows": 2}
    )
    body = TextAreaField(_l("Text"), render_kw=MARKDOWN, description=MARKDOWN_HELP)
    submit = SubmitField(_l("Save this version"))


class PublishForm(FlaskForm):
    publish_at = DateTimeLocalField(
        _l("Publish at"),
        format=LOCAL_FORMAT,
        validators=[Optional()],
        description=_l("Leave empty to publish now; a later time schedules the post."),
    )
    submit = SubmitField(_l("Publish"))


class ActionForm(FlaskForm):
    """A button that only carries the CSRF token (unpublish, delete)."""

    submit = SubmitField(_l("Confirm"))


class PageTextForm(FlaskForm):
    title = StringField(_l("Title"), validators=[Optional(), Length(max=200)])
    body = TextAreaField(_l("Text"), render_kw=MARKDOWN, description=MARKDOWN_HELP)
    submit = SubmitField(_l("Save"))


class FrontPageForm(FlaskForm):
    show_events = BooleanField(_l("Show upcoming events"))
    events_count = IntegerField(
        _l("Number of events"), validators=[DataRequired(), NumberRange(min=1, max=12)]
    )
    show_news = BooleanField(_l("Show the latest news"))
    news_count = IntegerField(
        _l("Number of news posts"), validators=[DataRequired(), NumberRange(min=1, max=12)]
    )
    show_polls = BooleanField(_l("Show open polls (to members who may vote)"))
    show_call_to_action = BooleanField(_l("Show the call to sign up or apply for membership"))
    submit = SubmitField(_l("Save"))
