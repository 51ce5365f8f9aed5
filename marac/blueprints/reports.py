"""Steering-group reports (issue 9): the report page, the cases behind a figure, spreadsheets, the
SafeLives return. Every request is a GET: nothing changes but the audit log."""
import threading
import time
from datetime import date

from flask import Blueprint, abort, current_app, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from marac import actions, htmx, nav, panels, reports, settings
from marac.access import CHAIR, COORDINATOR, deny, roles_required
from marac.forms.reports import PeriodForm, QuarterForm

bp = Blueprint("reports", __name__, url_prefix="/reports")
REPORT_ROLES = (COORDINATOR, CHAIR)
# A rendered report is kept this long: a year's figures take a tenth of a second or more to work out,
# and the page is opened again and again while a steering-group paper is written. The figures hold
# nothing about the user (coordinator and chair may open every case), so one copy serves both; each
# panel's report is kept apart (the key holds the panel in view).
CACHE_SECONDS = 60
_cache_lock = threading.Lock()
nav.register("Reports", "reports.index", REPORT_ROLES, 60,
             also=["reports.cases", "reports.safelives", "reports.county"])


def _user():
    return current_user._get_current_object()


def _period_form() -> tuple[PeriodForm, reports.Period | None]:
    """The period asked for (the quarter so far when nothing was asked), or None with errors shown."""
    if not request.args.get("period") and not request.args.get("year"):
        form = PeriodForm(None)
        form.fill(reports.default_period())
        return form, form.period_value
    form = PeriodForm(request.args)
    return form, form.period_value if form.validate() else None


def _valid_args(form) -> dict:
    """The query arguments of the form's own fields that passed validation, as the form parsed them:
    what a redirect or link carries back (SECURITY.md 29). Never the incoming query string, which
    may hold anything someone typed into a URL, a name included."""
    args = {}
    for name, field in form._fields.items():
        if name == "submit" or field.errors or field.data in (None, ""):
            continue
        data = field.data
        args[name] = [str(data.day), str(data.month), str(data.year)] if isinstance(data, date) else str(data)
    return args


def _spreadsheet(data: bytes, name: str):
    response = make_response(data)
    response.headers["Content-Type"] = reports.XLSX
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _report_body(period: reports.Period, fresh: bool) -> Markup:
    """The report's figures rendered (tables, charts), from this app's short-lived cache when fresh enough."""
    cache = current_app.extensions.setdefault("marac_reports", {})
    # One lock per report being worked out: requests for the same period meanwhile wait for that one
    # result instead of each working it out too (16 users opening a year's report at 100,000 cases
    # would otherwise share the CPU sixteen ways, every one of them waiting for all of them).
    building_locks = current_app.extensions.setdefault("marac_reports_building", {})
    key = (period, actions.today(), panels.current_panel_id())  # each panel's figures are its own (issue 12)
    asked = time.monotonic()
    with _cache_lock:
        for old in [k for k, (at, _) in cache.items() if asked - at > CACHE_SECONDS]:
            del cache[old]
        hit = None if fresh else cache.get(key)
        if hit is None:
            building = building_locks.setdefault(key, threading.Lock())
    if hit is not None:
        return hit[1]
    with building:
        with _cache_lock:
            hit = cache.get(key)
        if hit is not None and hit[0] >= asked - (CACHE_SECONDS if not fresh else 0):
            return hit[1]  # worked out by another request while this one waited (after it asked, when fresh)
        now = time.monotonic()
        # Our own template's output, escaped as it was rendered.
        body = Markup(render_template("reports/_body.html", report=reports.build(period)))  # noqa: S704  # nosec B704
        with _cache_lock:
            cache[key] = (now, body)
            building_locks.pop(key, None)
    return body


# At most this many period pickers are kept (their markup depends on the query string, which anyone can vary).
FORMS_KEPT = 64


def _period_form_html(form: PeriodForm) -> Markup:
    """The period picker rendered. A valid one is kept as long as a report: its markup depends only on
    the query string (a GET form, no CSRF token) and the day, and the GOV.UK component macros that
    render its radios and date inputs cost several times the rest of a cached report's page."""
    def render() -> Markup:
        # Our own template's output, escaped as it was rendered.
        return Markup(render_template("reports/_period_form.html", form=form,  # noqa: S704  # nosec B704
                                      action=request.endpoint))

    if form.errors:
        return render()
    cache = current_app.extensions.setdefault("marac_report_forms", {})
    # The form's own fields only: another argument changes nothing in the markup (and a name typed into a
    # URL is not kept in memory).
    key = (request.endpoint, tuple((k, tuple(request.args.getlist(k))) for k in form._fields if k != "submit"),
           actions.today())
    now = time.monotonic()
    with _cache_lock:
        for old in [k for k, (at, _) in cache.items() if now - at > CACHE_SECONDS]:
            del cache[old]
        hit = cache.get(key)
    if hit is not None:
        return hit[1]
    html = render()
    with _cache_lock:
        if len(cache) < FORMS_KEPT:
            cache[key] = (now, html)
    return html


