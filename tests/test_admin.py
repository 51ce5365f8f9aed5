"""The coordinator's admin pages: role checks on every admin route, agencies and users created and
changed through the forms, field errors shown the GOV.UK way, audit rows that name fields but
never their values, and extra form fields that change nothing (SECURITY.md checks 13, 22)."""
import html
import json
import re
from datetime import date

import pytest
from marac_testing import TEST_PASSWORD, login

from marac import passwords
from marac.models import Agency, AuditEvent, User, UserSession

NON_COORDINATOR_ROLES = ["chair", "representative", "referrer", "observer"]
NEW_PASSWORD = "amber kettle mountain ninety"


def admin_rules(app):
    return sorted((r for r in app.url_map.iter_rules() if r.endpoint.startswith("admin.")), key=lambda r: r.rule)


def admin_urls(app, agency, user):
    """(method, url) for every admin route: new admin routes are covered without editing this test."""
    values = {"agency_id": agency.id, "user_id": user.id}
    urls = []
    for rule in admin_rules(app):
        missing = set(rule.arguments) - set(values)
        assert not missing, f"{rule.rule}: give test_admin.admin_urls a value for {missing}"
        url = rule.build({k: values[k] for k in rule.arguments})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            urls.append((method, url))
    return urls


def last_event(action=None) -> AuditEvent:
    query = AuditEvent.select().order_by(AuditEvent.id.desc())
    if action:
        query = query.where(AuditEvent.action == action)
    return query.first()


def field_errors(body: str) -> dict:
    """Field id -> error text shown beside the field (GOV.UK error message)."""
    return {m.group(1): html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", m.group(2)))).replace(
        "Error:", "").strip()
            for m in re.finditer(r'<p id="([\w-]+)-error" class="govuk-error-message">(.*?)</p>', body, re.S)}


def summary_links(body: str) -> dict:
    """href -> text of the links in the GOV.UK error summary."""
    start = body.find('class="govuk-error-summary"')
    assert start != -1, "no error summary"
    end = body.find("</ul>", start)
    return {m.group(1): html.unescape(m.group(2).strip())
            for m in re.finditer(r'<a href="#([\w-]+)">(.*?)</a>', body[start:end], re.S)}


def assert_form_errors(response, expected: dict):
    """Every expected error is in the summary (linking to the field) and beside its field."""
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<title>Error: " in body
    summary = summary_links(body)
    beside = field_errors(body)
    for field, message in expected.items():
        assert summary.get(field) == message, (field, summary)
        assert beside.get(field) == message, (field, beside)
        assert f'id="{field}"' in body  # the summary link has a target


AGENCY_DATA = {"name": "Northfield Housing Association", "kind": "core", "is_police": "",
               "isa_signed_on": ["3", "4", "2025"], "isa_signatory": "Head of Housing",
               "dpo_contact": "dpo@northfield.example", "withdrawn_on": ["", "", ""]}


def user_data(agency, **overrides):
    data = {"name": "Jo Newcomer", "email": "jo.newcomer@agency.example", "agency": agency.id,
            "role": "representative", "active": "y", "password": NEW_PASSWORD}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def admin(client, coordinator):
    login(client, coordinator)
    return client


# --- who may use the admin pages -------------------------------------------------------------


def test_admin_routes_exist(app):
    endpoints = {r.endpoint for r in admin_rules(app)}
    assert {"admin.agencies", "admin.agency_new", "admin.agency_edit", "admin.users", "admin.user_new",
            "admin.user_edit", "admin.audit_log"} <= endpoints


def test_coordinator_can_open_every_admin_page(app, admin, coordinator):
    for method, url in admin_urls(app, coordinator.agency, coordinator):
        if method == "GET":
            r = admin.get(url)
            assert r.status_code == 200, url
            assert "<html" in r.get_data(as_text=True)


