"""A wapiti scan of the running app on loopback (issue 8, SECURITY.md): no finding above low.

    python scripts/wapiti_scan.py [--wapiti PATH] [--max-scan-time SECONDS]

Builds a throw-away instance seeded with the security tests' fictional borough (tests/security_world),
serves it with waitress on 127.0.0.1, signs in as the coordinator (so the crawl reaches the whole app)
and runs wapiti's default modules against it, excluding sign-out. Exits 1 if any vulnerability of
medium level or above is reported; prints every finding. wapiti is not a dependency of the app: CI
installs it into its own virtual environment (it pins libraries of its own).
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# wapiti's levels: 1 low, 2 medium, 3 high, 4 critical.
SAFE_MODULES = ",".join([
    # wapiti 3.2.3's default ("common") set without ssrf (needs an out-of-band endpoint on the
    # internet) and ssl (needs sslscan; the app speaks plain http behind a TLS proxy).
    "cookieflags", "csp", "exec", "file", "http_headers", "permanentxss", "redirect", "sql", "upload", "xss",
])
ALLOWED_LEVEL = 1

SERVE = """
import sys
sys.path[:0] = [{root!r}, {tests!r}]
from waitress import serve
from marac import create_app
from marac.db import db
app = create_app({config!r}, instance_path={instance!r})
if {seed!r}:
    from security_world import build_world
    with db.connection_context():
        world = build_world(app)
        print("COORDINATOR", world.users["C"].email, flush=True)
serve(app, host="127.0.0.1", port={port}, threads=4)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(folder: Path, port: int):
    config = {"SECRET_KEY": "w" * 64, "DATABASE_URL": f"sqlite:///{folder / 'scan.db'}",
              "REQUIRE_SECOND_FACTOR": False, "TESTING": False}
    code = SERVE.format(root=str(ROOT), tests=str(ROOT / "tests"), config=config, instance=str(folder),
                        seed=True, port=port)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,  # noqa: S603 (our own code)
                            stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    email = None
    deadline = time.time() + 60
    while time.time() < deadline:
        line = proc.stdout.readline()
        if line.startswith("COORDINATOR"):
            email = line.split()[1]
            break
        if proc.poll() is not None:
            raise SystemExit(f"the app did not start: {line}{proc.stdout.read()}")
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)  # noqa: S310 (our loopback)
            return proc, email
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the app did not answer on loopback")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wapiti", default=os.environ.get("WAPITI", "wapiti"))
    parser.add_argument("--max-scan-time", type=int, default=900)
    parser.add_argument("extra", nargs="*", help="more wapiti arguments (after --)")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="marac-wapiti-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc, email = start_server(folder, port)
    try:
        sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
        from marac_testing import TEST_PASSWORD

        report = folder / "report.json"
        # wapiti signs in through the real form itself (it submits the form's hidden CSRF token too).
        command = [args.wapiti, "-u", f"{base}/", "--scope", "folder", "--form-url", f"{base}/login",
                   "--form-user", email, "--form-password", TEST_PASSWORD, "-x", f"{base}/logout",
                   "--flush-session", "--max-scan-time", str(args.max_scan_time),
                   "--max-attack-time", str(max(60, args.max_scan_time // 10)), "--store-session", str(folder),
                   "-f", "json", "-o", str(report), "--no-bugreport", "-v", "0", "-dr", "1",
                   # Only modules that talk to the target alone: no out-of-band endpoint or DNS look-up
                   # outside this machine (loopback is its only network). Endpoints point at loopback too.
                   "-m", SAFE_MODULES, "--endpoint", f"{base}/", "--dns-endpoint", "localhost"] + args.extra
        print(" ".join(command[:3]), "...", flush=True)
        subprocess.run(command, check=False, timeout=args.max_scan_time + 600)  # noqa: S603 (our own arguments)
        findings = json.loads(report.read_text(encoding="utf-8"))
    finally:
        proc.kill()
        proc.wait()
    worst = 0
    for kind in ("vulnerabilities", "anomalies"):
        for category, items in findings.get(kind, {}).items():
            for item in items:
                level = int(item.get("level", 0))
                worst = max(worst, level) if kind == "vulnerabilities" else worst
                print(f"{kind}: {category} (level {level}): {item.get('info', '')} {item.get('path', '')}")
    print(f"wapiti: worst vulnerability level {worst} (allowed: {ALLOWED_LEVEL}, low)")
    return 0 if worst <= ALLOWED_LEVEL else 1


if __name__ == "__main__":
    raise SystemExit(main())
