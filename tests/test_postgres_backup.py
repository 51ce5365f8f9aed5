"""`python app.py backup` on PostgreSQL (issue 12): pg_dump while the app writes, a dump that
pg_restore reads back into a new database where the app starts and the audit chain is intact, the
second-factor key beside it, old dumps pruned, the backup audited. The SQLite backup: test_backup.py."""
import subprocess

import pytest
from marac_testing import AuditWriter
from postgres_testing import admin_connection, database_url, postgres_only

from marac import audit, cli, create_app, postgres
from marac.db import db
from marac.models import Agency, AuditEvent, User

pytestmark = postgres_only


def restore(dump, name: str) -> str:
    """pg_restore the dump into a new database; returns its URL."""
    conn = admin_connection()
    try:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()
    url = database_url(name)
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