@pytest.mark.parametrize("role", NON_COORDINATOR_ROLES)
def test_other_roles_get_403_on_every_admin_route(app, client, factory, coordinator, role):
    user = factory.user(role=role)
    login(client, user)
    agencies_before = [(a.id, a.name) for a in Agency.select()]
    for method, url in admin_urls(app, coordinator.agency, coordinator):
        for headers in ({}, {"HX-Request": "true"}):
            before = AuditEvent.select().count()
            r = client.open(url, method=method, headers=headers,
                            data={"name": "Hijack", "kind": "core", "role": "coordinator", "email": "x@y.test"})
            assert r.status_code == 403, (role, method, url, headers)
            assert "You cannot see this page" in r.get_data(as_text=True)
            denied = last_event()
            assert AuditEvent.select().count() == before + 1
            assert denied.action == "access.denied"
            assert (denied.user_id, denied.role, denied.agency_id) == (user.id, role, user.agency_id)
            assert denied.object_type == "route" and denied.object_id
            assert json.loads(denied.detail)["status"] == 403
    # Nothing was changed by the refused posts.
    assert [(a.id, a.name) for a in Agency.select()] == agencies_before
    assert User.get_by_id(coordinator.id).role == "coordinator"
    assert User.select().where(User.email == "x@y.test").count() == 0


def test_anonymous_is_sent_to_sign_in_on_every_admin_route(app, client, coordinator):
    for method, url in admin_urls(app, coordinator.agency, coordinator):
        r = client.open(url, method=method)
        assert r.status_code == 302, (method, url)
        assert r.headers["Location"].startswith("/login")
        if method == "GET":
            assert "next=" in r.headers["Location"]


def test_anonymous_htmx_request_gets_hx_redirect_on_every_admin_route(app, client, coordinator):
    for method, url in admin_urls(app, coordinator.agency, coordinator):
        r = client.open(url, method=method, headers={"HX-Request": "true"})
        assert r.status_code == 401, (method, url)
        assert r.headers["HX-Redirect"].startswith("/login")
        assert b"<html" not in r.data


def test_unknown_agency_or_user_is_404(admin):
    assert admin.get("/admin/agencies/999999").status_code == 404
    assert admin.get("/admin/users/999999").status_code == 404
    assert admin.post("/admin/users/999999", data={"name": "x"}).status_code == 404


# --- agencies --------------------------------------------------------------------------------


def test_create_agency(admin, coordinator):
    r = admin.post("/admin/agencies/new", data=AGENCY_DATA)
    assert r.status_code == 302 and r.headers["Location"] == "/admin/agencies"
    agency = Agency.get(Agency.name == "Northfield Housing Association")
    assert agency.kind == "core" and agency.is_police is False
    assert agency.isa_signed_on == date(2025, 4, 3)
    assert agency.isa_signatory == "Head of Housing" and agency.dpo_contact == "dpo@northfield.example"
    assert agency.withdrawn_on is None and agency.is_member
    event = last_event()
    assert (event.action, event.object_type, event.object_id) == ("agency.create", "agency", str(agency.id))
    assert (event.user_id, event.role) == (coordinator.id, "coordinator")
    listing = admin.get("/admin/agencies").get_data(as_text=True)
    assert "Northfield Housing Association" in listing and "Head of Housing" in listing
    assert "Agency Northfield Housing Association added." in listing


def test_agency_form_shows_required_field_errors(admin):
    r = admin.post("/admin/agencies/new", data={"name": "  ", "isa_signed_on": ["", "", ""]})
    assert_form_errors(r, {"name": "Enter the agency name", "kind": "Select the kind of membership"})
    assert Agency.select().count() == 1  # only the coordinator's own


def test_signed_agreement_needs_a_signatory(admin):
    r = admin.post("/admin/agencies/new", data={**AGENCY_DATA, "isa_signatory": "  "})
    assert_form_errors(r, {"isa_signatory": "Enter who signed the agreement"})
    assert not Agency.select().where(Agency.name == AGENCY_DATA["name"]).exists()
    # Not signed: no signatory needed.
    r = admin.post("/admin/agencies/new", data={**AGENCY_DATA, "isa_signatory": "", "isa_signed_on": ["", "", ""]})
    assert r.status_code == 302
    agency = Agency.get(Agency.name == AGENCY_DATA["name"])
    assert agency.isa_signed_on is None and not agency.is_member


def test_withdrawal_cannot_be_before_signing(admin):
    r = admin.post("/admin/agencies/new", data={**AGENCY_DATA, "withdrawn_on": ["2", "4", "2025"]})
    assert_form_errors(r, {"withdrawn_on": "The withdrawal date must be on or after the signing date"})
    # The dates typed are kept in the form.
    assert 'id="withdrawn_on-day" name="withdrawn_on" type="text" value="2"' in r.get_data(as_text=True)
    r = admin.post("/admin/agencies/new", data={**AGENCY_DATA, "withdrawn_on": ["3", "4", "2025"]})
    assert r.status_code == 302
    agency = Agency.get(Agency.name == AGENCY_DATA["name"])
    assert agency.withdrawn_on == date(2025, 4, 3) and not agency.is_member


