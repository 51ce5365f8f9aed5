"""Backup under write load, restore into a fresh folder, check, prune, and the commands."""
import sqlite3
from pathlib import Path

import pytest
from marac_testing import AuditWriter
from postgres_testing import sqlite_only

from marac import audit, backup, cli, create_app
from marac.db import db
from marac.models import Agency, AuditEvent, User


def db_file(app) -> Path:
    return backup.database_path({"DATABASE_URL": app.config["DATABASE_URL"], "INSTANCE_PATH": app.instance_path})


def count(path: Path, table: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]  # noqa: S608 (test constant)
    finally:
        conn.close()


@sqlite_only("the SQLite file and its backup API; on PostgreSQL: test_postgres_backup.py (pg_dump)")
def test_backup_under_write_load_is_consistent_and_restores(app, factory, tmp_path):
    factory.user(role="coordinator", name="Casey Coordinator")
    writer = AuditWriter().start()
    try:
        results = [backup.backup_database(db_file(app), tmp_path / "backups", keep=10) for _ in range(3)]
    finally:
        assert writer.stop(), writer.errors
    assert len(writer.written) > 50
    sizes = []
    for result in results:
        assert backup.check_database(result.path) == []
        rows = count(result.path, "audit_event")
        sizes.append(rows)
        assert rows <= AuditEvent.select().count()
        assert not Path(f"{result.path}-wal").exists()  # one self-contained file
    assert sizes == sorted(sizes)  # each copy a later snapshot

    # Restore the last copy into a fresh folder: an app started there sees every row it holds,
    # and its audit chain is intact (a consistent snapshot, not a torn copy).
    fresh = tmp_path / "restored"
    target = backup.restore_database(results[-1].path, fresh, running=db_file(app))
    assert target == fresh / "marac.db"
    restored = create_app({"TESTING": True, "SECRET_KEY": "r" * 40}, instance_path=str(fresh))
    assert restored.config["DATABASE_URL"].endswith("restored/marac.db")
    with db.connection_context():
        assert AuditEvent.select().count() == sizes[-1]
        assert User.get(User.name == "Casey Coordinator").role == "coordinator"
        assert Agency.select().count() == 1
        assert audit.verify().ok
    client = restored.test_client()
    assert client.get("/login").status_code == 200


@sqlite_only("the SQLite file and its backup API; on PostgreSQL: test_postgres_backup.py (pg_dump)")
def test_restore_refuses_an_existing_or_running_database(app, tmp_path):
    made = backup.backup_database(db_file(app), tmp_path / "b", keep=3)
    with pytest.raises(backup.BackupError, match="configured to serve"):
        backup.restore_database(made.path, Path(app.instance_path).parent, running=db_file(app))
    target = tmp_path / "new"
    backup.restore_database(made.path, target)
    before = (target / "marac.db").stat().st_mtime_ns
    with pytest.raises(backup.BackupError, match="already exists"):
        backup.restore_database(made.path, target)
    assert (target / "marac.db").stat().st_mtime_ns == before


def test_restore_refuses_a_damaged_backup(app, tmp_path):
    bad = tmp_path / "marac-20260101T000000Z.db"
    bad.write_bytes(b"not a database at all")
    with pytest.raises(backup.BackupError, match="not an SQLite database"):
        backup.restore_database(bad, tmp_path / "x")
    assert not (tmp_path / "x" / "marac.db").exists()


@sqlite_only("the SQLite file and its backup API; on PostgreSQL: test_postgres_backup.py (pg_dump)")
def test_prune_keeps_the_newest(tmp_path, fake_clock, app):
    folder = tmp_path / "backups"
    for _ in range(4):
        backup.backup_database(db_file(app), folder, keep=10)
        fake_clock.advance(hours=24)
    backup.backup_database(db_file(app), folder, keep=10)  # the same second twice: a suffix, still ordered
    second = backup.backup_database(db_file(app), folder, keep=3)
    names = [p.name for p in backup.list_backups(folder)]
    assert len(names) == 3 and names[-1] == second.path.name and second.path.name.endswith("-2.db")
    assert len(second.pruned) == 3
    (folder / "notes.txt").write_text("not a backup")
    backup.prune(folder, 1)
    assert (folder / "notes.txt").exists() and len(backup.list_backups(folder)) == 1


