"""Drill 34: an online backup taken under write load restores into a fresh folder where the app
starts with all the data (every write acknowledged before the backup began), and passes its checks.

Runs `python app.py backup` and `python app.py restore FILE --to FOLDER` as an operator would.
One user has an enrolled second factor (encrypted with instance/totp_key): the restored app starts
only if the restore brought the key along (marac/totp_key.py), and the key must be the same one.
"""
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.drills.common import (
    Ledger,
    fetch,
    integrity,
    missing_writes,
    prepare,
    sign_in,
    write_kinds,
    write_once,
)
from bench.server import ROOT, Server


def available() -> bool:
    """The backup command exists (issue 10)."""
    return (ROOT / "marac" / "backup.py").exists()


def app_command(instance: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, MARAC_INSTANCE=str(instance))
    return subprocess.run([sys.executable, str(ROOT / "app.py"), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def _enrol_one_user(instance: Path) -> str:
    """Give the first user an enrolled TOTP secret, stored as the app stores it; returns the clear secret."""
    import sqlite3

    import pyotp

    from marac import totp_key

    totp_key.load(instance)
    secret = pyotp.random_base32()
    conn = sqlite3.connect(instance / "marac.db")
    try:
        with conn:
            conn.execute('UPDATE "user" SET totp_secret = ?, totp_enrolled_at = ? WHERE id = '
                         '(SELECT min(id) FROM "user")', (totp_key.encrypt(secret), "2026-01-01 00:00:00"))
    finally:
        conn.close()
    return secret


def _restored_key_problems(restored: Path, secret: str) -> list[str]:
    """The restored folder holds the key that opens the restored secret."""
    import sqlite3

    from marac import totp_key

    if not (restored / totp_key.KEY_FILE).exists():
        return ["the restore brought no second-factor key (totp_key)"]
    totp_key.load(restored)
    conn = sqlite3.connect(restored / "marac.db")
    try:
        stored = conn.execute('SELECT totp_secret FROM "user" ORDER BY id LIMIT 1').fetchone()[0]
    finally:
        conn.close()
    try:
        if totp_key.decrypt(stored) != secret:
            return ["the restored second-factor secret is not the one enrolled"]
    except totp_key.TotpKeyError as exc:
        return [f"the restored key does not open the restored secret: {exc}"]
    return []


def run(folder: Path, seconds_before: float = 2.0, seconds_after: float = 2.0, writers: int = 4, log=print) -> dict:
    folder = Path(folder)
    borough = prepare(folder)
    urls = borough.urls
    enrolled_secret = _enrol_one_user(borough.instance)
    ledger = Ledger()
    problems: list[str] = []
    stop = threading.Event()
    server = borough.server()
    server.start()
    try:
        browsers = [(b, "coordinator") for b in sign_in(server, "coordinator", borough.facts, writers // 2)]
        browsers += [(b, "representative") for b in sign_in(server, "representative", borough.facts,
                                                              writers - writers // 2)]

        def writer(browser, role, seed):
            rng = random.Random(seed)
            kinds = write_kinds(urls, role)
            while not stop.is_set() and kinds:
                write, status, _body = write_once(browser, urls, rng.choice(kinds))
                if status == 302:
                    ledger.add(write)
                else:
                    problems.append(f"under backup load: a {write.kind} got HTTP {status}")

        threads = [threading.Thread(target=writer, args=(b, role, n)) for n, (b, role) in enumerate(browsers)]
        for t in threads:
            t.start()
        time.sleep(seconds_before)
        with ledger.lock:
            before_backup = list(ledger.acknowledged)
        started = time.perf_counter()
        made = app_command(borough.instance, "backup")
        backup_seconds = time.perf_counter() - started
        time.sleep(seconds_after)
        stop.set()
        for t in threads:
            t.join(30)
        for b, _role in browsers:
            b.close()
    finally:
        stop.set()
        server.stop()
    if made.returncode != 0:
        problems.append(f"backup failed: {made.stdout} {made.stderr}")
        return {"drill": "backup", "problems": problems}
    backups = sorted((borough.instance / "backups").glob("marac-*.db"))
    if not backups:
        problems.append("backup command succeeded but wrote no file")
        return {"drill": "backup", "problems": problems}
    backup_file = backups[-1]
    check = integrity(backup_file)
    if check != "ok":
        problems.append(f"backup integrity_check: {check}")
    restored = folder / "restored"
    done = app_command(borough.instance, "restore", str(backup_file), "--to", str(restored))
    if done.returncode != 0:
        problems.append(f"restore failed: {done.stdout} {done.stderr}")
        return {"drill": "backup", "problems": problems}
    for name in ("config.py", "secret_key"):  # as the restore command's instructions say
        if (borough.instance / name).exists():
            shutil.copy(borough.instance / name, restored / name)
    problems += [f"restored copy: {m}" for m in missing_writes(restored / "marac.db", before_backup)]
    problems += _restored_key_problems(restored, enrolled_secret)
    server = Server(restored)
    startup = server.start()
    try:
        (browser,) = sign_in(server, "coordinator", borough.facts, 1)
        page = fetch(server.address, urls["case"], browser)
        browser.close()
        if page.status != 200:
            problems.append(f"the restored app answers the case page with HTTP {page.status} {page.location}")
    finally:
        server.stop()
    log(f"backup under load: {len(before_backup)} writes before the backup, {len(ledger.acknowledged)} in all; "
        f"backup took {backup_seconds:.1f}s ({backup_file.stat().st_size // 1024} KB), integrity {check}; "
        f"restored app started in {startup:.2f}s; problems: {len(problems)}")
    return {"drill": "backup", "backup_s": round(backup_seconds, 2), "writes_before": len(before_backup),
            "restored_startup_s": round(startup, 2), "problems": problems}