@bp.get("/")
@roles_required(*REPORT_ROLES)
def index():
    """The panel's figures for a period: tables, charts, links to the cases behind each figure."""
    form, period = _period_form()
    body = _report_body(period, fresh=bool(request.args.get("fresh"))) if period else None
    if period:
        reports.record_view(_user(), period)
    return htmx.render("reports/index.html", "reports/_report.html", form=form, report_body=body,
                       period_form=_period_form_html(form), several_panels=len(panels.panel_ids_for(_user())) > 1)


def _county_panels():
    """The panels this user may work in, when there are several; otherwise the county report does not
    exist for them (404, audited: a one-panel user has nothing to compare)."""
    mine = panels.panels_for(_user())
    if len(mine) < 2:
        deny(404, object_type="report", object_id="county")
    return mine


@bp.get("/county")
@roles_required(*REPORT_ROLES)
def county():
    """The panels this user works in side by side, with their total, for a county steering group."""
    mine = _county_panels()
    form, period = _period_form()
    table = reports.county_table(period, mine) if period else None
    if period:
        reports.record_view(_user(), period, "county", panels=[p.id for p in mine])
    return htmx.render("reports/county.html", "reports/_county.html", form=form, table=table, period=period,
                       period_form=_period_form_html(form))


@bp.get("/county.xlsx")
@roles_required(*REPORT_ROLES)
def county_export():
    """The county table as a spreadsheet."""
    mine = _county_panels()
    form, period = _period_form()
    if period is None:
        return redirect(url_for("reports.county", **_valid_args(form)))
    data = reports.workbook([reports.county_table(period, mine)], period, "Panels side by side")
    reports.record_export(_user(), period, "county")
    return _spreadsheet(data, reports.export_name("county", period))


@bp.get("/export/<key>.xlsx")
@roles_required(*REPORT_ROLES)
def export(key):
    """One report table (or all of them, key "all") as a spreadsheet."""
    if key != "all" and key not in reports.TABLE_ORDER:
        abort(404)
    form, period = _period_form()
    if period is None:
        return redirect(url_for("reports.index", **_valid_args(form)))
    report = reports.build(period)
    tables = [report.tables[k] for k in reports.TABLE_ORDER] if key == "all" else [report.tables[key]]
    data = reports.workbook(tables, period, settings.get("panel_name"))
    reports.record_export(_user(), period, key)
    return _spreadsheet(data, reports.export_name("report" if key == "all" else key, period))


@bp.get("/cases")
@roles_required(*REPORT_ROLES)
def cases():
    """The cases behind one figure, by case number: only cases this user may open."""
    figure = request.args.get("figure", "")
    if not reports.figure_known(figure):
        abort(404)
    form, period = _period_form()
    if period is None:
        return redirect(url_for("reports.index", **_valid_args(form)))
    agency_id = request.args.get("agency", type=int)
    side = request.args.get("side", "")
    page = max(request.args.get("page", 1, type=int), 1)
    try:
        behind = reports.cases_behind(period, figure, _user(), agency_id=agency_id, side=side, page=page)
    except reports.ReportError:
        abort(404)
    reports.record_view(_user(), period, "cases", figure=figure, agency_id=agency_id, side=side)
    agency = reports.agency_name(agency_id) if agency_id else ""
    # The page links carry the validated period, figure, agency and side only (SECURITY.md 29).
    args = {**period.args(), "figure": figure}
    if agency_id:
        args["agency"] = agency_id
    if side in ("police", "partner"):
        args["side"] = side
    return render_template("reports/cases.html", behind=behind, period=period, figure=figure, agency=agency,
                           side=side, page=page, args=args)


def _quarter_form() -> tuple[QuarterForm, reports.Period | None]:
    if not request.args.get("year"):
        form = QuarterForm(None)
        form.fill(reports.default_period().shifted(-1))  # the last whole quarter: the one to send
        return form, form.period_value
    form = QuarterForm(request.args)
    return form, form.period_value if form.validate() else None


@bp.get("/safelives")
@roles_required(*REPORT_ROLES)
def safelives():
    """The SafeLives data return for a quarter: one row per meeting, ready to download."""
    form, period = _quarter_form()
    table = reports.safelives_table(period) if period else None
    if table:
        reports.record_view(_user(), period, "safelives")
    return render_template("reports/safelives.html", form=form, period=period, table=table)


@bp.get("/safelives.xlsx")
@roles_required(*REPORT_ROLES)
def safelives_export():
    """The SafeLives data return as a spreadsheet."""
    form, period = _quarter_form()
    if period is None:
        return redirect(url_for("reports.safelives", **_valid_args(form)))
    data = reports.workbook([reports.safelives_table(period)], period, settings.get("panel_name"))
    reports.record_export(_user(), period, "safelives")
    return _spreadsheet(data, reports.export_name("safelives-return", period))
