"""Drill 31: 16 clients reading and writing at once for a while.

No 5xx, no "database is locked", and every write the server acknowledged is in the file afterwards
with its audit row; integrity_check and the audit chain pass.
"""
import random
import threading
import time
from collections import Counter
from pathlib import Path

from bench.drills.common import (
    Ledger,
    audit_chain_problem,
    integrity,
    missing_writes,
    prepare,
    sign_in,
    write_kinds,
    write_once,
)

READS = {
    "coordinator": ["home", "agencies", "inbox", "board", "case", "search"],
    "representative": ["home", "actions", "case", "search"],
}


def run(folder: Path, duration: float = 60.0, clients: int = 16, write_share: float = 0.3,
        logins: int | None = None, log=print) -> dict:
    borough = prepare(folder)
    urls = borough.urls
    server = borough.server()
    server.start()
    ledger = Ledger()
    statuses: Counter = Counter()
    problems: list[str] = []
    slowest = [0.0]
    lock = threading.Lock()

    def note(problem: str) -> None:
        with lock:
            if len(problems) < 20:
                problems.append(problem)

    def worker(browser, role: str, seed: int, deadline: float) -> None:
        rng = random.Random(seed)
        kinds = write_kinds(urls, role)
        reads = [urls[k] for k in READS[role] if k in urls]
        try:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                if kinds and rng.random() < write_share:
                    write, status, body = write_once(browser, urls, rng.choice(kinds))
                    what = f"POST {write.kind}"
                    if status == 302:
                        ledger.add(write)
                else:
                    path = rng.choice(reads)
                    response = browser.get(path)
                    status, body, what = response.status, response.text, f"GET {path}"
                with lock:
                    statuses[status] += 1
                    slowest[0] = max(slowest[0], time.perf_counter() - started)
                if status != (302 if what.startswith("POST") else 200):
                    note(f"{what}: HTTP {status}")
                if "database is locked" in body:
                    note(f"{what}: 'database is locked' in the page")
        except Exception as exc:  # a dropped connection is a failure of the drill too
            note(f"{role} client: {exc!r}")

    try:
        coordinators = sign_in(server, "coordinator", borough.facts, clients // 2, logins)
        reps = sign_in(server, "representative", borough.facts, clients - clients // 2, logins)
        deadline = time.monotonic() + duration
        threads = [threading.Thread(target=worker, args=(b, role, n, deadline))
                   for n, (b, role) in enumerate([(b, "coordinator") for b in coordinators]
                                                 + [(b, "representative") for b in reps])]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for b in coordinators + reps:
            b.close()
    finally:
        server.stop()
    log_text = server.output()
    if "database is locked" in log_text:
        problems.append("'database is locked' in the server log")
    if "Traceback" in log_text:
        problems.append("a traceback in the server log (an unhandled error)")
    problems += missing_writes(borough.db_path, ledger.acknowledged)
    check = integrity(borough.db_path)
    if check != "ok":
        problems.append(f"integrity_check: {check}")
    chain = audit_chain_problem(borough.db_path)
    if chain:
        problems.append(chain)
    requests = sum(statuses.values())
    result = {"drill": "mixed load", "seconds": duration, "clients": clients, "requests": requests,
              "req_per_s": round(requests / duration, 1), "statuses": dict(statuses),
              "acknowledged_writes": len(ledger.acknowledged), "slowest_s": round(slowest[0], 3),
              "write_kinds": sorted({w.kind for w in ledger.acknowledged}), "problems": problems}
    log(f"mixed load: {requests} requests in {duration:g}s ({result['req_per_s']}/s), "
        f"{len(ledger.acknowledged)} writes acknowledged, slowest {result['slowest_s']}s, "
        f"statuses {dict(statuses)}, problems: {len(problems)}")
    return result