def test_an_impossible_date_is_refused(admin):
    r = admin.post("/admin/agencies/new", data={**AGENCY_DATA, "isa_signed_on": ["31", "2", "2025"]})
    assert r.status_code == 200
    assert "isa_signed_on" in field_errors(r.get_data(as_text=True))
    assert not Agency.select().where(Agency.name == AGENCY_DATA["name"]).exists()


@pytest.mark.parametrize("values", [[], ["4"], ["4", "5"], ["1", "2", "2025", "9"]])
def test_a_partial_or_crafted_date_does_not_crash_the_form(admin, values):
    data = {k: v for k, v in AGENCY_DATA.items() if k not in ("isa_signed_on", "isa_signatory")}
    data["name"] = ""  # invalid, so the form is rendered again with what was sent
    if values:
        data["isa_signed_on"] = values
    r = admin.post("/admin/agencies/new", data=data)
    assert r.status_code == 200
    assert "Enter the agency name" in r.get_data(as_text=True)


def test_duplicate_agency_name_is_refused(admin, factory):
    factory.agency(name="Westgate Police")
    r = admin.post("/admin/agencies/new", data={**AGENCY_DATA, "name": "Westgate Police"})
    assert_form_errors(r, {"name": "An agency with this name already exists"})
    assert Agency.select().where(Agency.name == "Westgate Police").count() == 1


def test_edit_agency_keeps_its_own_name_and_audits_field_names_only(admin, factory):
    agency = factory.agency(name="Eastbrook Health", kind="flexible")
    r = admin.get(f"/admin/agencies/{agency.id}")
    assert 'value="Eastbrook Health"' in r.get_data(as_text=True)
    data = {**AGENCY_DATA, "name": "Eastbrook Health", "kind": "flexible", "isa_signatory": "Secret Signer Name",
            "dpo_contact": "secret-dpo@eastbrook.example"}
    r = admin.post(f"/admin/agencies/{agency.id}", data=data)
    assert r.status_code == 302
    agency = Agency.get_by_id(agency.id)
    assert agency.isa_signatory == "Secret Signer Name" and agency.isa_signed_on == date(2025, 4, 3)
    event = last_event()
    assert (event.action, event.object_id) == ("agency.update", str(agency.id))
    assert json.loads(event.detail) == {"fields": ["dpo_contact", "isa_signatory", "isa_signed_on"]}
    assert "Secret Signer Name" not in event.detail and "secret-dpo" not in event.detail
    # Saving again without changes records an update that names no fields.
    admin.post(f"/admin/agencies/{agency.id}", data=data)
    assert json.loads(last_event().detail) == {"fields": []}


def test_rename_agency(admin, factory):
    agency = factory.agency(name="Old Name Services")
    r = admin.post(f"/admin/agencies/{agency.id}", data={**AGENCY_DATA, "name": "New Name Services"})
    assert r.status_code == 302
    assert Agency.get_by_id(agency.id).name == "New Name Services"
    event = last_event()
    assert "name" in json.loads(event.detail)["fields"]
    assert "New Name Services" not in event.detail and "Old Name" not in event.detail


# --- users -----------------------------------------------------------------------------------


def test_create_user(admin, coordinator, factory):
    agency = factory.agency(name="Southside Advocacy")
    r = admin.post("/admin/users/new", data=user_data(agency, email="Jo.Newcomer@Agency.Example"))
    assert r.status_code == 302 and r.headers["Location"] == "/admin/users"
    user = User.get(User.email == "jo.newcomer@agency.example")
    assert (user.name, user.role, user.agency_id, user.active, user.is_deputy) == (
        "Jo Newcomer", "representative", agency.id, True, False)
    assert user.password_hash.startswith("$argon2id$")
    assert passwords.verify_password(user.password_hash, NEW_PASSWORD)
    event = last_event()
    assert (event.action, event.object_type, event.object_id) == ("user.create", "user", str(user.id))
    assert event.user_id == coordinator.id
    assert "Jo Newcomer" not in event.detail and "newcomer" not in event.detail
    assert NEW_PASSWORD not in event.detail
    # The new user can sign in with the temporary password.
    other = admin.application.test_client()
    assert login(other, user, password=NEW_PASSWORD).status_code == 302


