"""Drill 32: the server is killed with SIGKILL again and again while clients write.

After each kill: integrity_check is ok, every write acknowledged so far is in the file with its
audit row, the audit chain is intact, and the app starts again on the same file.
"""
import random
import threading
import time
from pathlib import Path

from bench.drills.common import (
    Ledger,
    audit_chain_problem,
    fetch,
    integrity,
    missing_writes,
    prepare,
    sign_in,
    write_kinds,
    write_once,
)


def run(folder: Path, rounds: int = 10, writers: int = 4, min_s: float = 0.5, max_s: float = 2.0,
        logins: int | None = None, log=print) -> dict:
    borough = prepare(folder)
    urls = borough.urls
    ledger = Ledger()
    problems: list[str] = []
    rounds_done = []
    rng = random.Random(32)
    browsers = None
    port = None
    for round_no in range(1, rounds + 1):
        server = borough.server(port=port)
        startup = server.start()
        port = server.port
        if browsers is None:  # the session records survive the crash, so the cookies stay good
            browsers = [(b, "coordinator") for b in sign_in(server, "coordinator", borough.facts, writers // 2,
                                                             logins)]
            browsers += [(b, "representative") for b in sign_in(server, "representative", borough.facts,
                                                                  writers - writers // 2, logins)]
        stop = threading.Event()

        def writer(browser, role, seed, stop=stop, round_no=round_no):
            local = random.Random(seed)
            kinds = write_kinds(urls, role)
            while not stop.is_set() and kinds:
                try:
                    write, status, _body = write_once(browser, urls, local.choice(kinds))
                except Exception:  # the server died under this request: its outcome is unknown
                    browser.close()
                    return
                if status == 302:
                    ledger.add(write)
                elif status >= 500:
                    problems.append(f"round {round_no}: HTTP {status} for a {write.kind}")

        before = len(ledger.acknowledged)
        threads = [threading.Thread(target=writer, args=(b, role, round_no * 100 + n))
                   for n, (b, role) in enumerate(browsers)]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(min_s, max_s))
        server.kill()  # SIGKILL: no shutdown code, no checkpoint
        stop.set()
        for t in threads:
            t.join(30)
        for b, _role in browsers:
            b.close()
        check = integrity(borough.db_path)
        missing = missing_writes(borough.db_path, ledger.acknowledged)
        chain = audit_chain_problem(borough.db_path)
        if check != "ok":
            problems.append(f"round {round_no}: integrity_check: {check}")
        problems.extend(f"round {round_no}: {m}" for m in missing)
        if chain:
            problems.append(f"round {round_no}: {chain}")
        rounds_done.append({"round": round_no, "startup_s": round(startup, 2),
                            "acknowledged": len(ledger.acknowledged) - before, "integrity": check})
        log(f"crash round {round_no}: {len(ledger.acknowledged) - before} writes acknowledged, "
            f"killed; integrity {check}, missing {len(missing)}, audit chain {'ok' if not chain else chain}")
    # The app starts on the crashed file one last time and serves.
    server = borough.server(port=port)
    server.start()
    try:
        status = fetch(server.address, "/healthz").status
        if status != 200:
            problems.append(f"after the last crash the app answers HTTP {status}")
    finally:
        server.stop()
    return {"drill": "crash", "rounds": rounds_done, "acknowledged_writes": len(ledger.acknowledged),
            "problems": problems}
