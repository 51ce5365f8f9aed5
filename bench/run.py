"""The benchmark: the real app under 16 signed-in clients, page by page, at 1,000 / 10,000 / 100,000 cases.

    .venv/bin/python -m bench.run                 # all three sizes (generates what is not cached)
    .venv/bin/python -m bench.run --quick         # smoke test: 1,000 cases, short runs
    .venv/bin/python -m bench.run --sizes 1000 10000 --duration 5
    .venv/bin/python -m bench.run --database postgres --sizes 1000 100000 --panels 5   # issue 12

For each size: a copy of the cached borough is served by `python app.py serve` (waitress, on
127.0.0.1) in its own process; 16 users per role sign in through the real login form; then a
separate load process (bench/loadgen.py) keeps 16 connections busy on one page at a time.
Pages whose route does not exist yet are listed as "not built yet" (bench/pages.py).
It prints one table and writes the same as JSON to bench/results/.

--panels N spreads each size's cases over N panels in one database and measures panel 1's pages
(bench/generate.py). --database postgres copies each cached borough into a new PostgreSQL database
(bench/pgload.py) and serves it with DATABASE_URL set, by the same `python app.py serve`.
"""
import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

if __package__ in (None, ""):  # `python bench/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import generate  # noqa: E402
from bench.pages import PAGES, give_reason, is_built, page_url, reason_url  # noqa: E402
from bench.pgload import DURABLE, FAST_LOAD, PostgresServer, load_in_subprocess  # noqa: E402
from bench.server import HOST, Browser, Server, write_instance  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
CONCURRENCY = 16
BUDGET = {"growth": 1.5, "memory_mb": 250, "startup_s": 2.0}


