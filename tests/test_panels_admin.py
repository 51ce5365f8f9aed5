"""User administration per panel and creating panels (issue 12). Panel A is the first panel (its
coordinator is the `coordinator` fixture); panel B has its own coordinator and users. A coordinator lists,
adds and changes the users of the panel in view only; gives a user of another panel, found by e-mail,
access to it and takes it back (audited); `app.py panel add/list/grant` makes panels with a preset's settings."""
import json

import pytest
from marac_testing import login, make_user

from marac import cli, panels, presets, settings
from marac.models import AuditEvent, Panel, User, UserPanel


@pytest.fixture
def other(app):
    return Panel.create(name="Other MARAC")


@pytest.fixture
def b_users(other):
    with panels.using(other.id):
        return {"coordinator": make_user("coordinator", name="Bea Coordinator"),
                "rep": make_user("representative", name="Bryn Otherpanel", email="bryn@other.example.test")}


@pytest.fixture
def admin(client, coordinator):
    login(client, coordinator)
    return client


def last(action):
    return AuditEvent.select().where(AuditEvent.action == action).order_by(AuditEvent.id.desc()).first()


def test_the_user_list_has_this_panels_users_only(admin, coordinator, b_users):
    mine = make_user("representative", name="Ash Thispanel")
    body = admin.get("/admin/users").get_data(as_text=True)
    assert "Ash Thispanel" in body and coordinator.name in body
    assert "Bryn Otherpanel" not in body and "Bea Coordinator" not in body
    assert "Give a user of another panel access" in body  # there is another panel to come from
    assert f"/admin/users/{mine.id}" in body


def test_another_panels_user_cannot_be_opened_or_changed(admin, b_users):
    rep = b_users["rep"]
    for method, data in (("GET", None), ("POST", {"name": "Hijack", "email": rep.email, "agency": rep.agency_id,
                                                  "role": "coordinator", "active": "y"})):
        r = admin.open(f"/admin/users/{rep.id}", method=method, data=data)
        assert r.status_code == 404
        denied = AuditEvent.select().where(AuditEvent.request_id == r.headers["X-Request-Id"]).get()
        assert (denied.action, denied.object_type, denied.object_id) == ("access.denied", "user", str(rep.id))
    assert User.get_by_id(rep.id).role == "representative" and User.get_by_id(rep.id).name == "Bryn Otherpanel"


def test_a_new_user_is_made_in_the_panel_in_view(client, b_users, other):
    login(client, b_users["coordinator"])
    r = client.post("/admin/users/new", data={"name": "Nia Newuser", "email": "nia@example.test",
                                              "agency": b_users["rep"].agency_id, "role": "representative",
                                              "active": "y", "password": "Plain kettle harbour 93"})
    assert r.status_code == 302
    assert User.get(User.email == "nia@example.test").panel_id == other.id
    assert json.loads(last("user.create").detail)["panel_id"] == other.id
    body = client.get("/admin/users").get_data(as_text=True)
    assert "Nia Newuser" in body and "Casey Coordinator" not in body


def test_granting_and_revoking_access_to_the_panel_in_view(admin, coordinator, b_users, other):
    rep = b_users["rep"]
    r = admin.post("/admin/users/grant", data={"email": " BRYN@other.example.test "})
    assert r.status_code == 302
    grant = UserPanel.get(UserPanel.user == rep.id)
    assert (grant.panel_id, grant.granted_by_id) == (panels.default_panel_id(), coordinator.id)
    event = last("user.panel_grant")
    assert (event.user_id, event.object_id, json.loads(event.detail)) == (
        coordinator.id, str(rep.id), {"panel_id": panels.default_panel_id()})
    assert panels.may_use(User.get_by_id(rep.id), panels.default_panel_id())
    body = admin.get("/admin/users").get_data(as_text=True)
    assert "Bryn Otherpanel" in body and "From Other MARAC, given access here" in body
    assert f"/admin/users/{rep.id}/revoke" in body and f'href="/admin/users/{rep.id}"' not in body
    # Listed here, but still another panel's account: not changed from here.
    assert admin.get(f"/admin/users/{rep.id}").status_code == 404
    # Granting again, an unknown address, a user of this panel: refused with a message, nothing saved.
    for email, message in (("bryn@other.example.test", "already has access"),
                           ("nobody@example.test", "No user has this e-mail address"),
                           (coordinator.email, "already works in this panel")):
        page = admin.post("/admin/users/grant", data={"email": email})
        assert page.status_code == 200 and message in page.get_data(as_text=True), email
    assert UserPanel.select().count() == 1
    r = admin.post(f"/admin/users/{rep.id}/revoke")
    assert r.status_code == 302 and not UserPanel.select().exists()
    assert json.loads(last("user.panel_revoke").detail) == {"panel_id": panels.default_panel_id()}
    again = admin.post(f"/admin/users/{rep.id}/revoke")
    assert again.status_code == 404  # nothing to take back: audited refusal
    assert AuditEvent.select().where((AuditEvent.request_id == again.headers["X-Request-Id"])
                                     & (AuditEvent.action == "access.denied")).exists()


