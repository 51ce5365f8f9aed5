"""Drill 35a: another connection holds the write lock for longer than busy_timeout.

Writes fail in bounded time with the clear 503 page (not a hang, not a 500); waitress's threads
are not used up (the health check keeps answering); after the lock is released every client
saves again. Nothing refused is in the database.
"""
import math
import threading
import time
from pathlib import Path

from bench.drills.common import connect, fetch, missing_writes, prepare, present, sign_in, write_kinds, write_once
from bench.drills.diskfull import FULL_PAGE_TEXT

WAITRESS_THREADS = 8  # marac.config.THREADS


def run(folder: Path, busy_timeout_ms: int = 5000, clients: int = 16, logins: int | None = None, log=print) -> dict:
    borough = prepare(folder, {"SQLITE_BUSY_TIMEOUT_MS": busy_timeout_ms})
    urls = borough.urls
    busy = busy_timeout_ms / 1000
    # A request may queue behind one busy wait per wave of waitress threads, then wait its own.
    bound = math.ceil(clients / WAITRESS_THREADS) * busy + 2.0
    hold = bound + busy  # the longest the lock is held (released as soon as every client has its answer)
    problems: list[str] = []
    results = []
    health = []
    server = borough.server()
    server.start()
    try:
        browsers = sign_in(server, "coordinator", borough.facts, clients, logins)
        kinds = write_kinds(urls, "coordinator")
        holder = connect(borough.db_path)
        holder.isolation_level = None
        holder.execute("BEGIN IMMEDIATE")  # the write lock, held past busy_timeout
        held_at = time.perf_counter()
        held = 0.0
        done = threading.Event()

        def client(n, browser):
            started = time.perf_counter()
            try:
                write, status, body = write_once(browser, urls, kinds[n % len(kinds)])
                results.append((write, status, time.perf_counter() - started, FULL_PAGE_TEXT in body))
            except Exception as exc:
                problems.append(f"while locked: client {n}: {exc!r}")

        def poll_health():
            while not done.is_set():
                started = time.perf_counter()
                try:
                    status = fetch(server.address, "/healthz", timeout=hold + 10).status
                except Exception as exc:
                    problems.append(f"health check while locked: {exc!r}")
                    return
                health.append((status, time.perf_counter() - started))
                time.sleep(0.2)

        threads = [threading.Thread(target=client, args=(n, b)) for n, b in enumerate(browsers)]
        poller = threading.Thread(target=poll_health)
        poller.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join(hold + 30)
        done.set()
        poller.join()
        held = time.perf_counter() - held_at
        holder.execute("ROLLBACK")  # every client has had its answer: the lock was held past busy_timeout
        holder.close()
        for write, status, seconds, clear in results:
            if status != 503:
                problems.append(f"while locked: a {write.kind} got HTTP {status} after {seconds:.1f}s, not 503")
            elif not clear:
                problems.append(f"while locked: the 503 page does not say '{FULL_PAGE_TEXT}'")
            if seconds > bound:
                problems.append(f"while locked: a {write.kind} took {seconds:.1f}s (bound {bound:.1f}s)")
            if present(borough.db_path, write):
                problems.append(f"while locked: refused {write.kind} {write.marker} is in the database")
        slow_health = max((s for _st, s in health), default=0)
        if any(st != 200 for st, _s in health):
            problems.append("health check failed while the database was locked")
        if slow_health > bound:
            problems.append(f"health check took {slow_health:.1f}s while locked: waitress threads used up")
        saved = []
        for n, browser in enumerate(browsers):
            write, status, _body = write_once(browser, urls, kinds[n % len(kinds)])
            if status != 302:
                problems.append(f"after the lock: a {write.kind} got HTTP {status}")
            else:
                saved.append(write)
        for b in browsers:
            b.close()
    finally:
        server.stop()
    problems += missing_writes(borough.db_path, saved)
    if "Traceback" in server.output():
        problems.append("a traceback in the server log (an unhandled error)")
    slowest = max((s for _w, _st, s, _c in results), default=0)
    log(f"write lock held {held:.1f}s (busy_timeout {busy:g}s): {len(results)} writes answered 503 in at most "
        f"{slowest:.1f}s, health check at most {slow_health:.2f}s, {len(saved)} saved after; "
        f"problems: {len(problems)}")
    return {"drill": "write lock", "busy_timeout_s": busy, "slowest_refusal_s": round(slowest, 2),
            "slowest_health_s": round(slow_health, 2), "saved_after": len(saved), "problems": problems}
