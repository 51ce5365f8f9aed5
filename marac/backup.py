"""Backup, restore and check of the SQLite database (python app.py backup | restore | check).

backup   SQLite's online backup API copies the live database while the app keeps serving (in WAL
         mode readers and the writer carry on), the copy is made a single self-contained file,
         its integrity_check must pass before it gets its final name, and copies beyond the
         retention setting (BACKUP_KEEP) are deleted, oldest first. The key of the second-factor
         secrets (instance/totp_key, marac/totp_key.py) is copied beside it as
         marac-<time>.db.totp_key (0600): the database alone cannot make codes, so a backup
         without its key would lock every user out of their authenticator app.
restore  copies a backup into a fresh folder (never over an existing database, never over the
         one the app is configured to serve), with its key as totp_key, checks it, and says how
         to serve it.
check    integrity_check and foreign_key_check of the live database (or of any file).

On PostgreSQL (DATABASE_URL postgresql://...) the three are marac/postgres.py's: pg_dump, pg_restore
into a new, empty database, and a check of the connection, the migrations and the audit log.

These work on the file directly, without create_app(): the database may be damaged (that is when
they are needed) and the app's start-up check would refuse it.
"""
import os
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from flask import Config

from marac import clock
from marac.totp_key import KEY_FILE, key_path

BACKUP_NAME = re.compile(r"^marac-(\d{8}T\d{6}Z)(?:-(\d+))?\.db$")
DATABASE_FILE = "marac.db"


class BackupError(RuntimeError):
    """A backup, restore or check that could not be done; the message says why."""


@dataclass
class BackupResult:
    path: Path
    size: int
    pruned: list[Path] = field(default_factory=list)


# --- where things are ---------------------------------------------------------------------------


def load_config(instance_path: str | os.PathLike | None = None) -> Config:
    """The app's configuration as create_app() reads it (defaults, then instance/config.py)."""
    from marac import ROOT
    from marac import config as default_config

    path = Path(instance_path or os.environ.get("MARAC_INSTANCE") or ROOT / "instance")
    cfg = Config(str(path))
    cfg.from_object(default_config)
    cfg.from_pyfile("config.py", silent=True)
    cfg["INSTANCE_PATH"] = str(path)
    return cfg


def database_path(cfg) -> Path:
    """The SQLite file the configuration serves."""
    url = cfg.get("DATABASE_URL")
    if not url:
        return Path(cfg["INSTANCE_PATH"]) / DATABASE_FILE
    if not url.startswith("sqlite:///"):
        raise BackupError("backup, restore and check work on SQLite and PostgreSQL databases only")
    return Path(url[len("sqlite:///"):].split("?", 1)[0])


def backup_folder(cfg) -> Path:
    """Where backups go: BACKUP_DIR, or <instance>/backups."""
    return Path(cfg.get("BACKUP_DIR") or Path(cfg["INSTANCE_PATH"]) / "backups")


# --- checks --------------------------------------------------------------------------------------


