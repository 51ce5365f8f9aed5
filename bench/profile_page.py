"""CPU time and SQL queries per request of one benchmarked page, in-process (Flask's test client).

    .venv/bin/python -m bench.profile_page referral_form --size 10000 -n 50
    .venv/bin/python -m bench.profile_page inbox --size 100000 -n 20 --sql        # the queries, with their plans
    .venv/bin/python -m bench.profile_page score -n 200 --profile                # cProfile's top functions
    .venv/bin/python -m bench.profile_page floor                                 # empty signed-in page (base layout)
    .venv/bin/python -m bench.profile_page inbox --panels 5 --database-url postgresql://.../marac_bench_1000

Unlike bench.run this measures CPU seconds (time.process_time) and counts queries, so the numbers hold
while other work shares the machine; the load test is still what the budgets are judged by. Page keys
are those of bench/pages.py, plus "floor": a signed-in page that renders base.html with an empty
content block (session check, Flask-Login, the header menu and the layout: what every page pays).

The cached borough (bench/cache/<size>.db, built by bench.generate) is copied into a throw-away
instance folder, never opened in place; the app runs as served (not TESTING, CSRF on), with the
second factor off as in bench.run, and signs in as the page's bench user through the real form.
With --database-url the app runs on that database instead (a PostgreSQL copy of the borough made by
bench.pgload, e.g. kept by `bench.run --database postgres --keep`): CPU time is then the app's only
(the server's work is in the wall time and the SQL time, both of which a busy machine inflates).
"""
import argparse
import cProfile
import io
import pstats
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench import generate
from bench.pages import PAGES, REASON_TEXT, page_url, reason_url
from bench.server import find_csrf, write_instance

FLOOR = "floor"
FLOOR_TEMPLATE = ('{% extends "base.html" %}{% block title %}Empty{% endblock %}'
                  '{% block content %}<h1 class="govuk-heading-l">Empty</h1>{% endblock %}')


class QueryLog:
    """Counts (and keeps) the SQL a Peewee database executes, by wrapping its execute_sql."""

    def __init__(self, database):
        self.database = database
        self.entries: list[tuple[str, tuple, float]] = []
        self.original = database.execute_sql

        def execute_sql(sql, params=None, *args, **kwargs):
            started = time.perf_counter()
            try:
                return self.original(sql, params, *args, **kwargs)
            finally:
                self.entries.append((sql, tuple(params or ()), time.perf_counter() - started))

        database.execute_sql = execute_sql

    def clear(self) -> None:
        self.entries = []


def make_app(size: int, folder: Path, panels: int = 1, database_url: str | None = None):
    """The app on a copy of the cached borough of this size (or on database_url), with the floor page added."""
    from flask_login import login_required
    from jinja2 import DictLoader

    from marac import create_app
    from marac.db import keep_connections

    db_path, facts = generate.cache_paths(size, panels)
    if not db_path.exists():
        db_path, facts = generate.ensure(size, panels=panels)
    else:
        import json

        facts = json.loads(facts.read_text())
    from bench.run import derived_facts

    if database_url:
        instance = write_instance(folder / "instance", config={"DATABASE_URL": database_url})
    else:
        instance = write_instance(folder / "instance", database=db_path)
    app = create_app(instance_path=str(instance))
    keep_connections()  # as `python app.py serve` does
    app.jinja_loader.loaders.insert(0, DictLoader({"bench/_floor.html": FLOOR_TEMPLATE}))

    @login_required
    def floor():
        from flask import render_template

        return render_template("bench/_floor.html")

    app.add_url_rule("/_bench/floor", "bench_floor", floor)
    return app, derived_facts(facts)


