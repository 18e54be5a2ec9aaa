"""The public statistics page (/stats/): only aggregates every group of which counts 5 or more."""

from flask import Blueprint, abort, render_template

from app.core.exports import FORMATS, table_response
from app.core.page_cache import public_page
from app.insights import public
from app.insights.charts import BY_KEY, build_public, period_text
from app.insights.periods import default_period

bp = Blueprint("insights", __name__, url_prefix="/stats")


@bp.get("/")
@public_page
def index():
    # One fixed period: a period chosen by the reader would let two answers be subtracted.
    period = default_period()
    tables = [build_public(spec, period) for spec in public.public_charts()]
    return render_template("insights/public.html", tables=tables, period_label=period_text(period))


@bp.get("/<key>.<fmt>")
def download(key: str, fmt: str):
    """A public chart's table (after the k rule) as CSV or XLSX."""
    spec = BY_KEY.get(key)
    if spec is None or fmt not in FORMATS or key not in public.public_keys():
        abort(404)
    table = build_public(spec, default_period())
    return table_response(
        f"statistics-{key}", table.headings, [[label, *values] for label, values in table.rows], fmt
    )
