"""The written-out GOV.UK select and submit button (templates/macros/forms.html), used where a page
renders them on every view, give the same markup as govuk_frontend_wtf's widgets, errors included."""
import re

from flask import render_template_string
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSelect, GovSubmitInput
from wtforms import SelectField, SubmitField

from marac.forms import choices


class PickForm(FlaskForm):
    class Meta:
        csrf = False

    agency = SelectField("Lead agency", widget=GovSelect(), coerce=int,
                         choices=choices([(0, "No lead agency"), (7, "Children's <Services>"), (9, "Police")]))
    submit = SubmitField("Set lead agency", widget=GovSubmitInput())


def _same(html: str) -> str:
    """Markup without the layout whitespace (and the empty attribute gap the component leaves)."""
    html = re.sub(r">\s+", ">", re.sub(r"\s+<", "<", html))
    return re.sub(r"\s+", " ", re.sub(r"\s+>", ">", html)).strip()


def _both(form, classes=""):
    light = render_template_string(
        "{% from 'macros/forms.html' import select, submit %}{{ select(form.agency) }}"
        "{{ submit(form.submit, classes) }}", form=form, classes=classes)
    params = {"classes": classes} if classes else {}
    component = render_template_string("{{ form.agency }}{{ form.submit(params=params) }}", form=form, params=params)
    return _same(light), _same(component)


def test_select_and_submit_match_the_components(app):
    with app.test_request_context("/?agency=7"):
        from werkzeug.datastructures import MultiDict

        form = PickForm(MultiDict({"agency": "7"}))
        light, component = _both(form, "govuk-button--secondary")
    assert light == component
    assert '<option value="7" selected>Children&#39;s &lt;Services&gt;</option>' in light


def test_select_with_an_error_matches_the_component(app):
    with app.test_request_context("/"):
        from werkzeug.datastructures import MultiDict

        form = PickForm(MultiDict({"agency": "8"}))
        assert not form.validate()
        light, component = _both(form)
    assert 'class="govuk-form-group govuk-form-group--error"' in light
    assert 'aria-describedby="agency-error"' in light
    assert light == component
