"""The voter's pages: my polls, the ballot, the receipt, results (live too) and receipt checks."""

from __future__ import annotations

from flask import abort, flash, jsonify, render_template, request
from flask_babel import format_percent
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.core.jobs import commit
from app.extensions import db

# mixing: imported for its periodic job (the factory imports this module, in the worker too).
from app.polls import bp, mixing  # noqa: F401
from app.polls.access import option_label, results_visible, voter_polls
from app.polls.ballots import (
    BallotError,
    InvalidBallot,
    cast,
    has_voted,
    my_answers,
    ranking_from_ranks,
    receipt_counted,
    voted_poll_ids,
)
from app.polls.electorate import eligible
from app.polls.models import Poll
from app.polls.tally import poll_results


@bp.app_context_processor
def poll_helpers():
    return {
        "option_label": option_label,
    }


@bp.app_template_filter("share")
def share(percent: float) -> str:
    """A percentage (0-100) in the reader's locale, one decimal: 42.5 -> "42,5 %" in Danish."""
    return format_percent((percent or 0) / 100, "#,##0.0%")


def _poll(poll_id: int) -> Poll:
    """A poll a voter may look at: drafts do not exist for them."""
    poll = db.get_or_404(Poll, poll_id)
    if poll.status == "draft":
        abort(404)
    return poll


@bp.get("/")
@login_required
def index():
    """Open polls I may vote in (with whether I have voted), then published results."""
    open_polls, published = voter_polls(current_user)
    voted = voted_poll_ids(current_user, [p.id for p in open_polls + published])
    return render_template(
        "polls/index.html", open_polls=open_polls, published=published, voted=voted
    )


def answers_from_form(poll: Poll, form) -> dict[str, list[int]]:
    """The ballot form as cast() takes it: radios/checkboxes `q<id>`, rank selects
    `rank-<question id>-<option id>` (a number, or empty for unranked)."""
    answers: dict[str, list[int]] = {}
    for question in poll.questions:
        if question.kind == "ranked":
            ranks = {}
            for option in question.options:
                raw = form.get(f"rank-{question.id}-{option.id}", "").strip()
                if raw:
                    if not raw.isdigit() or not 1 <= int(raw) <= len(question.options):
                        raise InvalidBallot(_("A rank is not a number on the list."))
                    ranks[option.id] = int(raw)
            answers[str(question.id)] = ranking_from_ranks(question, ranks)
        else:
            # The "blank" radio sends an empty value.
            values = [value for value in form.getlist(f"q{question.id}") if value != ""]
            if any(not value.isdigit() for value in values):
                raise InvalidBallot(
                    _("An option on the ballot is not one of the question's options.")
                )
            answers[str(question.id)] = [int(value) for value in values]
    return answers


def _ballot_page(poll: Poll, status: int = 200, chosen=None):
    voted = has_voted(poll, current_user)
    return (
        render_template(
            "polls/ballot.html",
            poll=poll,
            may_vote=eligible(poll, current_user),
            voted=voted,
            can_change=voted and not poll.secret and poll.may_change_vote,
            chosen=chosen if chosen is not None else my_answers(poll, current_user),
            results_visible=results_visible(poll, current_user),
        ),
        status,
    )


@bp.get("/<int:poll_id>")
@login_required
def ballot(poll_id: int):
    """The ballot (or why I cannot vote)."""
    return _ballot_page(_poll(poll_id))


@bp.post("/<int:poll_id>")
@login_required
def vote(poll_id: int):
    """Cast my ballot; the receipt is shown on this one answer and nowhere else."""
    poll = _poll(poll_id)
    try:
        receipt = cast(poll, current_user, answers_from_form(poll, request.form))
    except BallotError as error:
        db.session.rollback()
        flash(str(error.message), "danger")
        return _ballot_page(poll, error.status, chosen=_submitted(poll))
    commit()
    return render_template("polls/receipt.html", poll=poll, receipt=receipt)


def _submitted(poll: Poll) -> dict[int, list[int]]:
    """What the person had ticked, so a refused ballot is shown back as it was."""
    chosen: dict[int, list[int]] = {}
    for question in poll.questions:
        for option in question.options:
            raw = request.form.get(f"rank-{question.id}-{option.id}", "")
            if raw.isdigit():
                chosen.setdefault(question.id, []).append((int(raw), option.id))
        if question.id in chosen:
            chosen[question.id] = [o for _r, o in sorted(chosen[question.id])]
        else:
            values = request.form.getlist(f"q{question.id}")
            chosen[question.id] = [int(v) for v in values if v.isdigit()]
    return chosen


def _results_or_403(poll: Poll) -> dict:
    if not results_visible(poll, current_user):
        abort(403)
    results = poll_results(poll)
    labels = {o.id: option_label(o) for q in poll.questions for o in q.options}
    for question in results["questions"]:
        for option in question["options"]:
            option["text"] = labels[option["id"]]
    return results


@bp.get("/<int:poll_id>/results")
@login_required
def results(poll_id: int):
    """Counts, percentages, turnout, every round of ranked counts; live while the poll runs."""
    poll = _poll(poll_id)
    if not results_visible(poll, current_user):
        return render_template("polls/results.html", poll=poll, results=None), 403
    return render_template(
        "polls/results.html",
        poll=poll,
        results=_results_or_403(poll),
        live=poll.results_mode == "live" and poll.status == "open",
    )


@bp.get("/<int:poll_id>/results.json")
@login_required
def results_json(poll_id: int):
    """The results as JSON, for the live update of the results page."""
    poll = _poll(poll_id)
    body = _results_or_403(poll)
    body["status"] = poll.status
    # The page swaps in this fragment, so live updates read exactly like the first rendering.
    body["html"] = render_template("polls/_results.html", poll=poll, results=body)
    return jsonify(body)


@bp.post("/<int:poll_id>/receipt")
@login_required
def check_receipt(poll_id: int):
    """Was a ballot with this receipt counted? (Yes or no; never what it says.)"""
    poll = _poll(poll_id)
    code = request.form.get("receipt", "")[:64]
    counted = receipt_counted(poll, code)
    if counted:
        flash(_("A ballot with this receipt was counted."), "success")
    else:
        flash(_("No ballot with this receipt was found in this poll."), "warning")
    visible = results_visible(poll, current_user)
    return render_template(
        "polls/results.html",
        poll=poll,
        results=_results_or_403(poll) if visible else None,
        live=visible and poll.results_mode == "live" and poll.status == "open",
    )
