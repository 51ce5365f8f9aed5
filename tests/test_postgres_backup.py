"""`python app.py backup` on PostgreSQL (issue 12): pg_dump while the app writes, a dump that
pg_restore reads back into a new database where the app starts and the audit chain is intact, the
second-factor key beside it, old dumps pruned, the backup audited. `check` and `restore` on
PostgreSQL. The SQLite backup, restore and check: test_backup.py."""
import subprocess

import pytest
from marac_testing import AuditWriter
from postgres_testing import admin_connection, database_url, postgres_only

from marac import audit, cli, create_app, postgres
from marac.db import db, migration_modules
from marac.models import Agency, AuditEvent, User

pytestmark = postgres_only


def create_empty(name: str) -> str:
    """A new, empty database; returns its URL."""
    conn = admin_connection()
    try:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()
    return database_url(name)


def restore(dump, name: str) -> str:
    """pg_restore the dump into a new database; returns its URL."""
    url = create_empty(name)
    done = subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", "--dbname", name, str(dump)],
                          env=postgres._client_env(url), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return url


def drop(name: str):
    conn = admin_connection()
    try:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        conn.close()


def test_a_dump_under_write_load_restores_with_an_intact_chain(app, factory, tmp_path):
    factory.user(role="coordinator", name="Casey Coordinator")
    url = app.config["DATABASE_URL"]
    writer = AuditWriter().start()
    try:
        results = [postgres.dump_database(url, tmp_path / "backups", keep=10) for _ in range(2)]
    finally:
        assert writer.stop(), writer.errors
    with db.connection_context():
        live = AuditEvent.select().count()
    name = f"{url.rsplit('/', 1)[1]}_restored"
    restored_url = restore(results[-1].path, name)
    try:
        restored = create_app({"TESTING": True, "SECRET_KEY": "r" * 40, "DATABASE_URL": restored_url},
                              instance_path=str(tmp_path / "restored"))
        with db.connection_context():
            rows = AuditEvent.select().count()
            assert 50 < rows <= live
            assert User.get(User.name == "Casey Coordinator").role == "coordinator"
            assert Agency.select().count() == 1
            assert audit.verify().ok
        assert restored.test_client().get("/login").status_code == 200
    finally:
        db.close()
        drop(name)


def test_the_backup_command_runs_pg_dump_prunes_and_is_audited(app, tmp_path, monkeypatch, capsys):
    instance = tmp_path / "instance"  # the app fixture's instance folder: its totp_key
    (instance / "config.py").write_text(
        f"DATABASE_URL = {app.config['DATABASE_URL']!r}\nBACKUP_DIR = {str(tmp_path / 'dumps')!r}\n"
        f"BACKUP_KEEP = 2\nSECRET_KEY = {'s' * 40!r}\n", encoding="utf-8")
    monkeypatch.setenv("MARAC_INSTANCE", str(instance))
    for _ in range(3):
        assert cli.main(["backup"]) == 0
    out = capsys.readouterr().out
    assert "Backup written (pg_dump) and read back" in out and "pg_restore --no-owner" in out
    assert "Deleted 1 older backup(s), keeping the newest 2." in out
    dumps = postgres.list_dumps(tmp_path / "dumps")
    assert len(dumps) == 2 and all(p.name.endswith(".dump") for p in dumps)
    assert all((p.parent / (p.name + ".totp_key")).read_bytes() == (instance / "totp_key").read_bytes()
               for p in dumps)
    assert sorted(p.name for p in (tmp_path / "dumps").iterdir()) == sorted(
        [p.name for p in dumps] + [p.name + ".totp_key" for p in dumps])
    with db.connection_context():
        assert AuditEvent.select().where(AuditEvent.action == "system.backup").count() == 3


def test_a_failed_pg_dump_says_why_and_leaves_nothing(tmp_path, monkeypatch, capsys):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text(
        "DATABASE_URL = 'postgresql://nobody@127.0.0.1:1/none'\n"
        f"BACKUP_DIR = {str(tmp_path / 'dumps')!r}\n", encoding="utf-8")
    monkeypatch.setenv("MARAC_INSTANCE", str(instance))
    assert cli.main(["backup"]) == 2
    assert "Backup FAILED: pg_dump failed" in capsys.readouterr().out
    assert list((tmp_path / "dumps").iterdir()) == []


