"""Home, health, language switch and public media."""

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy import text

from app.core import relay
from app.core.i18n import LANGUAGE_COOKIE
from app.core.page_cache import public_page
from app.core.security import is_safe_next
from app.core.storage import get_storage
from app.extensions import db, rq
from app.news.front import front_page

bp = Blueprint("core", __name__)


@bp.app_context_processor
def branding_values():
    """The association's name, logo and colour on every page (cached with the e-mail layout)."""
    from app.core.branding import page_branding

    branding = page_branding()
    return {"branding": branding, "organisation": branding["name"]}


@bp.get("/branding.css")
def branding_css():
    """The stylesheet that gives Bootstrap the association's colour (versioned by ?v=)."""
    from app.core.branding import stylesheet
    from app.core.mail_layout import current_layout

    response = make_response(stylesheet(current_layout().colour))
    response.mimetype = "text/css"
    response.cache_control.public = True
    response.cache_control.max_age = 86400 if request.args.get("v") else 60
    return response


@bp.get("/")
@public_page
def home():
    """The front page: welcome, call to action, events, news and polls, as staff chose."""
    return render_template("core/home.html", front=front_page(current_user, str(get_locale())))


def _check(fn) -> str:
    try:
        result = fn()
    except Exception as exc:  # the health page reports failures instead of raising them
        current_app.logger.warning("Health check failed: %s", type(exc).__name__)
        return "error"
    return result if isinstance(result, str) else "ok"


def _check_redis() -> str:
    if not current_app.config.get("REDIS_URL"):
        return "inline"
    rq.get_queue("default").connection.ping()
    return "ok"


@bp.get("/favicon.ico")
def favicon():
    """Browsers and feed readers ask for /favicon.ico whatever the page says: the site's icon."""
    return redirect(url_for("static", filename="img/favicon.svg"), 301)


@bp.get("/health")
def health():
    """JSON with the state of the database, Redis, storage and jobs; 503 when any is unusable.

    Jobs are "degraded" (still 200) when the oldest pending job is older than JOBS_HEALTH_MAX_AGE
    or a job is dead: the site works, but work is late and an admin should look.
    """
    checks = {
        "database": _check(lambda: db.session.execute(text("SELECT 1")).scalar_one()),
        "redis": _check(_check_redis),
        "storage": _check(lambda: get_storage().check()),
    }
    jobs_info: dict = {}
    if checks["database"] == "ok":
        try:
            overview = relay.overview()
        except Exception as exc:  # the jobs table is unreadable: reported, not raised
            current_app.logger.warning("Health check of jobs failed: %s", type(exc).__name__)
            checks["jobs"] = "error"
        else:
            late = overview["oldest_pending"] > current_app.config["JOBS_HEALTH_MAX_AGE"]
            checks["jobs"] = "degraded" if late or overview["counts"]["dead"] else "ok"
            jobs_info = {
                "oldest_pending_seconds": round(overview["oldest_pending"]),
                **{state: overview["counts"][state] for state in ("pending", "failed", "dead")},
            }
    db.session.rollback()
    healthy = all(checks[name] in ("ok", "inline") for name in ("database", "redis", "storage"))
    degraded = checks.get("jobs") != "ok"
    body = {
        "status": "error" if not healthy else ("degraded" if degraded else "ok"),
        "checks": checks,
        "jobs": jobs_info,
    }
    return jsonify(body), 200 if healthy else 503


@bp.route("/language/<code>", methods=["GET", "POST"])
def language(code: str):
    """Switch the language (cookie); a POST from the switcher also saves it on the account."""
    if code not in current_app.config["LANGUAGES"]:
        return redirect(url_for("core.home"))
    target = request.args.get("next") or request.referrer or ""
    if target.startswith(request.host_url):
        target = "/" + target[len(request.host_url) :]
    if not is_safe_next(target):
        target = url_for("core.home")
    response = make_response(redirect(target))
    response.set_cookie(
        LANGUAGE_COOKIE,
        code,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        httponly=True,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
    if request.method == "POST" and current_user.is_authenticated and current_user.locale != code:
        current_user.locale = code
        db.session.commit()
    return response


@bp.get("/media/<path:key>")
def media(key: str):
    """Public files (profile images, event images)."""
    # Keys are generated names ("avatars/abc.png"): anything climbing out of the area is no file.
    parts = key.split("/")
    if "\\" in key or any(part in ("", ".", "..") for part in parts):
        abort(404)
    return get_storage().serve("public", key)