def _is_sqlite_file(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def _reader(path: Path) -> sqlite3.Connection:
    # Not mode=ro: a read-only connection cannot open a WAL database whose -shm file is missing.
    conn = sqlite3.connect(str(path), timeout=30)
    conn.execute("PRAGMA query_only=1")
    return conn


def check_database(path: Path) -> list[str]:
    """Problems found by integrity_check and foreign_key_check; empty when the file is sound."""
    path = Path(path)
    if not path.is_file():
        return [f"{path} does not exist"]
    if not _is_sqlite_file(path):
        return [f"{path} is not an SQLite database"]
    problems = []
    try:
        conn = _reader(path)
    except sqlite3.Error as exc:
        return [f"cannot open {path}: {exc}"]
    try:
        rows = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
        if rows != ["ok"]:
            problems += [f"integrity: {r}" for r in rows]
        for table, rowid, parent, _ in conn.execute("PRAGMA foreign_key_check").fetchall():
            problems.append(f"foreign key: {table} row {rowid} refers to a missing {parent} row")
    except sqlite3.Error as exc:
        problems.append(f"the check itself failed: {exc}")
    finally:
        conn.close()
    return problems


# --- backup --------------------------------------------------------------------------------------


def _copy(source: Path, target: Path) -> None:
    """Copy with the online backup API, then make the copy one self-contained file."""
    src = _reader(source)
    dst = sqlite3.connect(str(target))
    try:
        # All pages in one step: one read transaction, so the copy is a consistent snapshot
        # even while the app writes (WAL lets the writer carry on meanwhile).
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # no -wal file beside the copy
    finally:
        dst.close()
        src.close()


def key_copy(backup_file: Path) -> Path:
    """Where a backup's second-factor key is kept: beside it, marac-<time>.db.totp_key."""
    return Path(backup_file).with_name(Path(backup_file).name + "." + KEY_FILE)


def _copy_key(source: Path, target: Path) -> None:
    """Copy a key file, readable by its owner only (never over an existing file)."""
    data = source.read_bytes()
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def new_copy_paths(folder: Path, extension: str) -> tuple[Path, Path]:
    """A new backup's name, folder/marac-<UTC time>.<extension> (numbered when taken twice in a
    second), and the .partial name it is written under until it has been checked."""
    stamp = clock.now().strftime("%Y%m%dT%H%M%SZ")
    target, n = folder / f"marac-{stamp}.{extension}", 2
    while target.exists():
        target, n = folder / f"marac-{stamp}-{n}.{extension}", n + 1
    return target, target.with_name(target.name + ".partial")


def copy_key_beside(target: Path, key_file: Path | None) -> None:
    """Put the instance's second-factor key beside a backup (replacing one an earlier failed attempt left)."""
    if key_file is not None and Path(key_file).exists():
        key_copy(target).unlink(missing_ok=True)
        _copy_key(Path(key_file), key_copy(target))


def _backup_key(path: Path):
    match = BACKUP_NAME.match(path.name)
    return (match.group(1), int(match.group(2) or 0)) if match else None


def list_backups(folder: Path) -> list[Path]:
    """The backups in a folder, oldest first."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_file() and _backup_key(p)]
    return sorted(found, key=_backup_key)


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete the oldest backups beyond `keep`; returns those deleted."""
    if keep < 1:
        raise BackupError("BACKUP_KEEP must be 1 or more")
    old = list_backups(folder)[:-keep]
    for path in old:
        path.unlink()
        key_copy(path).unlink(missing_ok=True)
    return old


def backup_database(source: Path, folder: Path, keep: int, key_file: Path | None = None) -> BackupResult:
    """Copy the live database to folder/marac-<UTC time>.db, check the copy, prune old ones. With
    key_file (the instance's totp_key), the key is copied beside the backup first."""
    source = Path(source)
    if not _is_sqlite_file(source):
        raise BackupError(f"{source} is not an SQLite database")
    folder.mkdir(parents=True, exist_ok=True)
    target, partial = new_copy_paths(folder, "db")
    try:
        copy_key_beside(target, key_file)
        _copy(source, partial)
        problems = check_database(partial)
        if problems:
            raise BackupError("the copy failed its check: " + "; ".join(problems[:5]))
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
        if not target.exists():
            key_copy(target).unlink(missing_ok=True)
    return BackupResult(target, target.stat().st_size, prune(folder, keep))


# --- restore -------------------------------------------------------------------------------------


def restore_database(backup_file: Path, to_folder: Path, running: Path | None = None) -> Path:
    """Restore a backup into to_folder/marac.db, and its second-factor key (if kept beside it) into
    to_folder/totp_key; refuses to overwrite any database or key."""
    backup_file, to_folder = Path(backup_file), Path(to_folder)
    problems = check_database(backup_file)
    if problems:
        raise BackupError(f"{backup_file} cannot be restored: " + "; ".join(problems[:5]))
    target = to_folder / DATABASE_FILE
    if running is not None and target.resolve() == Path(running).resolve():
        raise BackupError(f"{target} is the database the app is configured to serve: restore into a new folder, "
                          "check it, then switch over")
    key = key_copy(backup_file)
    for existing in (target, target.with_name(target.name + "-wal"), to_folder / KEY_FILE):
        if existing.exists() and (existing.name != KEY_FILE or key.exists()):
            raise BackupError(f"{existing} already exists: restore into a new, empty folder")
    to_folder.mkdir(parents=True, exist_ok=True)
    partial = to_folder / (DATABASE_FILE + ".partial")
    try:
        _copy(backup_file, partial)
        problems = check_database(partial)
        if problems:
            raise BackupError("the restored copy failed its check: " + "; ".join(problems[:5]))
        if key.exists():
            _copy_key(key, to_folder / KEY_FILE)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


# --- commands (python app.py ...) ----------------------------------------------------------------


def backup_command(args) -> int:
    """python app.py backup"""
    cfg = load_config()
    from marac import postgres

    if postgres.is_postgres_url(cfg.get("DATABASE_URL") or ""):
        return postgres.backup_command(cfg)  # pg_dump (issue 12)
    try:
        result = backup_database(database_path(cfg), backup_folder(cfg), int(cfg["BACKUP_KEEP"]),
                                 key_file=key_path(cfg["INSTANCE_PATH"]))
    except (BackupError, sqlite3.Error, OSError) as exc:
        print(f"Backup FAILED: {exc}")
        return 2
    print(f"Backup written and checked: {result.path} ({result.size // 1024} KB).")
    if key_copy(result.path).exists():
        print(f"The second-factor key is beside it: {key_copy(result.path).name}. Keep the two together, and as "
              "safe as the database: whoever has both can make users' sign-in codes.")
    else:
        print(f"No second-factor key ({key_path(cfg['INSTANCE_PATH'])}) was found to copy: back it up with the "
              "database, or users must enrol their authenticator app again after a restore.")
    if result.pruned:
        print(f"Deleted {len(result.pruned)} older backup(s), keeping the newest {cfg['BACKUP_KEEP']}.")
    _audit("system.backup", {"file": result.path.name, "pruned": len(result.pruned)})
    return 0


def restore_command(args) -> int:
    """python app.py restore FILE --to FOLDER"""
    if not args.file or not args.to:
        print("Usage: python app.py restore BACKUP_FILE --to NEW_FOLDER")
        return 1
    cfg = load_config()
    from marac import postgres

    if postgres.is_postgres_url(cfg.get("DATABASE_URL") or ""):
        return postgres.restore_command(cfg, args)  # pg_restore into a new database (issue 12)
    try:
        target = restore_database(Path(args.file), Path(args.to), running=database_path(cfg))
    except (BackupError, sqlite3.Error, OSError) as exc:
        print(f"Restore refused: {exc}")
        return 2
    print(f"Restored and checked: {target}")
    if (target.parent / KEY_FILE).exists():
        print(f"Its second-factor key was restored too: {target.parent / KEY_FILE}")
    else:
        print(f"No second-factor key was kept beside {args.file} ({key_copy(Path(args.file)).name}): copy the "
              f"totp_key that belongs to this database into {target.parent}, or the app will not start.")
    print("To serve it: stop the service, then either set MARAC_INSTANCE to that folder (copy config.py and "
          "secret_key from the old instance folder into it; totp_key is there already), or move the old marac.db "
          "(and any marac.db-wal and marac.db-shm) aside and put this file and totp_key in their places. "
          "Start the service again.")
    return 0


def check_command(args) -> int:
    """python app.py check [FILE]"""
    if getattr(args, "file", None):
        path = Path(args.file)
    else:
        cfg = load_config()
        from marac import postgres

        if postgres.is_postgres_url(cfg.get("DATABASE_URL") or ""):
            return postgres.check_command(cfg)  # the connection, migrations, audit log (issue 12)
        try:
            path = database_path(cfg)
        except BackupError as exc:
            print(f"Check refused: {exc}")
            return 2
    problems = check_database(path)
    if problems:
        print(f"{path}: {len(problems)} problem(s)")
        for problem in problems[:50]:
            print("  " + problem)
        return 2
    print(f"{path}: integrity and foreign keys OK.")
    return 0


def _audit(action: str, detail: dict) -> None:
    """Record the operation in the live database's audit log (after the fact; never fatal)."""
    from marac import audit, create_app
    from marac.db import db

    try:
        create_app()
        with db.connection_context(), db.atomic():
            audit.record(action, object_type="database", object_id="marac", detail=detail)
    except Exception as exc:  # noqa: BLE001 the backup itself is done and checked
        print(f"(The audit log could not record this: {exc})")