def load_average() -> float | None:
    """The 1-minute load average: other work on the machine skews every number."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def url_app():
    """An app on an empty throw-away database, only to resolve URLs from app.url_map."""
    from marac import create_app

    folder = tempfile.mkdtemp(prefix="marac-bench-urls-")
    return create_app({"SECRET_KEY": "u" * 64, "TESTING": True,
                       "DATABASE_URL": f"sqlite:///{folder}/urls.db"}, instance_path=folder)


def derived_facts(facts: dict) -> dict:
    """Facts every page can use that follow from the generation date (a year's report: the last 12 months)."""
    generated = datetime.fromisoformat(facts["generated_at"])
    return dict(facts, report_year=generated.year - 1,
                report_from=(generated - timedelta(days=365)).date().isoformat(),
                report_to=generated.date().isoformat())


def sign_in(address, facts: dict, roles: set[str], log) -> dict[str, list[Browser]]:
    """CONCURRENCY signed-in browsers per role (distinct users where the borough has enough)."""
    users = facts["users"]
    sessions: dict[str, list[Browser]] = {}
    for role in sorted(roles):
        emails = users[role]
        sessions[role] = []
        for n in range(CONCURRENCY):
            browser = Browser(address)
            browser.login(emails[n % len(emails)], users["password"])
            browser.close()
            sessions[role].append(browser)
        log(f"  signed in {CONCURRENCY} {role} sessions ({len(set(emails[:CONCURRENCY]))} users)")
    return sessions


def load(address, requests: list[dict], duration: float, warmup: float) -> dict:
    plan = {"host": address[0], "port": address[1], "concurrency": CONCURRENCY, "duration": duration,
            "warmup": warmup, "clients": [[r] for r in requests]}
    out = subprocess.run([sys.executable, "-m", "bench.loadgen"], input=json.dumps(plan), capture_output=True,
                         text=True, cwd=Path(__file__).resolve().parent.parent, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"load generator failed: {out.stderr}")
    return json.loads(out.stdout)


def client_requests(app, page, facts: dict, sessions: dict) -> list[dict]:
    """One request per client: its own URL (a referrer's own draft), session cookie, CSRF token and form body."""
    requests = []
    for n in range(CONCURRENCY):
        headers = {}
        body = ""
        browser = sessions[page.role][n] if page.role else None
        url = page_url(app, page, facts, browser.email if browser else None)
        if browser:
            headers["Cookie"] = browser.cookie_header()
            if page.form:
                headers["X-CSRFToken"] = browser.csrf
        if page.htmx:
            headers["HX-Request"] = "true"
        if page.form:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urlencode(page.form(facts), doseq=True)
        requests.append({"method": page.method, "path": url, "headers": headers, "body": body})
    return requests


def check_once(address, request: dict) -> tuple[int, str]:
    """One request before the load, so a broken page is reported instead of measured."""
    browser = Browser(address)
    try:
        headers = dict(request["headers"])
        response = browser.request(request["method"], request["path"], headers=headers,
                                   body=request["body"].encode() if request["body"] else None)
        return response.status, response.text[:300]
    finally:
        browser.close()


def postgres_instance(folder: Path, size: int, db_path: Path, postgres: PostgresServer, log) -> tuple[Path, dict]:
    """An instance folder whose DATABASE_URL is a new PostgreSQL database holding the borough; the load's summary."""
    url = postgres.create_database(f"marac_bench_{size}")
    log(f"\n== {size:,} cases: copying {db_path.stat().st_size / 2**20:.0f} MB of SQLite into PostgreSQL")
    postgres.configure(FAST_LOAD)
    try:
        summary = load_in_subprocess(db_path, url)
    finally:
        postgres.configure(DURABLE)  # measured as in production: PostgreSQL's durable defaults
    log(f"  loaded in {summary['total_s']:.0f}s (copy {summary['copy_s']:.0f}s, indexes {summary['indexes_s']:.0f}s, "
        f"VACUUM ANALYZE {summary['vacuum_analyze_s']:.0f}s): {summary['bytes'] / 2**20:,.0f} MB")
    instance = write_instance(folder / "instance", config={"REQUIRE_SECOND_FACTOR": False, "DATABASE_URL": url})
    return instance, {k: v for k, v in summary.items() if k != "rows"}


def run_size(size: int, app, duration: float, warmup: float, keep: bool, log, panels: int = 1,
             postgres: PostgresServer | None = None, stale_ok: bool = False) -> dict:
    db_path, facts = generate.ensure(size, panels=panels, stale_ok=stale_ok)
    facts = derived_facts(facts)
    if facts.get("stale"):
        log(f"  NOTE: the cached {size:,}-case borough is stale (generator or migrations changed since); used as it is")
    folder = Path(tempfile.mkdtemp(prefix=f"marac-bench-{size}-"))
    result = {"size": size, "pages": {}, "stale_cache": bool(facts.get("stale")),
              "facts": {k: facts[k] for k in ("counts", "bytes", "generated_at")},
              "panels": facts.get("panels"), "database": "postgres" if postgres else "sqlite"}
    if postgres:
        instance, result["postgres"] = postgres_instance(folder, size, db_path, postgres, log)
        result["facts"]["bytes"] = result["postgres"]["bytes"]
    else:
        log(f"\n== {size:,} cases: copying {db_path.stat().st_size / 2**20:.0f} MB to {folder}")
        # The benchmark's users sign in with a password only (no authenticator app to read codes from).
        instance = write_instance(folder / "instance", config={"REQUIRE_SECOND_FACTOR": False}, database=db_path)
    server = Server(instance)
    result["load_before"] = load_average()
    try:
        result["startup_s"] = round(server.start(), 3)
        log(f"  server up in {result['startup_s']:.2f}s (pid {server.pid})")
        address = (HOST, server.port)
        built = [p for p in PAGES if is_built(app, p.endpoint)]
        roles = {p.role for p in built if p.role}
        sessions = sign_in(address, facts, roles, log)
        ceiling = None
        for page in PAGES:
            entry = {"title": page.title, "endpoint": page.endpoint, "role": page.role, "method": page.method}
            result["pages"][page.key] = entry
            if page not in built:
                entry["status"] = "not built yet"
                continue
            if page.reason:
                for browser in sessions[page.role]:
                    give_reason(browser, reason_url(app, facts[page.obj]))
            try:
                requests = client_requests(app, page, facts, sessions)
            except Exception as exc:  # the route wants arguments pages.py does not give
                entry["status"] = f"url: {exc.__class__.__name__}: {exc}"
                continue
            entry["url"] = requests[0]["path"]
            status, sample = check_once(address, requests[0])
            if status != 200:
                entry["status"] = f"HTTP {status}"
                entry["sample"] = sample
                log(f"  {page.title}: HTTP {status}, not measured")
                continue
            stats = load(address, requests, duration, warmup)
            entry.update(stats)
            entry["status"] = "measured"
            if page.key == "ceiling":
                ceiling = stats["req_per_s"]
            entry["ratio"] = round(stats["req_per_s"] / ceiling, 3) if ceiling else None
            log(f"  {page.title:40} {stats['req_per_s']:8.1f} req/s  p50 {stats['p50_ms']:7.1f} ms  "
                f"p95 {stats['p95_ms']:7.1f} ms  {stats['statuses']}")
        memory = server.memory_mb()
        result["peak_memory_mb"] = round(memory["peak"], 1) if memory["peak"] else None
        result["server_errors"] = server.output().count("Traceback")
        result["locked_in_log"] = server.output().count("database is locked")
        result["load_after"] = load_average()
        if postgres:
            result["postgres"]["bytes_after"] = postgres.database_size(f"marac_bench_{size}")
    finally:
        server.stop()
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
            if postgres:
                postgres.drop_database(f"marac_bench_{size}")
    return result


# --- the report -----------------------------------------------------------------------------------


def judge(results: list[dict]) -> dict:
    """Pass/fail for each budget line."""
    lines = []
    by_size = {r["size"]: r for r in results}
    sizes = sorted(by_size)
    largest, smallest = sizes[-1], sizes[0]
    for size in sizes:
        r = by_size[size]
        for key, entry in r["pages"].items():
            page = next(p for p in PAGES if p.key == key)
            if entry.get("status") != "measured" or key == "ceiling" or page.reference:
                continue
            errors = sum(v for k, v in entry["statuses"].items() if not k.startswith("2")) + entry["connection_errors"]
            lines.append({"size": size, "page": entry["title"], "check": "no errors", "value": errors,
                          "limit": 0, "ok": errors == 0})
            lines.append({"size": size, "page": entry["title"], "check": "p95 ms", "value": entry["p95_ms"],
                          "limit": page.p95_budget_ms, "ok": entry["p95_ms"] < page.p95_budget_ms})
            if entry.get("ratio") is not None:
                lines.append({"size": size, "page": entry["title"], "check": "share of ceiling",
                              "value": entry["ratio"], "limit": page.ratio_budget,
                              "ok": entry["ratio"] >= page.ratio_budget})
        if r.get("peak_memory_mb") is not None:
            lines.append({"size": size, "page": "server", "check": "peak memory MB", "value": r["peak_memory_mb"],
                          "limit": BUDGET["memory_mb"], "ok": r["peak_memory_mb"] < BUDGET["memory_mb"]})
        lines.append({"size": size, "page": "server", "check": "start-up s", "value": r["startup_s"],
                      "limit": BUDGET["startup_s"], "ok": r["startup_s"] < BUDGET["startup_s"]})
    growth = []
    if largest != smallest:
        for key, entry in by_size[largest]["pages"].items():
            first = by_size[smallest]["pages"].get(key, {})
            if entry.get("status") == "measured" and first.get("status") == "measured" and first["p95_ms"]:
                ratio = entry["p95_ms"] / first["p95_ms"]
                growth.append({"page": entry["title"], "p95_small": first["p95_ms"], "p95_large": entry["p95_ms"],
                               "ratio": round(ratio, 2), "ok": ratio <= BUDGET["growth"]})
                if key != "ceiling" and not next(p for p in PAGES if p.key == key).reference:
                    lines.append({"size": f"{largest}/{smallest}", "page": entry["title"], "check": "p95 growth",
                                  "value": round(ratio, 2), "limit": BUDGET["growth"], "ok": ratio <= BUDGET["growth"]})
    return {"lines": lines, "growth": growth, "sizes": [smallest, largest]}


def fmt(value, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def table(results: list[dict], verdict: dict, settings: dict) -> str:
    out = [f"marac benchmark {settings['when']} (git {settings['git']}): {CONCURRENCY} clients x "
           f"{settings['duration']:g}s per page, waitress {settings['threads']} threads, "
           f"{settings['cpus']} CPUs, Python {platform.python_version()}"]
    if settings.get("engine"):
        out.append(f"database: {settings['engine']}")
    first = results[0] if results else {}
    if first.get("panels"):
        out.append(f"panels: {first['panels']['count']} in the database, cases spread evenly; every page is "
                   f"panel {first['panels']['measured']}'s, signed in there (the cases column counts all panels)")
    out.append("")
    header = f"{'cases':>8}  {'page':42} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'ceiling':>8}  budget"
    out += [header, "-" * len(header)]
    failed = {(line["size"], line["page"]) for line in verdict["lines"] if not line["ok"]}
    for r in results:
        for key, entry in r["pages"].items():
            page = next(p for p in PAGES if p.key == key)
            if entry.get("status") != "measured":
                out.append(f"{r['size']:>8,}  {entry['title']:42} {entry.get('status', '')}")
                continue
            budget = "" if key == "ceiling" else "reference, no budget" if page.reference else (
                f"p95<{page.p95_budget_ms:g}, >={page.ratio_budget:.0%}: "
                + ("FAIL" if (r["size"], entry["title"]) in failed else "ok"))
            share = entry["ratio"] * 100 if entry.get("ratio") is not None else None
            ratio = "100%" if key == "ceiling" else fmt(share, ".0f") + "%"
            out.append(f"{r['size']:>8,}  {entry['title']:42} {fmt(entry['req_per_s']):>8} "
                       f"{fmt(entry['p50_ms']):>8} {fmt(entry['p95_ms']):>8} {ratio:>8}  {budget}")
        out.append("")
    if verdict["growth"]:
        small, large = verdict["sizes"]
        out.append(f"growth of p95, {large:,} / {small:,} cases (budget <= {BUDGET['growth']}):")
        for g in verdict["growth"]:
            out.append(f"  {g['page']:42} {fmt(g['p95_small']):>8} -> {fmt(g['p95_large']):>8} ms  "
                       f"x{g['ratio']:<6} {'ok' if g['ok'] else 'FAIL'}")
        out.append("")
    out.append(f"server (budget: peak memory < {BUDGET['memory_mb']} MB, start-up < {BUDGET['startup_s']:g} s):")
    for r in results:
        mem_ok = r.get("peak_memory_mb") is not None and r["peak_memory_mb"] < BUDGET["memory_mb"]
        out.append(f"  {r['size']:>8,} cases: start-up {r['startup_s']:.2f} s "
                   f"{'ok' if r['startup_s'] < BUDGET['startup_s'] else 'FAIL'}, peak memory "
                   f"{fmt(r.get('peak_memory_mb'))} MB {'ok' if mem_ok else 'FAIL'}, "
                   f"database {r['facts']['bytes'] / 2**20:,.0f} MB, tracebacks in server log: {r['server_errors']}, "
                   f"load average {r.get('load_before')} -> {r.get('load_after')}")
        if r.get("postgres"):
            pg = r["postgres"]
            out.append(f"            loaded into PostgreSQL in {pg['total_s']:.0f} s (schema {pg['schema_s']:.0f} s, "
                       f"COPY "
                       f"{pg['copy_s']:.0f} s, {pg['indexes_rebuilt']} indexes {pg['indexes_s']:.0f} s, VACUUM ANALYZE "
                       f"{pg['vacuum_analyze_s']:.0f} s); pg_database_size {pg['bytes'] / 2**20:,.0f} MB after the "
                       f"load, {pg.get('bytes_after', 0) / 2**20:,.0f} MB after the run")
    busy = [r["size"] for r in results if (r.get("load_before") or 0) > 0.5 * (settings["cpus"] or 1)]
    if busy:
        out.append(f"  WARNING: the machine was busy with other work before the run at "
                   f"{', '.join(f'{s:,}' for s in busy)} cases (load average over half the CPUs): "
                   "numbers are low and noisy")
    stale = [r["size"] for r in results if r.get("stale_cache")]
    if stale:
        out.append(f"  NOTE: the borough at {', '.join(f'{s:,}' for s in stale)} cases was generated before the latest "
                   "change to the generator or the migrations (--stale-cache-ok): on SQLite the server applies newer "
                   "migrations at start-up; on PostgreSQL the schema is today's and the copy fills the columns the "
                   "borough has")
    fails = [line for line in verdict["lines"] if not line["ok"]]
    out.append("")
    out.append(f"budget lines: {len(verdict['lines']) - len(fails)} pass, {len(fails)} fail")
    return "\n".join(out)


def git_head() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parent.parent, check=False).stdout.strip() or "?"
    except OSError:
        return "?"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark the app's pages at three data sizes.")
    parser.add_argument("--sizes", nargs="+", type=int, default=list(generate.SIZES))
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per page (default 10)")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--quick", action="store_true", help="1,000 cases, 3 s per page: a smoke test")
    parser.add_argument("--keep", action="store_true", help="keep the served copies (for a look afterwards)")
    parser.add_argument("--panels", type=int, default=1, help="spread the cases over this many panels (issue 12)")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--postgres-url", help="a PostgreSQL server to create the benchmark's databases on "
                        "(default: a throwaway cluster from scripts/postgres_test_server.sh)")
    parser.add_argument("--table-file", type=Path, help="also write the table to this file")
    parser.add_argument("--stale-cache-ok", action="store_true", help="use a cached borough even when the generator "
                        "or a migration changed since it was built (the table says so)")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.duration, args.warmup = [1000], 3.0, 0.5

    def log(*a):
        print(*a, file=sys.stderr, flush=True)

    from marac import config

    app = url_app()
    missing = [p.title for p in PAGES if not is_built(app, p.endpoint)]
    if missing:
        log("not built yet (no route): " + ", ".join(missing))
    postgres = PostgresServer(args.postgres_url) if args.database == "postgres" else None
    engine = None
    try:
        if postgres:
            postgres.start()
            postgres.configure(DURABLE)
            engine = postgres.describe()
            log(engine)
        results = [run_size(size, app, args.duration, args.warmup, args.keep, log, panels=args.panels,
                            postgres=postgres, stale_ok=args.stale_cache_ok) for size in sorted(args.sizes)]
    finally:
        if postgres:
            postgres.stop()
    settings = {"when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "git": git_head(),
                "duration": args.duration, "threads": config.THREADS, "cpus": os.cpu_count(), "engine": engine,
                "panels": args.panels}
    verdict = judge(results)
    text = table(results, verdict, settings)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    payload = {"settings": settings, "concurrency": CONCURRENCY, "budget": BUDGET, "results": results,
               "verdict": verdict, "table": text}
    for name in (f"{stamp}.json", "latest.json"):
        (RESULTS / name).write_text(json.dumps(payload, indent=1))
    if args.table_file:
        args.table_file.write_text(text + "\n")
    log(f"\nwritten: {RESULTS / (stamp + '.json')}")
    return 0 if all(line["ok"] for line in verdict["lines"]) else 1


if __name__ == "__main__":
    sys.exit(main())
