"""Staff routes for polls (role membership; admins too): set up, open, close, publish, export."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.core.errors import DomainError
from app.core.exports import table_response
from app.core.forms import apply_error
from app.core.jobs import commit
from app.core.security import roles_required
from app.extensions import db
from app.models import Event, Group, User
from app.polls import setup
from app.polls import tasks as _tasks  # noqa: F401  (registers the poll clock at app start)
from app.polls.access import option_label, results_visible
from app.polls.electorate import preview_size
from app.polls.forms import (
    ELECTORATE_LABELS,
    KIND_LABELS,
    RESULTS_LABELS,
    STATUS_LABELS,
    ActionForm,
    PollForm,
    QuestionForm,
)
from app.polls.models import Ballot, BallotChoice, Poll, PollQuestion
from app.polls.tally import poll_results

# Nested under the staff blueprint by the factory: /staff/polls/...
bp = Blueprint("polls", __name__, url_prefix="/polls")

ROLE = "membership"


def _poll_form() -> PollForm:
    form = PollForm()
    groups = db.session.scalars(select(Group).order_by(Group.name)).all()
    events = db.session.scalars(
        select(Event).where(Event.status != "cancelled").order_by(Event.starts_at.desc()).limit(200)
    ).all()
    # How many each rule admits right now (the electorate is fixed only when voting opens).
    sizes = {kind: preview_size(Poll(electorate_kind=kind)) for kind in ("members", "users")}
    form.set_choices(groups, events, sizes)
    return form


def _labels() -> dict:
    return {
        "status_labels": STATUS_LABELS,
        "electorate_labels": ELECTORATE_LABELS,
        "results_labels": RESULTS_LABELS,
        "kind_labels": KIND_LABELS,
        "option_label": option_label,
    }


@bp.get("/")
@roles_required(ROLE)
def polls():
    page = db.paginate(
        select(Poll).order_by(Poll.created_at.desc(), Poll.id.desc()), per_page=25, error_out=False
    )
    return render_template("polls/staff/list.html", page=page, **_labels())


@bp.route("/new", methods=["GET", "POST"])
@roles_required(ROLE)
def poll_new():
    form = _poll_form()
    if form.validate_on_submit():
        try:
            poll = setup.create_poll(form.fields_data(), [], current_user)
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            commit()
            flash(_("The poll is saved as a draft. Add its questions."), "success")
            return redirect(url_for("staff.polls.poll_detail", poll_id=poll.id))
    return render_template("polls/staff/form.html", form=form, poll=None, **_labels())


@bp.get("/<int:poll_id>/")
@roles_required(ROLE)
def poll_detail(poll_id: int):
    poll = db.get_or_404(Poll, poll_id)
    return render_template(
        "polls/staff/detail.html",
        poll=poll,
        size=setup.electorate_size(poll),
        form=ActionForm(),
        can_see_results=results_visible(poll, current_user),
        **_labels(),
    )


@bp.route("/<int:poll_id>/edit", methods=["GET", "POST"])
@roles_required(ROLE)
def poll_edit(poll_id: int):
    poll = db.get_or_404(Poll, poll_id)
    if poll.status in ("closed", "published"):
        flash(_("A closed poll cannot be changed."), "warning")
        return redirect(url_for("staff.polls.poll_detail", poll_id=poll.id))
    form = _poll_form()
    if request.method == "GET":
        form.fill_from(setup.PollFields.from_poll(poll))
    elif not poll.is_editable:
        # Fixed once open (and shown disabled, so not sent): keep the stored values.
        stored = setup.PollFields.from_poll(poll)
        for name in setup.PollFields.__dataclass_fields__:
            if name not in setup.OPEN_EDITABLE:
                getattr(form, name).data = getattr(stored, name)
    if form.validate_on_submit():
        fields = form.fields_data()
        if not poll.is_editable:
            fields.opens_at = poll.opens_at  # the stored time, not its minute-rounded form
        try:
            setup.update_poll(poll, fields)
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            commit()
            flash(_("The poll is saved."), "success")
            return redirect(url_for("staff.polls.poll_detail", poll_id=poll.id))
    return render_template("polls/staff/form.html", form=form, poll=poll, **_labels())


def _question(poll_id: int, question_id: int) -> PollQuestion:
    question = db.get_or_404(PollQuestion, question_id)
    if question.poll_id != poll_id:
        abort(404)
    return question


@bp.route("/<int:poll_id>/questions/new", methods=["GET", "POST"])
@roles_required(ROLE)
def question_new(poll_id: int):
    poll = db.get_or_404(Poll, poll_id)
    form = QuestionForm()
    if form.validate_on_submit():
        try:
            setup.add_question(poll, form.fields_data())
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            commit()
            flash(_("The question is added."), "success")
            return redirect(url_for("staff.polls.poll_detail", poll_id=poll.id))
    return render_template(
        "polls/staff/question.html", form=form, poll=poll, question=None, **_labels()
    )


@bp.route("/<int:poll_id>/questions/<int:question_id>/edit", methods=["GET", "POST"])
@roles_required(ROLE)
def question_edit(poll_id: int, question_id: int):
    question = _question(poll_id, question_id)
    poll = question.poll
    form = QuestionForm()
    if request.method == "GET":
        form.fill_from(question)
    if form.validate_on_submit():
        try:
            setup.update_question(question, form.fields_data())
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            commit()
            flash(_("The question is saved."), "success")
            return redirect(url_for("staff.polls.poll_detail", poll_id=poll.id))
    return render_template(
        "polls/staff/question.html", form=form, poll=poll, question=question, **_labels()
    )


@bp.post("/<int:poll_id>/questions/<int:question_id>/delete")
@roles_required(ROLE)
def question_delete(poll_id: int, question_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    question = _question(poll_id, question_id)
    try:
        setup.delete_question(question)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
    else:
        commit()
        flash(_("The question is removed."), "success")
    return redirect(url_for("staff.polls.poll_detail", poll_id=poll_id))


def _action(poll_id: int, action, message: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    poll = db.get_or_404(Poll, poll_id)
    try:
        action(poll)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
    else:
        commit()
        flash(message, "success")
    return redirect(url_for("staff.polls.poll_detail", poll_id=poll_id))


@bp.post("/<int:poll_id>/schedule")
@roles_required(ROLE)
def poll_schedule(poll_id: int):
    return _action(poll_id, setup.schedule, _("The poll is scheduled: it opens by itself."))


@bp.post("/<int:poll_id>/unschedule")
@roles_required(ROLE)
def poll_unschedule(poll_id: int):
    return _action(poll_id, setup.unschedule, _("The poll is a draft again."))


@bp.post("/<int:poll_id>/open")
@roles_required(ROLE)
def poll_open(poll_id: int):
    return _action(
        poll_id,
        lambda poll: setup.open_poll(poll, current_user.id),
        _("Voting is open. Everyone who may vote is being told by e-mail."),
    )


@bp.post("/<int:poll_id>/close")
@roles_required(ROLE)
def poll_close(poll_id: int):
    return _action(
        poll_id, lambda poll: setup.close_poll(poll, current_user.id), _("Voting is closed.")
    )


@bp.post("/<int:poll_id>/publish")
@roles_required(ROLE)
def poll_publish(poll_id: int):
    return _action(poll_id, setup.publish_results, _("The results are published."))


def _visible_poll(poll_id: int) -> Poll:
    poll = db.get_or_404(Poll, poll_id)
    if not results_visible(poll, current_user):
        abort(404)
    return poll


@bp.get("/<int:poll_id>/results")
@roles_required(ROLE)
def poll_results_view(poll_id: int):
    poll = db.get_or_404(Poll, poll_id)
    results = poll_results(poll) if results_visible(poll, current_user) else None
    return render_template("polls/staff/results.html", poll=poll, results=results, **_labels())


@bp.get("/<int:poll_id>/results.csv", defaults={"fmt": "csv"})
@bp.get("/<int:poll_id>/results.xlsx", defaults={"fmt": "xlsx"})
@roles_required(ROLE)
def poll_results_csv(poll_id: int, fmt: str):
    poll = _visible_poll(poll_id)
    results = poll_results(poll)
    options = {o.id: option_label(o) for q in poll.questions for o in q.options}
    header = [_("Question"), _("Option"), _("Votes"), _("Percent"), _("Elected")]
    rows: list[list] = []
    for question in results["questions"]:
        elected = set(question["elected"])
        for option in question["options"]:
            rows.append(
                [
                    question["text"],
                    options[option["id"]],
                    option["votes"],
                    option["percent"],
                    _("yes") if option["id"] in elected else "",
                ]
            )
        rows.append(
            [question["text"], _("Blank"), question["blank"], question["blank_percent"], ""]
        )
    rows += [[], [_("Electorate"), results["electorate"]], [_("Voted"), results["voted"]]]
    return table_response(f"poll-{poll.id}-results", header, rows, fmt)


@bp.get("/<int:poll_id>/ballots.csv", defaults={"fmt": "csv"})
@bp.get("/<int:poll_id>/ballots.xlsx", defaults={"fmt": "xlsx"})
@roles_required(ROLE)
def poll_ballots_csv(poll_id: int, fmt: str):
    """Every ballot, one row per answered question. Secret ballots carry no voter column, and
    only once voting has closed: a list taken while voting runs would show which ballot came
    when, and so whose it is."""
    poll = _visible_poll(poll_id)
    if poll.secret and poll.status not in ("closed", "published"):
        flash(_("The ballots of a secret poll can be exported once voting has closed."), "warning")
        return redirect(url_for("staff.polls.poll_detail", poll_id=poll.id))
    questions = {q.id: q for q in poll.questions}
    options = {o.id: option_label(o) for q in poll.questions for o in q.options}
    stmt = (
        select(Ballot.id, Ballot.user_id, BallotChoice.question_id, BallotChoice.option_id)
        .join(BallotChoice, BallotChoice.ballot_id == Ballot.id)
        .where(Ballot.poll_id == poll.id)
        .order_by(Ballot.id, BallotChoice.question_id, BallotChoice.rank)
    )
    grouped: dict[tuple[str, int], list[int]] = {}
    voters: dict[str, int | None] = {}
    for ballot_id, user_id, question_id, option_id in db.session.execute(stmt):
        grouped.setdefault((ballot_id, question_id), []).append(option_id)
        voters[ballot_id] = user_id
    numbers = {ballot_id: n for n, ballot_id in enumerate(sorted(voters), start=1)}
    header = [_("Ballot"), _("Question"), _("Answer (in order of preference when ranked)")]
    names: dict[int, User] = {}
    if not poll.secret:
        header = [_("Ballot"), _("Voter"), _("E-mail address"), *header[1:]]
        ids = [uid for uid in voters.values() if uid]
        names = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}
    rows = []
    for (ballot_id, question_id), chosen in grouped.items():
        answer = "; ".join(options[o] for o in chosen)
        text = questions[question_id].text
        if poll.secret:
            rows.append([numbers[ballot_id], text, answer])
        else:
            voter = names.get(voters[ballot_id])
            rows.append(
                [
                    numbers[ballot_id],
                    voter.name if voter else "",
                    voter.email if voter else "",
                    text,
                    answer,
                ]
            )
    return table_response(f"poll-{poll.id}-ballots", header, rows, fmt)