def test_a_restored_dump_without_its_key_refuses_to_start(app, coordinator, tmp_path):
    """A dump alone makes no second-factor codes: the stored secret is a token of the instance's key,
    and an app started on the restored database without that key refuses to serve it."""
    from cryptography.fernet import InvalidToken

    from marac import ConfigError, totp_key

    with db.connection_context():
        User.update(totp_secret=totp_key.encrypt("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")).where(
            User.id == coordinator.id).execute()
    url = app.config["DATABASE_URL"]
    dump = postgres.dump_database(url, tmp_path / "dumps", keep=1).path
    name = f"{url.rsplit('/', 1)[1]}_stolen"
    stolen = restore(dump, name)
    try:
        with pytest.raises(ConfigError, match="totp_key"):
            create_app({"TESTING": True, "SECRET_KEY": "r" * 40, "DATABASE_URL": stolen},
                       instance_path=str(tmp_path / "stolen"))
        other_key = totp_key._key()  # the key the refused start generated for its own folder
        with db.connection_context():
            stored = User.get_by_id(coordinator.id).totp_secret
        assert "JBSWY3DPEHPK3PXP" not in stored
        with pytest.raises(InvalidToken):
            other_key.decrypt(stored.encode())
    finally:
        db.close()
        drop(name)


def configure(tmp_path, monkeypatch, url: str):
    """The app fixture's instance folder (its totp_key) with a config.py serving url, as the commands read it."""
    instance = tmp_path / "instance"
    (instance / "config.py").write_text(f"DATABASE_URL = {url!r}\nSECRET_KEY = {'s' * 40!r}\n", encoding="utf-8")
    monkeypatch.setenv("MARAC_INSTANCE", str(instance))
    return instance


def record_events(count: int = 3) -> list[int]:
    """A few audit rows; their ids."""
    with db.connection_context(), db.atomic():
        for i in range(count):
            audit.record("test.event", object_type="thing", object_id=i)
    with db.connection_context():
        return [e.id for e in AuditEvent.select().order_by(AuditEvent.id)]


def test_check_reports_the_migrations_the_triggers_and_an_intact_chain(app, coordinator, tmp_path, monkeypatch,
                                                                       capsys):
    configure(tmp_path, monkeypatch, app.config["DATABASE_URL"])
    rows = len(record_events())
    assert cli.main(["check"]) == 0
    out = capsys.readouterr().out
    known = len(migration_modules())
    assert f"migrations: {known} of {known} applied\n" in out
    assert "audit log append-only (its triggers are in place)" in out
    assert f"audit log intact: {rows} rows checked" in out and out.endswith("Database OK.\n")


def test_check_names_an_altered_row_and_a_disabled_trigger(app, coordinator, tmp_path, monkeypatch, capsys):
    configure(tmp_path, monkeypatch, app.config["DATABASE_URL"])
    ids = record_events()
    with db.connection_context():
        db.execute_sql("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update")
        db.execute_sql("UPDATE audit_event SET action = 'auth.nothing_to_see' WHERE id = %s", (ids[1],))
    assert cli.main(["check"]) == 2
    out = capsys.readouterr().out
    assert "2 problem(s):" in out
    assert "trigger(s) missing or disabled: audit_event_no_update\n" in out
    assert (f"audit log ALTERED at row {ids[1]}: content does not match its hash (the row was altered) "
            "(1 rows before it are intact)") in out


def test_check_without_the_server_says_so_in_one_line(tmp_path, monkeypatch, capsys):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text("DATABASE_URL = 'postgresql://nobody:SECRET@127.0.0.1:1/none'\n",
                                        encoding="utf-8")
    monkeypatch.setenv("MARAC_INSTANCE", str(instance))
    assert cli.main(["check"]) == 2
    out = capsys.readouterr().out
    assert out.startswith("127.0.0.1:1/none:\n1 problem(s):\n  cannot connect: ") and "SECRET" not in out


def test_restore_into_a_new_database_checks_it_and_refuses_anything_else(app, coordinator, tmp_path, monkeypatch,
                                                                          capsys):
    url = app.config["DATABASE_URL"]
    instance = configure(tmp_path, monkeypatch, url)
    rows = len(record_events())
    dump = postgres.dump_database(url, tmp_path / "dumps", keep=1, key_file=instance / "totp_key").path
    name = f"{url.rsplit('/', 1)[1]}_restore"
    target = create_empty(name)
    try:
        assert cli.main(["restore", str(dump), "--to", target]) == 0
        out = capsys.readouterr().out
        assert f"Restored and checked: {postgres.where(target)}" in out
        assert f"audit log intact: {rows} rows checked" in out
        assert f"Its second-factor key is beside the dump: {dump}.totp_key" in out
        refusals = [
            ([str(dump), "--to", target], "is not empty"),  # never over tables: here, the restored ones
            ([str(dump), "--to", url], "is the database the app is configured to serve"),
            ([str(dump), "--to", str(tmp_path / "folder")], "restore a dump into a new, empty database: createdb"),
            ([str(tmp_path / "missing.dump"), "--to", target], "missing.dump does not exist"),
            ([str(instance / "totp_key"), "--to", target], "is not a dump of marac"),
        ]
        for argv, why in refusals:
            assert cli.main(["restore", *argv]) == 2, why
            out = capsys.readouterr().out
            assert out.startswith("Restore refused: ") and why in out and out.count("\n") == 1, out
    finally:
        drop(name)