@sqlite_only("the SQLite file and its backup API; on PostgreSQL: test_postgres_backup.py (pg_dump)")
def test_check_finds_broken_foreign_keys_and_damage(app, tmp_path):
    path = db_file(app)
    assert backup.check_database(path) == []
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("INSERT INTO user (name, email, password_hash, role, agency_id, is_deputy, active, created_at, "
                 "totp_secret, totp_last_step) VALUES ('x', 'x@example.test', '', 'referrer', 999, 0, 1, "
                 "'2026-01-01', '', 0)")
    conn.commit()
    conn.close()
    problems = backup.check_database(path)
    assert problems == ["foreign key: user row 1 refers to a missing agency row"]
    broken = tmp_path / "broken.db"
    data = bytearray(path.read_bytes())
    data[5000:9000] = b"\x00" * 4000  # wipe part of page 2
    broken.write_bytes(bytes(data))
    assert backup.check_database(broken)
    assert backup.check_database(tmp_path / "missing.db") == [f"{tmp_path / 'missing.db'} does not exist"]


def test_commands(tmp_path, monkeypatch, capsys):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text("BACKUP_KEEP = 2\n", encoding="utf-8")
    monkeypatch.setenv("MARAC_INSTANCE", str(instance))
    create_app({"TESTING": True, "SECRET_KEY": "c" * 40})  # makes instance/marac.db
    if not db.is_closed():
        db.close()
    for _ in range(3):
        assert cli.main(["backup"]) == 0
    out = capsys.readouterr().out
    assert "Backup written and checked" in out and "Deleted 1 older backup" in out
    copies = backup.list_backups(instance / "backups")
    assert len(copies) == 2
    with db.connection_context():
        assert AuditEvent.select().where(AuditEvent.action == "system.backup").count() == 3
    assert cli.main(["check"]) == 0
    assert "integrity and foreign keys OK" in capsys.readouterr().out
    assert cli.main(["check", str(copies[-1])]) == 0
    assert cli.main(["restore", str(copies[-1]), "--to", str(tmp_path / "copy")]) == 0
    assert (tmp_path / "copy" / "marac.db").exists()
    assert cli.main(["restore", str(copies[-1]), "--to", str(tmp_path / "copy")]) == 2
    assert "already exists" in capsys.readouterr().out
    assert cli.main(["restore", str(copies[-1]), "--to", str(instance)]) == 2
    assert cli.main(["restore", str(copies[-1])]) == 1
    if not db.is_closed():
        db.close()


def test_windows_deployment_files_are_well_formed():
    from xml.etree import ElementTree

    folder = Path(__file__).resolve().parent.parent / "deploy" / "windows"
    service = ElementTree.parse(folder / "marac-service.xml").getroot()  # noqa: S314 (our own files)
    assert service.findtext("arguments") == "app.py"
    assert [e.get("action") for e in service.findall("onfailure")] == ["restart"] * 3
    ns = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
    task = ElementTree.parse(folder / "marac-backup-task.xml").getroot()  # noqa: S314 (our own files)
    assert task.find("t:Actions/t:Exec/t:Arguments", ns).text == "app.py backup"
    web = ElementTree.parse(folder / "web.config").getroot()  # noqa: S314 (our own files)
    rewrite = web.find("system.webServer/rewrite/rules/rule[@name='MARAC app']/action")
    assert rewrite.get("url") == "http://127.0.0.1:8080/{R:1}"
    compile((folder / "config.example.py").read_text(encoding="utf-8"), "config.example.py", "exec")
