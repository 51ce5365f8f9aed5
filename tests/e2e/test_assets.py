"""Smoke test of the vendored front-end assets and static/js under the production CSP.

Uses a tiny Flask app of its own (not marac) serving the repository's real static/ folder, so it
checks the committed files: GOV.UK Frontend CSS and JS, htmx, SortableJS, app.js, govuk-supported.js.
"""
from pathlib import Path

import pytest
from flask import Flask, render_template
from jinja2 import ChoiceLoader, DictLoader, PackageLoader, PrefixLoader
from playwright.sync_api import expect

STATIC = Path(__file__).resolve().parents[2] / "static"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; "
       "base-uri 'none'; frame-ancestors 'none'")
HTMX_CONFIG = '{"includeIndicatorStyles":false,"historyCacheSize":0}'

TEMPLATES = {
    "page.html": """\
{%- from 'govuk_frontend_jinja/components/accordion/macro.html' import govukAccordion -%}
{%- from 'govuk_frontend_jinja/components/button/macro.html' import govukButton -%}
<!DOCTYPE html>
<html lang="en" class="govuk-template">
<head>
  <meta charset="utf-8">
  <title>Asset smoke test</title>
  <meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
  <meta name="htmx-config" content='{{ htmx_config }}'>
  <link rel="icon" href="{{ url_for('static', filename='favicon.svg') }}" type="image/svg+xml">
  <link rel="stylesheet" href="{{ url_for('static', filename='vendor/govuk/govuk-frontend.min.css') }}">
  <link rel="stylesheet" href="{{ url_for('static', filename='css/app.css') }}">
  <script src="{{ url_for('static', filename='vendor/htmx/htmx.min.js') }}" defer></script>
  <script src="{{ url_for('static', filename='vendor/sortable/Sortable.min.js') }}" defer></script>
  <script type="module" src="{{ url_for('static', filename='js/app.js') }}"></script>
</head>
<body class="govuk-template__body">
  <script src="{{ url_for('static', filename='js/govuk-supported.js') }}"></script>
  <a href="#main-content" class="govuk-skip-link" data-module="govuk-skip-link">Skip to main content</a>
  <div class="govuk-width-container">
    <main class="govuk-main-wrapper" id="main-content">
      <h1 class="govuk-heading-l">Asset smoke test</h1>
      {{ govukButton({'text': 'Show errors', 'attributes': {
          'hx-get': url_for('errors'), 'hx-target': '#result', 'hx-swap': 'innerHTML'}}) }}
      {{ govukButton({'text': 'Replace sections', 'classes': 'govuk-button--secondary', 'attributes': {
          'hx-get': url_for('sections'), 'hx-target': '#sections', 'hx-swap': 'outerHTML'}}) }}
      {{ govukButton({'text': 'Add a button', 'classes': 'govuk-button--secondary', 'attributes': {
          'hx-get': url_for('more'), 'hx-target': '#more', 'hx-swap': 'beforeend'}}) }}
      <div id="result"></div>
      {{ govukAccordion({'id': 'sections', 'items': [
          {'heading': {'text': 'Old section'}, 'content': {'text': 'Loaded with the page.'}}]}) }}
      <div id="more">
        {{ govukAccordion({'id': 'existing', 'items': [
            {'heading': {'text': 'Existing section'}, 'content': {'text': 'Started at page load.'}}]}) }}
      </div>
    </main>
  </div>
</body>
</html>
""",
    "_errors.html": """\
{%- from 'govuk_frontend_jinja/components/error-summary/macro.html' import govukErrorSummary -%}
{%- from 'govuk_frontend_jinja/components/input/macro.html' import govukInput -%}
{%- from 'govuk_frontend_jinja/components/accordion/macro.html' import govukAccordion -%}
{{ govukErrorSummary({'titleText': 'There is a problem', 'errorList': [{'text': 'Enter a name', 'href': '#name'}]}) }}
{{ govukInput({'id': 'name', 'name': 'name', 'label': {'text': 'Name'},
    'errorMessage': {'text': 'Enter a name'}}) }}
{{ govukAccordion({'id': 'swapped', 'items': [
    {'heading': {'text': 'Swapped section'}, 'content': {'text': 'Loaded by htmx.'}}]}) }}
""",
    "_sections.html": """\
{%- from 'govuk_frontend_jinja/components/accordion/macro.html' import govukAccordion -%}
{{ govukAccordion({'id': 'sections', 'items': [
    {'heading': {'text': 'New section'}, 'content': {'text': 'Swapped in with outerHTML.'}}]}) }}
""",
    "_more.html": """\
{%- from 'govuk_frontend_jinja/components/button/macro.html' import govukButton -%}
{{ govukButton({'text': 'Added button', 'classes': 'govuk-button--warning', 'attributes': {'id': 'added'}}) }}
""",
}


