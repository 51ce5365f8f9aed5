"""Command line: serve (default), demo data, audit verification, a new setup link, panels."""
import argparse
import sys
import time

from marac import accounts, audit, create_app, presets
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


def _panel_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="app.py panel", description="Panels of a shared (county) service")
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="add a panel, with a preset's settings")
    add.add_argument("name", help="the panel's name, as on its agendas and minutes")
    add.add_argument("--preset", choices=sorted(k for k in presets.PRESETS if k != "blank"),
                     help="start from this panel's preset (its settings can be changed on the settings page)")
    sub.add_parser("list", help="list the panels with their users and cases")
    grant = sub.add_parser("grant", help="let an existing user work in a panel too (a new panel's first coordinator)")
    grant.add_argument("panel", help="the panel's number (see panel list)", type=int)
    grant.add_argument("email", help="the user's work e-mail address")
    return parser


def panel_add(name: str, preset_key: str | None):
    """A new panel and its settings: the preset's when one is named (applied inside panels.using, so they
    are the new panel's own), else only its name (the coordinator then picks a preset on the settings page).
    Refuses a name already used (panel names are unique)."""
    from marac import panels, settings
    from marac.models import Panel

    name = name.strip()
    if not name or Panel.select().where(Panel.name == name).exists():
        raise ValueError(f"a panel named {name!r} exists already" if name else "the panel needs a name")
    preset = presets.PRESETS[preset_key] if preset_key else None
    with db.atomic():
        panel = Panel.create(name=name, preset=preset_key or "",
                             panel_type=preset.values["panel_type"] if preset else settings.DEFAULTS["panel_type"])
        audit.record("panel.create", panel, detail={"preset": preset_key or ""})
        with panels.using(panel.id):
            if preset:
                presets.apply(preset_key, None, panel_name=name)
            else:
                settings.set_many({"panel_name": name})
    return panel


def panel_command(argv) -> int:
    """app.py panel add NAME [--preset KEY] | panel list | panel grant NUMBER EMAIL."""
    from peewee import fn

    from marac.models import Case, Panel, User

    args = _panel_parser().parse_args(argv)

    app = create_app()
    with app.app_context(), db.connection_context():
        if args.action == "add":
            try:
                panel = panel_add(args.name, args.preset)
            except ValueError as exc:
                print(f"Refused: {exc}", file=sys.stderr)
                return 1
            print(f"Panel {panel.id} added: {panel.name}" + (f" (preset {args.preset})" if args.preset else
                                                              " (no preset: choose one on its settings page)"))
            print(f"Give its first coordinator access: python app.py panel grant {panel.id} EMAIL")
            return 0
        if args.action == "grant":
            return _panel_grant(args.panel, args.email)
        users = dict(User.select(User.panel, fn.COUNT(User.id)).group_by(User.panel).tuples())
        cases = dict(Case.select(Case.panel, fn.COUNT(Case.id)).where(Case.deleted_at.is_null())
                     .group_by(Case.panel).tuples())
        for panel in Panel.select().order_by(Panel.id):
            preset = f", preset {panel.preset}" if panel.preset else ""
            print(f"{panel.id:>4}  {panel.name}  ({panel.panel_type}{preset}; {users.get(panel.id, 0)} users, "
                  f"{cases.get(panel.id, 0)} cases)")
    return 0


def _panel_grant(panel_id: int, email: str) -> int:
    from marac.models import Panel, User

    panel = Panel.get_or_none(Panel.id == panel_id)
    user = User.by_email(email)
    if panel is None or user is None:
        print("Refused: " + ("no such panel" if panel is None else "no user has this e-mail address"), file=sys.stderr)
        return 1
    try:
        accounts.grant_panel(user, panel.id, None)
    except accounts.PanelGrantRefused as exc:
        print(f"Refused: {exc}", file=sys.stderr)
        return 1
    print(f"{user.name} can now work in {panel.name} (they switch to it in the page header).")
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["panel"]:
        return panel_command(argv[1:])
    parser = argparse.ArgumentParser(prog="app.py", description="MARAC case management")
    parser.add_argument("command", nargs="?", default="serve",
                        choices=["serve", "demo", "verify-audit", "setup-link",
                                 "backup", "restore", "check", "reset-training", "send-reminders", "panel"],
                        help="serve (default), demo: load the fictional demo borough, verify-audit, setup-link, "
                             "backup, restore FILE --to FOLDER, check [FILE], reset-training, "
                             "send-reminders (daily e-mail reminders of actions due and overdue), "
                             "panel add NAME [--preset KEY] | panel list | panel grant NUMBER EMAIL")
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
