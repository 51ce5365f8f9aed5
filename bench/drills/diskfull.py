"""Drill 33: the disk fills up (SQLite's max_page_count, config SQLITE_MAX_PAGE_COUNT, is the disk).

While full: writes get the clear 503 page (not a 500), reading still works, nothing half-saved
(no row, no audit row, the chain intact). When room is made (the "other file" filling the disk,
a ballast table, is dropped) the same running server saves again.
"""
import sqlite3
from pathlib import Path

from bench.drills.common import (
    audit_chain_problem,
    connect,
    fetch,
    integrity,
    missing_writes,
    prepare,
    present,
    sign_in,
    write_kinds,
    write_once,
)
from bench.server import write_instance

HEADROOM_PAGES = 400  # room for the sign-ins before the disk is filled
FULL_PAGE_TEXT = "cannot save right now"


def fill(db_path: Path, limit: int) -> int:
    """Fill the "disk" with a ballast table until SQLite says it is full; return the bytes written."""
    conn = connect(db_path)
    conn.isolation_level = None
    conn.execute(f"PRAGMA max_page_count = {limit}")
    conn.execute("CREATE TABLE IF NOT EXISTS drill_ballast (b BLOB)")
    written = 0
    for size in (256 * 1024, 16 * 1024, 1024, 100):
        while True:
            try:
                conn.execute("INSERT INTO drill_ballast VALUES (zeroblob(?))", (size,))
                written += size
            except sqlite3.OperationalError as exc:
                if "full" not in str(exc):
                    raise
                break
    conn.close()
    return written


def count_audit(db_path: Path) -> int:
    conn = connect(db_path)
    try:
        return conn.execute("SELECT count(*) FROM audit_event").fetchone()[0]
    finally:
        conn.close()


def run(folder: Path, attempts: int = 5, log=print) -> dict:
    borough = prepare(folder)
    conn = connect(borough.db_path)
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    limit = pages + HEADROOM_PAGES
    write_instance(borough.instance, {"SQLITE_MAX_PAGE_COUNT": limit})
    urls = borough.urls
    problems: list[str] = []
    server = borough.server()
    server.start()
    try:
        writers = [(b, "coordinator") for b in sign_in(server, "coordinator", borough.facts, 1)]
        writers += [(b, "representative") for b in sign_in(server, "representative", borough.facts, 1)]
        ballast = fill(borough.db_path, limit)
        audit_before = count_audit(borough.db_path)
        # A small row can still fit in a page that has room; writes that need a new page are refused.
        refused, squeezed_in = [], []
        jobs = [(browser, kind) for browser, role in writers for kind in write_kinds(urls, role)]
        for _round in range(100):
            for browser, kind in jobs:
                write, status, body = write_once(browser, urls, kind)
                if status == 302:
                    squeezed_in.append(write)
                elif status == 503:
                    refused.append(write)
                    if FULL_PAGE_TEXT not in body:
                        problems.append(f"disk full: the 503 page for a {kind} does not say '{FULL_PAGE_TEXT}'")
                else:
                    problems.append(f"disk full: a {kind} got HTTP {status}, not 503")
            if len(refused) >= attempts * len(jobs):
                break
        else:
            problems.append(f"disk full: only {len(refused)} writes were refused: the disk never filled")
        read = fetch(server.address, urls["home"], writers[0][0])
        if read.status != 200:
            problems.append(f"disk full: reading the home page gives HTTP {read.status}")
        half_saved = [w.marker for w in refused if present(borough.db_path, w)]
        if half_saved:
            problems.append(f"disk full: refused writes are in the database: {half_saved[:3]}")
        if count_audit(borough.db_path) != audit_before + len(squeezed_in):
            problems.append("disk full: audit rows were added for refused writes")
        # Room again: drop the ballast, and the same server must save normally.
        conn = connect(borough.db_path)
        conn.execute("DROP TABLE drill_ballast")
        conn.commit()
        conn.close()
        saved = []
        for browser, role in writers:
            for kind in write_kinds(urls, role):
                write, status, _body = write_once(browser, urls, kind)
                if status != 302:
                    problems.append(f"after making room: a {kind} got HTTP {status}")
                else:
                    saved.append(write)
        for b, _role in writers:
            b.close()
    finally:
        server.stop()
    problems += missing_writes(borough.db_path, squeezed_in + saved)
    log_text = server.output()
    if "Traceback" in log_text:
        problems.append("a traceback in the server log (an unhandled error)")
    check = integrity(borough.db_path)
    if check != "ok":
        problems.append(f"integrity_check: {check}")
    chain = audit_chain_problem(borough.db_path)
    if chain:
        problems.append(chain)
    log(f"disk full: {len(refused)} writes refused with 503 while full ({ballast // 1024} KB of ballast; "
        f"{len(squeezed_in)} small ones still fitted), {len(saved)} saved after making room; "
        f"problems: {len(problems)}")
    return {"drill": "disk full", "max_page_count": limit, "refused": len(refused), "fitted": len(squeezed_in),
            "saved_after": len(saved), "problems": problems}