def make_app() -> Flask:
    app = Flask(__name__, static_folder=str(STATIC))  # the repository's real static files
    app.jinja_loader = ChoiceLoader([
        DictLoader(TEMPLATES),
        PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
    ])

    @app.after_request
    def security_headers(resp):
        resp.headers["Content-Security-Policy"] = CSP
        resp.headers["X-Content-Type-Options"] = "nosniff"  # a wrong MIME type would now fail to load
        return resp

    @app.get("/")
    def index():
        return render_template("page.html", htmx_config=HTMX_CONFIG)

    @app.get("/errors")
    def errors():
        return render_template("_errors.html")

    @app.get("/sections")
    def sections():
        return render_template("_sections.html")

    @app.get("/more")
    def more():
        return render_template("_more.html")

    return app


@pytest.fixture
def base_url(live_server_factory):
    return live_server_factory(make_app())


def test_assets_load_under_strict_csp(page, assert_accessible):
    response = page.goto("/")
    assert response.headers["content-security-policy"] == CSP
    # htmx read the meta tag, so it injects no inline <style> (which the CSP would block).
    assert page.evaluate("[htmx.version, htmx.config.includeIndicatorStyles, htmx.config.historyCacheSize]") == [
        "2.0.11", False, 0]
    assert page.locator("style").count() == 0
    assert page.evaluate("typeof Sortable.create") == "function"
    expect(page.locator("body")).to_have_class("govuk-template__body js-enabled govuk-frontend-supported")
    # initAll() ran from the app.js module: the accordion built its "Show all sections" button.
    expect(page.locator("#sections .govuk-accordion__show-all")).to_have_count(1)
    font = page.evaluate("getComputedStyle(document.querySelector('h1')).fontFamily")
    assert "GDS Transport" not in font and font.startswith("system-ui")
    assert_accessible(page)
    assert page.problems == []  # no CSP violation, console error or page error so far


def test_htmx_swaps_start_govuk_components(page, assert_accessible):
    page.goto("/")

    # innerHTML swap: components inside the target start, and the error summary takes focus.
    page.get_by_role("button", name="Show errors").click()
    expect(page.locator(".govuk-error-summary")).to_be_focused()
    expect(page.locator("#swapped .govuk-accordion__show-all")).to_have_count(1)
    assert_accessible(page)

    # outerHTML swap: the swapped element is itself the component.
    page.get_by_role("button", name="Replace sections").click()
    expect(page.locator("#sections")).to_contain_text("New section")
    expect(page.locator("#sections .govuk-accordion__show-all")).to_have_count(1)

    # beforeend swap: the target still holds a component started at page load; it is not started
    # twice (no error logged) and the new button starts.
    page.get_by_role("button", name="Add a button").click()
    expect(page.locator("#added")).to_have_attribute("data-govuk-button-init", "")
    expect(page.locator("#existing .govuk-accordion__show-all")).to_have_count(1)

    page.locator("#swapped .govuk-accordion__show-all").click()  # must not use sessionStorage
    assert page.problems == []
