"""Command line: serve (default), demo data, audit verification, a new setup link."""
import argparse
import sys
import time

from marac import accounts, audit, create_app
from marac.db import db, keep_connections


def _setup_link(app, host: str, port: int) -> str | None:
    """While no coordinator exists, print a one-time link to create one."""
    with app.app_context(), db.connection_context():
        if not accounts.needs_setup():
            return None
        token = accounts.new_setup_token()
    # Compares the configured host (display only), binds nothing: bandit B104 / ruff S104 do not apply.
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104  # nosec B104
    return f"http://{shown_host}:{port}/setup/{token}"


def serve(args) -> int:
    """Serve the app with waitress."""
    from waitress import create_server

    started = time.perf_counter()
    app = create_app({"TRAINING_MODE": True} if getattr(args, "training", False) else None)
    cfg = app.config
    if cfg["TRAINING_MODE"]:
        from marac import training  # issue 10: a fictional borough in instance/training.db

        training_accounts = training.prepare(app)
    host = args.host or cfg["HOST"]
    port = args.port or cfg["PORT"]
    link = _setup_link(app, host, port)
    kwargs = dict(host=host, port=port, threads=args.threads or cfg["THREADS"],
                  connection_limit=cfg["CONNECTION_LIMIT"], channel_timeout=cfg["CHANNEL_TIMEOUT"],
                  # Look for idle channels every few seconds (waitress: every 30 s), so connections left
                  # idle past channel_timeout free their slots promptly for new users (SECURITY.md 35).
                  cleanup_interval=max(1, min(5, cfg["CHANNEL_TIMEOUT"])),
                  max_request_body_size=cfg["MAX_CONTENT_LENGTH"] + 1024 * 1024, ident="marac")
    if cfg.get("TRUSTED_PROXY"):
        kwargs.update(trusted_proxy=cfg["TRUSTED_PROXY"], trusted_proxy_headers=set(cfg["TRUSTED_PROXY_HEADERS"]),
                      trusted_proxy_count=1)
    server = create_server(app, **kwargs)  # binds the port now, so "Serving" below is true
    keep_connections()  # requests reuse pooled SQLite connections (marac.db.PooledSqlite)
    print(f"{cfg['SERVICE_NAME']} {cfg['BOROUGH_NAME']}: data in {app.instance_path}")
    if cfg["TRAINING_MODE"]:
        print("TRAINING MODE: fictional data in training.db; no e-mail is sent. Reset: python app.py reset-training")
        training.print_accounts(training_accounts)
    if link:
        print("\nNo coordinator account yet. Open this one-time link to create it:\n\n    " + link + "\n")
    print(f"Serving on http://{host}:{port} (ready in {time.perf_counter() - started:.2f}s). Press Ctrl+C to stop.")
    sys.stdout.flush()
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    return 0


def demo(args) -> int:
    """Load the fictional demo borough and print its accounts."""
    from marac import demo as demo_data

    app = create_app()
    with app.app_context(), db.connection_context():
        try:
            accounts_made = demo_data.load()
        except demo_data.NotEmpty as exc:
            print(f"Refused: {exc}", file=sys.stderr)
            return 1
    print("Demo borough loaded (fictional people and agencies). Accounts:")
    for email, password, role, agency in accounts_made:
        print(f"  {role:15} {email:40} {password}   ({agency})")
    return 0


def verify_audit(args) -> int:
    """Check the audit log's hash chain; name the first altered row."""
    app = create_app()
    with app.app_context(), db.connection_context():
        result = audit.verify()
    if result.ok:
        print(f"Audit log intact: {result.checked} rows checked.")
        return 0
    print(f"Audit log ALTERED at row {result.first_bad_id}: {result.problem} "
          f"({result.checked} rows before it are intact).")
    return 2


def setup_link(args) -> int:
    """Print a new one-time setup link (only while no coordinator exists)."""
    app = create_app()
    link = _setup_link(app, app.config["HOST"], app.config["PORT"])
    if link is None:
        print("A coordinator account exists already: no setup link is needed.", file=sys.stderr)
        return 1
    print(link)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="app.py", description="MARAC case management")
    parser.add_argument("command", nargs="?", default="serve",
                        choices=["serve", "demo", "verify-audit", "setup-link",
                                 "backup", "restore", "check", "reset-training", "send-reminders"],
                        help="serve (default), demo: load the fictional demo borough, verify-audit, setup-link, "
                             "backup, restore FILE --to FOLDER, check [FILE], reset-training, "
                             "send-reminders (daily e-mail reminders of actions due and overdue)")
    parser.add_argument("file", nargs="?", help="restore: the backup file; check: a database file (optional)")
    parser.add_argument("--to", help="restore: a new, empty folder to restore into")
    parser.add_argument("--training", action="store_true",
                        help="serve the fictional training borough (instance/training.db) with a TRAINING banner")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--threads", type=int)
    args = parser.parse_args(argv)
    commands = {"serve": serve, "demo": demo, "verify-audit": verify_audit, "setup-link": setup_link}
    from marac import backup, mail, training

    commands.update({"backup": backup.backup_command, "restore": backup.restore_command,
                     "check": backup.check_command, "reset-training": training.reset_command,
                     "send-reminders": lambda _args: mail.main_send_reminders()})
    return commands[args.command](args)
