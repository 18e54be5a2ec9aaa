"""The design card's stack with nothing of Félag in it: the memory floor for a Félag worker.

Flask with the extensions DESIGN.md fixes (Flask-SQLAlchemy over psycopg 3, Flask-Login,
Flask-WTF, Flask-Babel, Flask-Mail, Flask-Bootstrap), RQ on Redis, limits for the login's rate
limit, and flask-smorest with marshmallow for the JSON API, each set up as an app would. One
mapped table; every page reads the session, runs one query and renders a translated template.
Served by gunicorn with bench/gunicorn.conf.py, like the app. Flask-Migrate (alembic) is left
out: Félag, too, imports it only for the command line.
"""

from __future__ import annotations

import os

import flask_smorest
import marshmallow
from flask import Flask, render_template_string, session
from flask_babel import Babel, gettext
from flask_bootstrap import Bootstrap5
from flask_login import LoginManager, UserMixin
from flask_mail import Mail
from flask_rq import RQ
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

db = SQLAlchemy()


class Person(UserMixin, db.Model):
    __tablename__ = "stack_floor_people"
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(100), nullable=False)


class PersonSchema(marshmallow.Schema):
    id = marshmallow.fields.Int()
    name = marshmallow.fields.Str()


app = Flask(__name__)
app.config.update(
    SECRET_KEY=os.environ["SECRET_KEY"],
    SQLALCHEMY_DATABASE_URI=os.environ["DATABASE_URL"].replace(
        "postgresql://", "postgresql+psycopg://", 1
    ),
    RQ_REDIS_URL=os.environ["REDIS_URL"],
    API_TITLE="floor",
    API_VERSION="1",
    OPENAPI_VERSION="3.1.0",
)
db.init_app(app)
login = LoginManager(app)
CSRFProtect(app)
Babel(app)
Mail(app)
Bootstrap5(app)
rq = RQ(app)
api = flask_smorest.Api(app)
limiter = MovingWindowRateLimiter(storage_from_string(os.environ["REDIS_URL"]))
LIMIT = parse("1000000/minute")
people = flask_smorest.Blueprint("people", __name__, url_prefix="/api/people")


@people.route("/<int:person_id>")
@people.response(200, PersonSchema)
def person(person_id: int):
    return db.get_or_404(Person, person_id)


api.register_blueprint(people)


@login.user_loader
def load_user(user_id: str):
    return db.session.get(Person, int(user_id))


# current_user comes from Flask-Login's context processor, as in Félag's templates.
PAGE = """<!doctype html><title>{{ title }}</title><p>{{ _("Hello") }}, {{ name }}
{% if current_user.is_authenticated %}({{ current_user.name }}){% endif %}</p>"""


@app.get("/")
def home() -> str:
    limiter.hit(LIMIT, "floor")
    session["seen"] = session.get("seen", 0) + 1
    first = db.session.scalar(db.select(Person).order_by(Person.id).limit(1))
    return render_template_string(PAGE, title=gettext("Home"), name=first.name)


with app.app_context():
    db.create_all()
    if db.session.scalar(db.select(Person).limit(1)) is None:
        db.session.add(Person(name="Floor"))
        db.session.commit()
    db.engine.dispose()  # the workers open their own connections after the fork