def test_user_form_shows_every_missing_field(admin):
    r = admin.post("/admin/users/new", data={"agency": "0"})
    assert_form_errors(r, {
        "name": "Enter the person's full name",
        "email": "Enter a work e-mail address",
        "agency": "Select the agency",
        "role": "Select a role",
        "password": "Enter a temporary password",
    })
    assert User.select().count() == 1


def test_user_form_messages_for_bad_values(admin, factory):
    agency = factory.agency()
    r = admin.post("/admin/users/new", data=user_data(agency, email="not-an-address", password="short"))
    assert_form_errors(r, {"email": "Enter an e-mail address like name@agency.gov.uk",
                           "password": "Password must be 12 characters or more"})
    r = admin.post("/admin/users/new", data=user_data(agency, password="jo newcomer rocks"))
    assert_form_errors(r, {"password": "Password must not contain your name, e-mail, agency or the service name"})
    r = admin.post("/admin/users/new", data={**user_data(agency), "agency": "999999"})
    assert_form_errors(r, {"agency": "Select the agency"})
    assert User.select().count() == 1
    # What was typed is kept, except the password.
    body = r.get_data(as_text=True)
    assert 'value="jo.newcomer@agency.example"' in body
    assert NEW_PASSWORD not in body


def test_duplicate_email_is_refused(admin, factory):
    existing = factory.user(email="taken@agency.example")
    r = admin.post("/admin/users/new", data=user_data(existing.agency, email="TAKEN@agency.example"))
    assert_form_errors(r, {"email": "A user with this e-mail address already exists"})
    assert User.select().where(User.email == "taken@agency.example").count() == 1


@pytest.mark.parametrize("role", ["coordinator", "chair", "referrer", "observer"])
def test_only_a_representative_can_be_a_deputy(admin, factory, role):
    agency = factory.agency()
    r = admin.post("/admin/users/new", data=user_data(agency, role=role, is_deputy="y"))
    assert_form_errors(r, {"is_deputy": "Only a representative can be a deputy"})
    assert not User.select().where(User.email == "jo.newcomer@agency.example").exists()


def test_a_representative_can_be_a_deputy(admin, factory):
    agency = factory.agency()
    r = admin.post("/admin/users/new", data=user_data(agency, is_deputy="y"))
    assert r.status_code == 302
    assert User.get(User.email == "jo.newcomer@agency.example").is_deputy is True


def test_edit_user_keeps_own_email_and_audits_field_names_only(admin, factory):
    user = factory.user(role="representative", name="Sam Original")
    new_agency = factory.agency(name="Moved Agency")
    r = admin.get(f"/admin/users/{user.id}")
    body = r.get_data(as_text=True)
    assert f'value="{user.email}"' in body and "New password (leave blank" in body
    r = admin.post(f"/admin/users/{user.id}", data=user_data(new_agency, name="Sam Renamed", email=user.email,
                                                              role="chair", password=""))
    assert r.status_code == 302
    changed = User.get_by_id(user.id)
    assert (changed.name, changed.role, changed.agency_id) == ("Sam Renamed", "chair", new_agency.id)
    assert changed.password_hash == user.password_hash  # blank keeps the password
    event = last_event("user.update")
    assert event.object_id == str(user.id)
    assert json.loads(event.detail) == {"fields": ["agency", "name", "role"]}
    assert "Sam" not in event.detail and "chair" not in event.detail


def test_admin_password_reset_is_audited_by_name_only_and_ends_sessions(app, admin, factory):
    user = factory.user()
    theirs = app.test_client()
    login(theirs, user)
    r = admin.post(f"/admin/users/{user.id}", data=user_data(user.agency, name=user.name, email=user.email,
                                                              password=NEW_PASSWORD))
    assert r.status_code == 302
    assert passwords.verify_password(User.get_by_id(user.id).password_hash, NEW_PASSWORD)
    event = last_event("user.update")
    assert json.loads(event.detail) == {"fields": ["password"]}
    assert theirs.get("/").status_code == 302  # their old session ended


