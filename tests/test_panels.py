"""Panels (issue 12): the foundation. Every row belongs to a panel; the panel in view is per sign-in;
another panel's objects are a 404; settings are per panel; a borough with one panel sees nothing new."""
import pytest

from marac import audit, panels, settings
from marac.db import db
from marac.models import AuditEvent, Case, Panel, PanelSetting, UserPanel, UserSession
from tests.marac_testing import make_case, make_person, make_user
from tests.postgres_testing import postgres_only, sqlite_only


@pytest.fixture
def two(app):
    """Panel A (the install's own, id 1) and panel B, each with one case."""
    a = Panel.get_by_id(1)
    b = Panel.create(name="Northshire West MARAC")
    case_a = make_case(number="A-00001", people=[(make_person("Ava", "Alphaside"), "victim")])
    with panels.using(b.id):
        case_b = make_case(number="B-00001", people=[(make_person("Bea", "Betaside"), "victim")])
    return a, b, case_a, case_b


def test_new_rows_take_the_panel_in_view(two):
    a, b, case_a, case_b = two
    assert (case_a.panel_id, case_b.panel_id) == (a.id, b.id)
    assert {cp.person.panel_id for cp in case_b.people} == {b.id}


def test_another_panels_case_is_a_404_even_for_the_coordinator(two, client, sign_in, coordinator):
    _a, _b, case_a, case_b = two
    sign_in(coordinator)
    assert client.get(f"/cases/{case_a.id}").status_code == 200
    response = client.get(f"/cases/{case_b.id}")
    assert response.status_code == 404
    assert "Betaside" not in response.get_data(as_text=True)
    denied = AuditEvent.select().where(AuditEvent.action == "access.denied").order_by(AuditEvent.id.desc()).first()
    assert denied.object_type == "case" and denied.object_id == str(case_b.id)


def test_a_one_panel_user_sees_no_panel_switch(two, client, sign_in, coordinator):
    sign_in(coordinator)
    page = client.get("/").get_data(as_text=True)
    assert "switch<span" not in page and "Northshire West MARAC" not in page


def test_a_granted_user_switches_panel_and_sees_only_that_panels_cases(two, client, sign_in, coordinator):
    a, b, case_a, case_b = two
    UserPanel.create(user=coordinator, panel=b)
    sign_in(coordinator)
    home = client.get("/").get_data(as_text=True)
    assert "Panel: <strong>Anytown MARAC</strong>" in home
    form = client.get("/panel").get_data(as_text=True)
    assert "Northshire West MARAC" in form and "Anytown MARAC" in form

    response = client.post("/panel", data={"panel": str(b.id)})
    assert response.status_code == 302
    assert "Panel: <strong>Northshire West MARAC</strong>" in client.get("/").get_data(as_text=True)
    assert client.get(f"/cases/{case_b.id}").status_code == 200
    assert client.get(f"/cases/{case_a.id}").status_code == 404
    switch = AuditEvent.select().where(AuditEvent.action == "panel.switch").get()
    assert switch.object_id == str(b.id) and switch.user_id == coordinator.id
    assert audit.verify().ok

    # Back home.
    assert client.post("/panel", data={"panel": str(a.id)}).status_code == 302
    assert client.get(f"/cases/{case_a.id}").status_code == 200


def test_switching_to_a_panel_not_granted_is_refused_and_changes_nothing(two, client, sign_in, coordinator):
    _a, b, _case_a, case_b = two
    sign_in(coordinator)
    response = client.post("/panel", data={"panel": str(b.id)})
    assert response.status_code == 400
    assert "Not a valid choice" in response.get_data(as_text=True) or "govuk-error-summary" in response.get_data(
        as_text=True)
    assert UserSession.select().where(UserSession.panel_id.is_null(False)).count() == 0
    assert client.get(f"/cases/{case_b.id}").status_code == 404


def test_a_revoked_grant_takes_effect_on_the_next_request(two, client, sign_in, coordinator):
    _a, b, case_a, case_b = two
    grant = UserPanel.create(user=coordinator, panel=b)
    sign_in(coordinator)
    client.post("/panel", data={"panel": str(b.id)})
    assert client.get(f"/cases/{case_b.id}").status_code == 200
    grant.delete_instance()
    assert client.get(f"/cases/{case_b.id}").status_code == 404  # back in the home panel
    assert client.get(f"/cases/{case_a.id}").status_code == 200


def test_a_user_whose_home_is_another_panel_works_there(two, client, sign_in):
    _a, b, case_a, case_b = two
    with panels.using(b.id):
        chair_b = make_user(role="chair")
    assert chair_b.panel_id == b.id
    sign_in(chair_b)
    assert client.get(f"/cases/{case_b.id}").status_code == 200
    assert client.get(f"/cases/{case_a.id}").status_code == 404


def test_settings_are_per_panel(two, coordinator):
    a, b, _case_a, _case_b = two
    settings.set_many({"meeting_weekday": 4}, coordinator)
    with panels.using(b.id):
        assert settings.get("meeting_weekday") == settings.DEFAULTS["meeting_weekday"]
        settings.set_many({"meeting_weekday": 1, "panel_name": "Northshire West MARAC (renamed)"}, coordinator)
        assert settings.all_settings()["meeting_weekday"] == 1
    assert settings.get("meeting_weekday") == 4
    assert settings.all_settings()["panel_name"] == settings.DEFAULTS["panel_name"]
    assert Panel.get_by_id(b.id).name == "Northshire West MARAC (renamed)"
    assert PanelSetting.select().where(PanelSetting.key == "meeting_weekday").count() == 2