def sign_in(client, email: str, password: str) -> str:
    """Sign in through the real form; return the new session's CSRF token."""
    token = find_csrf(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    if response.status_code != 302:
        raise SystemExit(f"sign-in as {email} failed: HTTP {response.status_code}")
    token = find_csrf(client.get("/").get_data(as_text=True))
    if not token:
        raise SystemExit(f"no CSRF token after signing in as {email}")
    return token


def request_plan(app, key: str, facts: dict):
    """(role, method, url, headers, form) for a page key."""
    if key == FLOOR:
        return "coordinator", "GET", "/_bench/floor", {}, None, None
    page = next((p for p in PAGES if p.key == key), None)
    if page is None:
        raise SystemExit(f"unknown page {key!r}: one of {', '.join([FLOOR] + [p.key for p in PAGES])}")
    if page.endpoint not in app.view_functions:
        raise SystemExit(f"{key}: endpoint {page.endpoint} is not built yet")
    email = facts["users"][page.role][0] if page.role else None
    headers = {"HX-Request": "true"} if page.htmx else {}
    form = page.form(facts) if page.form else None
    return page.role, page.method, page_url(app, page, facts, email), headers, form, page


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="CPU time and SQL queries per request of one page.")
    parser.add_argument("page", help=f"{FLOOR} or a page key of bench/pages.py: "
                                     + ", ".join(p.key for p in PAGES))
    parser.add_argument("--size", type=int, default=1000, help="borough size (bench/cache/<size>.db; default 1000)")
    parser.add_argument("--panels", type=int, default=1, help="the borough of this many panels (bench.generate)")
    parser.add_argument("--database-url", help="run on this database (a bench.pgload copy of the same borough)")
    parser.add_argument("-n", type=int, default=50, help="measured requests (default 50)")
    parser.add_argument("--warmup", type=int, default=3, help="requests before measuring (default 3)")
    parser.add_argument("--sql", action="store_true", help="print one request's queries with their plans")
    parser.add_argument("--profile", action="store_true", help="cProfile the measured requests; print the top")
    parser.add_argument("--top", type=int, default=30, help="functions in the profile listing (default 30)")
    parser.add_argument("--sort", default="cumulative",
                        help="profile sort key (cumulative, tottime; default cumulative)")
    parser.add_argument("--keep", action="store_true", help="keep the instance folder (printed)")
    args = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix=f"marac-profile-{args.size}-"))
    try:
        started = time.perf_counter()
        app, facts = make_app(args.size, folder, args.panels, args.database_url)
        print(f"{args.size:,} cases: app ready in {time.perf_counter() - started:.1f}s ({folder})", file=sys.stderr)
        role, method, url, headers, form, page = request_plan(app, args.page, facts)
        from marac.db import db

        client = app.test_client()
        if role:
            email = facts["users"][role][0]
            csrf = sign_in(client, email, facts["users"]["password"])
            headers = dict(headers, **({"X-CSRFToken": csrf} if method == "POST" else {}))
            if page is not None and page.reason:
                target = reason_url(app, facts[page.obj])
                if target:
                    client.post(target, data={"reason": REASON_TEXT, "csrf_token": csrf})

        def one():
            response = client.open(url, method=method, headers=headers, data=form)
            if response.status_code != 200:
                raise SystemExit(f"{method} {url}: HTTP {response.status_code}\n"
                                 f"{response.get_data(as_text=True)[:500]}")
            return response

        for _ in range(args.warmup):
            one()
        log = QueryLog(db.obj)
        cpu, wall, queries, sizes, sql_ms = [], [], [], [], []
        profiler = cProfile.Profile() if args.profile else None
        for _ in range(args.n):
            log.clear()
            if profiler:
                profiler.enable()
            c0, w0 = time.process_time(), time.perf_counter()
            response = one()
            c1, w1 = time.process_time(), time.perf_counter()
            if profiler:
                profiler.disable()
            cpu.append((c1 - c0) * 1000)
            wall.append((w1 - w0) * 1000)
            queries.append(len(log.entries))
            sql_ms.append(sum(seconds for _sql, _params, seconds in log.entries) * 1000)
            sizes.append(len(response.get_data()))

        def q(values, fraction):
            ordered = sorted(values)
            return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

        print(f"{args.page} at {args.size:,} cases: {method} {url}" + (f" as {role}" if role else ""))
        print(f"  CPU ms per request:  median {statistics.median(cpu):.2f}  p95 {q(cpu, .95):.2f}  "
              f"min {min(cpu):.2f}   (wall median {statistics.median(wall):.2f}, in SQL "
              f"{statistics.median(sql_ms):.2f}){'  [profiled]' if profiler else ''}")
        print(f"  queries per request: {min(queries)}-{max(queries)} (median {statistics.median(queries):g}), "
              f"response {statistics.median(sizes) / 1024:.1f} KiB, n={args.n}")
        if args.sql:
            log.clear()
            one()
            from marac.db import is_sqlite

            explain = "EXPLAIN QUERY PLAN " if is_sqlite() else "EXPLAIN "
            print(f"\n  the {len(log.entries)} queries of one request (ms, then the plan):")
            for sql, params, seconds in list(log.entries):
                flat = re.sub(r"\s+", " ", sql)[:400]
                print(f"  {seconds * 1000:7.2f}  {flat}  {params[:8]}")
                if sql.lstrip().upper().startswith("SELECT"):
                    db.obj.connect(reuse_if_open=True)
                    for row in log.original(explain + sql, params).fetchall():
                        print(f"             plan: {row[-1]}")
        if profiler:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
            print(out.getvalue())
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