def test_deactivating_a_user(app, admin, factory):
    user = factory.user()
    theirs = app.test_client()
    login(theirs, user)
    assert theirs.get("/").status_code == 200
    data = user_data(user.agency, name=user.name, email=user.email, password="", active=None)
    r = admin.post(f"/admin/users/{user.id}", data=data)
    assert r.status_code == 302
    assert User.get_by_id(user.id).active is False
    actions = [e.action for e in AuditEvent.select().where(AuditEvent.object_id == str(user.id))
               .order_by(AuditEvent.id)]
    assert actions[-2:] == ["user.update", "user.deactivate"]
    assert json.loads(last_event("user.update").detail) == {"fields": ["active"]}
    assert UserSession.select().where((UserSession.user == user) & UserSession.ended_at.is_null()).count() == 0
    assert theirs.get("/").status_code == 302
    assert login(theirs, user).status_code == 200  # cannot sign in again
    listing = admin.get("/admin/users").get_data(as_text=True)
    assert "Inactive" in listing
    # Reactivating lets them back in.
    admin.post(f"/admin/users/{user.id}", data={**data, "active": "y"})
    assert User.get_by_id(user.id).active is True
    assert login(theirs, user).status_code == 302


def test_every_admin_change_writes_one_audit_row_with_who_what_where(admin, coordinator):
    before = AuditEvent.select().count()
    r = admin.post("/admin/agencies/new", data=AGENCY_DATA)
    assert AuditEvent.select().count() == before + 1
    event = last_event()
    # SECURITY.md check 22: UTC time, user, role, agency, action, object, client IP, request id.
    assert event.at is not None
    assert (event.user_id, event.user_name, event.role, event.agency_id) == (
        coordinator.id, coordinator.name, "coordinator", coordinator.agency_id)
    assert (event.action, event.object_type) == ("agency.create", "agency") and event.object_id
    assert event.ip == "127.0.0.1"
    assert event.request_id and event.request_id == r.headers["X-Request-Id"]


# --- extra form fields change nothing (SECURITY.md check 13) ---------------------------------


def test_extra_fields_on_the_account_page_change_nothing(client, factory):
    other_agency = factory.agency(name="Somewhere Else")
    user = factory.user(role="observer")
    login(client, user)
    r = client.post("/account", data={
        "current_password": TEST_PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
        "role": "coordinator", "agency_id": other_agency.id, "agency": other_agency.id, "created_by": 1,
        "is_deputy": "y", "active": "y", "email": "hijack@example.test", "name": "Hijacked", "id": 999,
        "password_hash": "x", "sessions_valid_after": ""})
    assert r.status_code == 302
    after = User.get_by_id(user.id)
    assert (after.role, after.agency_id, after.email, after.name, after.is_deputy, after.id) == (
        "observer", user.agency_id, user.email, user.name, False, user.id)
    assert passwords.verify_password(after.password_hash, NEW_PASSWORD)
    assert client.get("/admin/users").status_code == 403


def test_extra_fields_on_admin_forms_change_nothing(admin, factory):
    agency = factory.agency(name="Extra Field Agency")
    created = agency.created_at
    r = admin.post(f"/admin/agencies/{agency.id}", data={**AGENCY_DATA, "name": "Extra Field Agency",
                                                         "id": 999, "created_at": "2000-01-01 00:00:00"})
    assert r.status_code == 302
    after = Agency.get_by_id(agency.id)
    assert after.created_at == created
    assert not Agency.select().where(Agency.id == 999).exists()
    user = factory.user()
    r = admin.post(f"/admin/users/{user.id}", data={
        **user_data(user.agency, name=user.name, email=user.email, password=""),
        "password_hash": "plain", "created_by": 1, "totp_secret": "ABC", "sessions_valid_after": "",
        "id": 999, "created_at": "2000-01-01"})
    assert r.status_code == 302
    after = User.get_by_id(user.id)
    assert after.password_hash == user.password_hash and after.totp_secret == ""
    assert after.created_at == user.created_at
    assert not User.select().where(User.id == 999).exists()


# --- names made only of spaces ---------------------------------------------------------------


def test_names_of_only_spaces_are_refused(admin, factory):
    r = admin.post("/admin/agencies/new", data={**AGENCY_DATA, "name": "   "})
    assert_form_errors(r, {"name": "Enter the agency name"})
    assert not Agency.select().where(Agency.name == "").exists()
    r = admin.post("/admin/users/new", data=user_data(factory.agency(), name="   "))
    assert_form_errors(r, {"name": "Enter the person's full name"})
    assert not User.select().where(User.name == "").exists()


def test_setup_refuses_names_of_only_spaces(app):
    from marac import accounts

    token = accounts.new_setup_token()
    r = app.test_client().post(f"/setup/{token}", data={
        "name": "  ", "email": "first@council.example", "agency_name": "  ",
        "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert_form_errors(r, {"name": "Enter your full name", "agency_name": "Enter your team or agency"})
    assert User.select().count() == 0
