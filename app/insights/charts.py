"""Every chart of the statistics pages: what it shows, who may see it, whether it may be made
public, and how its rows (from member_stats and event_stats) are labelled in the reader's
language. A chart is drawn by Chart.js from the same table that is shown beside it and
offered as CSV."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask_babel import format_date, format_datetime, format_decimal, format_percent, format_time
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.insights import event_stats, member_stats
from app.insights.cache import cached
from app.insights.periods import Period
from app.insights.privacy import OTHER, k_anonymous
from app.members.consents import CONSENT_LABELS
from app.members.forms import GENDER_CHOICES


@dataclass(frozen=True)
class Series:
    """One column of values: its heading, whether the chart draws it, what it counts."""

    label: Any
    charted: bool = True
    percent: bool = False
    people: bool = True  # a count of people: the public page holds it to the k rule


@dataclass(frozen=True)
class ChartSpec:
    """A chart: its rows come from `rows(period)` (or `rows(event)` for one event's charts)."""

    key: str
    title: Any
    description: Any
    section: str  # "members", "events" or "event" (one event's page)
    role: str
    category: Any
    series: tuple[Series, ...]
    rows: Callable[..., list]
    label: Callable[..., str]
    kind: str = "bar"
    horizontal: bool = False
    stacked: bool = False
    public: bool = False
    mergeable: bool = False  # rows are categories: small ones may be merged into "other"


@dataclass
class Table:
    """A chart's labelled rows, ready for the table, the chart and the CSV."""

    spec: ChartSpec
    series: list[Series]
    rows: list[tuple[str, list]] = field(default_factory=list)
    hidden: bool = False  # some small groups were merged or hidden (public page)

    @property
    def headings(self) -> list[str]:
        return [str(self.spec.category)] + [str(s.label) for s in self.series]

    def cells(self, values: list) -> list[str]:
        """The values as the reader writes numbers ('–' for a hidden one)."""
        return [format_value(v, s) for v, s in zip(values, self.series, strict=True)]

    def chart_data(self) -> dict:
        """What app/static/js/insights.js needs to draw the chart."""
        charted = [n for n, s in enumerate(self.series) if s.charted]
        return {
            "type": self.spec.kind,
            "horizontal": self.spec.horizontal,
            "stacked": self.spec.stacked,
            "percent": all(self.series[n].percent for n in charted),
            "labels": [label for label, _values in self.rows],
            "datasets": [
                {"label": str(self.series[n].label), "data": [v[n] for _l, v in self.rows]}
                for n in charted
            ],
        }


def format_value(value, series: Series) -> str:
    if value is None:
        return "–"
    if series.percent:
        return format_percent(value / 100, "#,##0.0%")
    return format_decimal(value)


# Labels ----------------------------------------------------------------------------------------


def month_label(key: str, context=None) -> str:
    year, month = (int(part) for part in key.split("-"))
    return format_date(date(year, month, 1), "MMM y")


def place_label(key: str, context=None) -> str:
    if key == OTHER:
        return _("Other")
    return key or _("Not stated")


def age_label(key: int, context=None) -> str:
    if key == -1:
        return _("Age not known")
    low, high = member_stats.AGE_BANDS[key]
    if low == 0:
        return _("Under %(age)s", age=high + 1)
    if high is None:
        return f"{low}+"
    return f"{low}–{high}"


def consent_label(key: str, context=None) -> str:
    return str(CONSENT_LABELS.get(key, key))


def event_label(key, context=None) -> str:
    if key == OTHER:
        return _("Other")
    _id, title, starts_at = key
    return f"{title} ({format_date(starts_at, 'short')})"


def day_label(key: int, context=None) -> str:
    if key == -1:
        return _("After the start")
    if key == event_stats.DAYS_SHOWN:
        return f"{format_decimal(key)}+"
    return format_decimal(key)


def arrival_label(key: int, event=None) -> str:
    return format_time(event.starts_at + timedelta(seconds=key * event_stats.ARRIVAL_STEP), "short")


def plain_label(key, context=None) -> str:
    return _("Other") if key == OTHER else str(key)


_GENDER_LABELS = dict(GENDER_CHOICES)
_PEOPLE = _l("Members")

CHARTS: tuple[ChartSpec, ...] = (
    ChartSpec(
        "members-active",
        _l("Members over time"),
        _l("Active members at the end of each month."),
        "members",
        "membership",
        _l("Month"),
        (Series(_PEOPLE),),
        member_stats.active_over_time,
        month_label,
        kind="line",
    ),
    ChartSpec(
        "members-joined",
        _l("Joined and left, by month"),
        _l("Members who joined and members whose membership ended, month by month."),
        "members",
        "membership",
        _l("Month"),
        (Series(_l("Joined")), Series(_l("Left")), Series(_l("Net change"), people=False)),
        member_stats.joined_and_ended,
        month_label,
        public=True,
    ),
    ChartSpec(
        "members-region",
        _l("Members by region"),
        _l("Active members today, by region."),
        "members",
        "membership",
        _l("Region"),
        (Series(_PEOPLE),),
        member_stats.by_region,
        place_label,
        horizontal=True,
        public=True,
        mergeable=True,
    ),
    ChartSpec(
        "members-municipality",
        _l("Members by municipality"),
        _l("Active members today, by municipality; the smallest are counted together."),
        "members",
        "membership",
        _l("Municipality"),
        (Series(_PEOPLE),),
        member_stats.by_municipality,
        place_label,
        horizontal=True,
        public=True,
        mergeable=True,
    ),
    ChartSpec(
        "members-age-gender",
        _l("Members by age and gender"),
        _l("Active members today, by the age they reach in the period's last year, and gender."),
        "members",
        "membership",
        _l("Age"),
        tuple(Series(_GENDER_LABELS[g]) for g in member_stats.GENDERS),
        member_stats.by_age_and_gender,
        age_label,
        stacked=True,
        public=True,
    ),
    ChartSpec(
        "group-sizes",
        _l("Group sizes"),
        _l("Members in each group today, the largest groups first."),
        "members",
        "membership",
        _l("Group"),
        (Series(_PEOPLE),),
        member_stats.group_sizes,
        plain_label,
        horizontal=True,
        public=True,
        mergeable=True,
    ),
    ChartSpec(
        "applications",
        _l("Applications"),
        _l("Applications received each month, by what became of them."),
        "members",
        "membership",
        _l("Month"),
        (Series(_l("Approved")), Series(_l("Rejected")), Series(_l("Waiting"))),
        member_stats.applications,
        month_label,
        stacked=True,
    ),
    ChartSpec(
        "approval-time",
        _l("Time to a decision"),
        _l("Decisions on applications each month, and the average days from application."),
        "members",
        "membership",
        _l("Month"),
        (
            Series(_l("Decisions"), charted=False),
            Series(_l("Average days"), people=False),
        ),
        member_stats.approval_days,
        month_label,
        kind="line",
    ),
    ChartSpec(
        "consents",
        _l("Consents"),
        _l("The share of active members who have given each consent."),
        "members",
        "membership",
        _l("Consent"),
        (
            Series(_l("Given"), charted=False),
            Series(_l("Active members"), charted=False),
            Series(_l("Share"), percent=True, people=False),
        ),
        member_stats.consent_rates,
        consent_label,
        horizontal=True,
    ),
    ChartSpec(
        "event-fill",
        _l("Registrations and capacity"),
        _l("Confirmed seats, the waiting list and the capacity of each event in the period."),
        "events",
        "organiser",
        _l("Event"),
        (
            Series(_l("Confirmed")),
            Series(_l("Waiting list")),
            Series(_l("Capacity"), people=False),
        ),
        event_stats.fill,
        event_label,
    ),
    ChartSpec(
        "waiting-list",
        _l("Waiting-list promotions"),
        _l("People who got a seat from the waiting list, and those still waiting, per event."),
        "events",
        "organiser",
        _l("Event"),
        (Series(_l("Promoted")), Series(_l("Still waiting"))),
        event_stats.promotions,
        event_label,
        stacked=True,
    ),
    ChartSpec(
        "no-shows",
        _l("No-shows"),
        _l("For events that have ended: who came, and who was confirmed but did not check in."),
        "events",
        "organiser",
        _l("Event"),
        (
            Series(_l("Checked in")),
            Series(_l("Did not come")),
            Series(_l("No-show rate"), charted=False, percent=True, people=False),
        ),
        event_stats.no_shows,
        event_label,
        stacked=True,
    ),
    ChartSpec(
        "registrations-before",
        _l("Registrations before the start"),
        _l("Registrations made each day before the events of the period started."),
        "events",
        "organiser",
        _l("Days before the start"),
        (Series(_l("Registrations")),),
        event_stats.days_before,
        day_label,
        public=True,
    ),
    ChartSpec(
        "event-registrations-before",
        _l("Registrations before the start"),
        _l("Registrations made each day before this event started."),
        "event",
        "organiser",
        _l("Days before the start"),
        (Series(_l("Registrations")),),
        lambda event: event_stats.days_before(None, event.id),
        day_label,
    ),
    ChartSpec(
        "event-arrivals",
        _l("Arrivals per 5 minutes"),
        _l("Check-ins at the door in each 5 minutes, by the time they began."),
        "event",
        "organiser",
        _l("Time"),
        (Series(_l("Arrivals")),),
        event_stats.arrivals,
        arrival_label,
    ),
)
BY_KEY = {spec.key: spec for spec in CHARTS}
PUBLIC_CHOICES = tuple(spec for spec in CHARTS if spec.public)


def charts_for(section: str) -> list[ChartSpec]:
    """The charts of a page section, in page order."""
    return [spec for spec in CHARTS if spec.section == section]


def build(spec: ChartSpec, scope) -> Table:
    """The chart's table for a period (or, for one event's charts, an event); cached briefly."""
    if spec.section == "event":
        # One event's charts are small (one indexed event) and live while the door is open.
        rows = spec.rows(scope)
    else:
        rows = cached((spec.key, scope), lambda: spec.rows(scope))
    return _labelled(spec, list(spec.series), rows, scope)


def build_public(spec: ChartSpec, period: Period) -> Table:
    """The chart as the public sees it: only counts of people, every group at least K."""
    keep = [n for n, s in enumerate(spec.series) if s.people]
    rows = cached((spec.key, period), lambda: spec.rows(period))
    rows = [(key, [values[n] for n in keep]) for key, values in rows]
    safe = k_anonymous(rows, spec.mergeable)
    hidden = safe != rows
    table = _labelled(spec, [spec.series[n] for n in keep], safe, period)
    table.hidden = hidden
    return table


def _labelled(spec: ChartSpec, series: list[Series], rows: list, scope) -> Table:
    context = scope if spec.section == "event" else None
    return Table(spec, series, [(spec.label(key, context), values) for key, values in rows])


def period_text(period: Period) -> str:
    """'1 Jan 2026 – 2 Dec 2026' in the reader's language."""
    return f"{format_date(period.start, 'medium')} – {format_date(period.end, 'medium')}"


def generated_text(moment) -> str:
    return format_datetime(moment, "short")