def test_a_panel_name_already_taken_is_refused_by_the_settings_check(two):
    from marac import presets

    _a, b, _case_a, _case_b = two
    with panels.using(b.id):
        values = settings.all_settings()
        values["panel_name"] = "Anytown MARAC"
        assert "panel_name" in presets.check(values)


@sqlite_only("an older SQLite database upgraded by migration m1100")
def test_an_existing_database_is_upgraded_into_its_own_panel(tmp_path):
    """A borough's database from before panels: every row lands in panel 1, named from its settings."""
    import importlib

    marac_db = importlib.import_module("marac.db")

    path = tmp_path / "old.db"
    modules = [m for m in marac_db.migration_modules() if m[0] < "m1100"]

    from peewee import SqliteDatabase

    old = SqliteDatabase(str(path), pragmas={"foreign_keys": 1})
    with old.connection_context():
        old.execute_sql("CREATE TABLE IF NOT EXISTS schema_migration (name VARCHAR(100) PRIMARY KEY, "
                        "applied_at VARCHAR(40) NOT NULL)")
        for name, module in modules:
            with old.atomic():
                module.up(old)
                old.execute_sql("INSERT INTO schema_migration VALUES (?, '2026-01-01')", (name,))
        old.execute_sql("""INSERT INTO panel_setting ("key", "value", "updated_at") VALUES """
                        """('panel_name', '"Fictionbury MARAC"', '2026-01-01')""")
        old.execute_sql("""INSERT INTO "case" ("number", "status", "opened_at", "lead_agency_id", "closed_session",
                           "is_repeat", "updated_at", "close_reason") VALUES ('OLD-1', 'open', '2026-01-01', NULL,
                           0, 0, '2026-01-01', '')""")
        applied = marac_db.migrate(old)
        assert "m1100_panels" in applied
        assert old.execute_sql("SELECT id, name FROM panel").fetchall() == [(1, "Fictionbury MARAC")]
        assert old.execute_sql('SELECT panel_id FROM "case"').fetchall() == [(1,)]
        assert old.execute_sql("SELECT panel_id, key FROM panel_setting").fetchall() == [(1, "panel_name")]
        assert old.execute_sql("PRAGMA foreign_key_check").fetchall() == []
        assert old.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1


@postgres_only
def test_a_postgres_database_made_before_panels_is_upgraded(app):
    """m1100 on PostgreSQL: a database whose tables came from the models before panels existed (made
    here by taking today's panel parts away again) gets the panel table, panel 1 and every column."""
    from marac.db import migrate

    case = make_case(number="OLD-PG-1")
    settings.set_many({"panel_name": "Fictionbury MARAC"})
    with db.atomic():
        for table in ("user", "person", "case", "referral", "meeting", "user_session", "action"):
            db.execute_sql(f'ALTER TABLE "{table}" DROP COLUMN "panel_id"')  # noqa: S608 (our own names)
        db.execute_sql('DROP TABLE "user_panel"')
        db.execute_sql('ALTER TABLE "panel_setting" DROP COLUMN "id"')
        db.execute_sql('ALTER TABLE "panel_setting" DROP COLUMN "panel_id"')
        db.execute_sql('ALTER TABLE "panel_setting" ADD PRIMARY KEY ("key")')
        db.execute_sql('DROP TABLE "panel"')
        db.execute_sql("DELETE FROM schema_migration WHERE name IN ('m1100_panels', 'm1120_action_panel')")
    assert migrate(db.obj) == ["m1100_panels", "m1120_action_panel"]
    assert db.execute_sql('SELECT "id", "name" FROM "panel"').fetchall() == [(1, "Fictionbury MARAC")]
    assert Case.get_by_id(case.id).panel_id == 1
    assert settings.get("panel_name") == "Fictionbury MARAC"
    other = Panel.create(name="Second MARAC")  # the id sequence continues after panel 1
    assert other.id == 2


def test_an_action_takes_its_cases_panel_and_the_tabs_count_on_it(two, coordinator):
    """m1120: an action carries its case's panel, whatever panel is in view when it is made, and an agency's
    tab counts are the panel in view's (an agency serving two panels)."""
    from marac import actions
    from tests.marac_testing import make_action, make_agency

    _a, b, case_a, case_b = two
    shared = make_agency("Northshire Police (fictional)")
    in_b = make_action(case_b, shared, "made while panel A is in view")  # no panels.using: A is in view
    in_a = make_action(case_a, shared, "an action of panel A")
    assert (in_b.panel_id, in_a.panel_id) == (b.id, 1)
    assert actions.agency_counts(shared.id)["open"] == 1
    with panels.using(b.id):
        assert actions.agency_counts(shared.id)["open"] == 1
        rows, _ = actions.agency_actions(shared.id, "open")
        assert [r.description for r in rows] == ["made while panel A is in view"]