def test_a_coordinator_cannot_grant_a_panel_they_cannot_use(app, coordinator, b_users, other):
    from marac import accounts

    with pytest.raises(accounts.PanelGrantRefused):
        accounts.grant_panel(make_user("representative"), other.id, User.get_by_id(coordinator.id))
    assert not UserPanel.select().exists()


def test_revoking_does_not_reach_another_panels_grants(client, coordinator, b_users, other):
    """B's coordinator cannot take back a grant to panel A: they revoke only in the panel in view."""
    UserPanel.create(user=b_users["rep"], panel=panels.default_panel_id())
    login(client, b_users["coordinator"])
    assert client.post(f"/admin/users/{b_users['rep'].id}/revoke").status_code == 404
    assert UserPanel.select().count() == 1


def test_a_one_panel_install_shows_no_grant_form(admin):
    assert "Give a user of another panel access" not in admin.get("/admin/users").get_data(as_text=True)


def test_panel_add_with_a_preset_list_and_grant(app, coordinator, capsys, monkeypatch):
    monkeypatch.setattr(cli, "create_app", lambda *a, **k: app)
    assert cli.main(["panel", "add", "Ealing Community Risk MARAC", "--preset", "ealing"]) == 0
    panel = Panel.get(Panel.name == "Ealing Community Risk MARAC")
    assert (panel.panel_type, panel.preset) == ("community", "ealing")
    with panels.using(panel.id):
        values = settings.all_settings()
    expected = presets.PRESETS["ealing"].values
    assert {k: values[k] for k in expected} == expected
    assert settings.get("preset") != "ealing"  # the first panel's settings are untouched
    assert last("panel.create").object_id == str(panel.id)
    assert cli.main(["panel", "add", "Ealing Community Risk MARAC"]) == 1  # the name is taken
    assert cli.main(["panel", "add", "Northtown MARAC"]) == 0
    with panels.using(Panel.get(Panel.name == "Northtown MARAC").id):
        assert settings.get("panel_name") == "Northtown MARAC" and presets.needs_choice()
    out = capsys.readouterr().out
    assert "Panel 2 added: Ealing Community Risk MARAC (preset ealing)" in out
    assert cli.main(["panel", "list"]) == 0
    listing = capsys.readouterr().out
    assert "Ealing Community Risk MARAC  (community, preset ealing; 0 users, 0 cases)" in listing
    assert listing.splitlines()[0].endswith("(domestic_abuse; 1 users, 0 cases)")
    # The new panel's first coordinator: an existing account granted it from the command line.
    assert cli.main(["panel", "grant", str(panel.id), coordinator.email]) == 0
    assert panels.may_use(User.get_by_id(coordinator.id), panel.id)
    assert UserPanel.get(UserPanel.user == coordinator.id).granted_by_id is None
    assert cli.main(["panel", "grant", "99", coordinator.email]) == 1


def test_another_panels_users_authenticator_cannot_be_reset(admin, b_users):
    rep = b_users["rep"]
    for method in ("GET", "POST"):
        r = admin.open(f"/admin/users/{rep.id}/second-factor", method=method)
        assert r.status_code == 404, method
        assert AuditEvent.select().where((AuditEvent.request_id == r.headers["X-Request-Id"])
                                         & (AuditEvent.action == "access.denied")).exists()
    assert last("user.second_factor_reset") is None


@pytest.mark.parametrize("key", sorted(k for k in presets.PRESETS if k != presets.BLANK))
def test_every_preset_makes_a_panel(app, key):
    with app.app_context():
        panel = cli.panel_add(f"Panel {key}", key)
    with panels.using(panel.id):
        assert settings.get("preset") == key and settings.get("panel_name") == f"Panel {key}"
        assert settings.get("instrument_id") == presets.PRESETS[key].values["instrument_id"]
    assert panel.panel_type == presets.PRESETS[key].values["panel_type"]
