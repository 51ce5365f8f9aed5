"""marac: the MARAC case-management app. create_app() builds it."""
import os
import secrets
import uuid
from pathlib import Path

from flask import Flask, g, redirect, request, url_for
from flask_wtf.csrf import CSRFError
from govuk_frontend_wtf.main import WTFormsHelpers
from jinja2 import ChoiceLoader, PackageLoader, PrefixLoader
from peewee import OperationalError

from marac import config as default_config
from marac import totp_key
from marac.db import db, init_db
from marac.extensions import csrf, login_manager

ROOT = Path(__file__).resolve().parent.parent
# Secret keys that must never serve real data.
KNOWN_BAD_SECRETS = {"", "dev", "change-me", "changeme", "secret", "test"}

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


class ConfigError(RuntimeError):
    """The app refuses to start with this configuration."""


def create_app(test_config: dict | None = None, instance_path: str | None = None) -> Flask:
    """Build the app: defaults, then instance/config.py, then test overrides."""
    app = Flask(
        __name__,
        instance_path=str(instance_path or os.environ.get("MARAC_INSTANCE") or ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_object(default_config)
    app.config.from_pyfile("config.py", silent=True)
    if test_config:
        app.config.update(test_config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    _secret_key(app)
    if app.config.get("TRAINING_MODE"):
        # Training (issue 10) never touches the real database and never sends e-mail, whatever
        # instance/config.py says; its own cookie and port let it run beside the real service.
        app.config.update(
            DATABASE_URL="sqlite:///" + str(Path(app.instance_path) / "training.db").replace("\\", "/"),
            MAIL_HOST=None, SESSION_COOKIE_NAME="marac_training_session", PORT=app.config["TRAINING_PORT"])
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = "sqlite:///" + str(Path(app.instance_path) / "marac.db").replace("\\", "/")

    app.jinja_loader = ChoiceLoader([
        app.jinja_loader,
        PrefixLoader({
            "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
            "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf"),
        }),
    ])
    WTFormsHelpers(app)
    csrf.init_app(app)
    login_manager.init_app(app)

    # The key of the second-factor secrets (instance/totp_key): loaded before the migrations, which use it.
    totp_key.load(app.instance_path)
    database = init_db(app.config["DATABASE_URL"], app.config["SQLITE_BUSY_TIMEOUT_MS"],
                       app.config.get("SQLITE_MAX_PAGE_COUNT"))
    with database.connection_context():
        try:
            totp_key.check_opens(database)
        except totp_key.TotpKeyError as exc:
            raise ConfigError(str(exc)) from exc
    _request_hooks(app)
    _register_blueprints(app)
    _template_helpers(app)
    return app


def _secret_key(app: Flask) -> None:
    """Use the configured key, or one generated into instance/ on first run; refuse a default."""
    key = app.config.get("SECRET_KEY")
    if key is None:
        key_file = Path(app.instance_path) / "secret_key"
        if not key_file.exists():
            key_file.write_text(secrets.token_hex(32), encoding="utf-8")
            try:
                key_file.chmod(0o600)
            except OSError:  # Windows: ACLs of the instance folder apply instead
                pass
        key = key_file.read_text(encoding="utf-8").strip()
        app.config["SECRET_KEY"] = key
    if not app.config.get("TESTING") and (key in KNOWN_BAD_SECRETS or len(key) < 32):
        raise ConfigError("SECRET_KEY is missing, a default, or shorter than 32 characters: refusing to start")


def _request_hooks(app: Flask) -> None:
    from marac import audit, htmx, sessions

    login_manager.user_loader(sessions.load_user)
    login_manager.session_protection = None  # our server-side record does this job
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to continue."
    login_manager.login_message_category = "info"

    @login_manager.unauthorized_handler
    def unauthorized():
        target = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
        if request.headers.get("HX-Request") == "true":
            # An htmx request must not swap a login page into a fragment: send the browser there.
            response = app.response_class(status=401)
            response.headers["HX-Redirect"] = target
            return response
        return redirect(target)

    @app.before_request
    def open_connection():
        g.request_id = uuid.uuid4().hex
        if request.blueprint == "health" or request.endpoint == "static":
            return  # the health check and static files never touch the database
        db.connect(reuse_if_open=True)

    @app.teardown_request
    def close_connection(exc):
        if not db.is_closed():
            db.close()

    @app.after_request
    def security_headers(response):
        h = response.headers
        # A view may set a stricter policy that still holds every directive of CSP (a download adds sandbox).
        h.setdefault("Content-Security-Policy", CSP)
        h["X-Content-Type-Options"] = "nosniff"
        h["Referrer-Policy"] = "same-origin"
        h["X-Frame-Options"] = "DENY"
        h["Cross-Origin-Opener-Policy"] = "same-origin"
        h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        h["X-Request-Id"] = g.get("request_id", "")
        if request.endpoint != "static":
            # Personal data must not sit in shared or browser caches.
            h["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(CSRFError)
    def csrf_failed(error):
        from flask import render_template

        with db.atomic():
            audit.record("security.csrf_failed", object_type="route", object_id=request.endpoint or "",
                         detail={"reason": error.description})
        return render_template("errors/400.html", reason=error.description), 400

    for status in (400, 403, 404, 405, 413, 429, 500, 503):
        app.register_error_handler(status, _error_page(status))

    @app.errorhandler(OperationalError)
    def database_unavailable(error):
        """Locked past busy_timeout, or the disk is full: a clear 503 (the transaction was rolled back,
        so nothing is half-saved). Any other database error stays a 500."""
        if not _database_unavailable(error):
            raise error
        app.logger.warning("database unavailable for %s %s: %s", request.method, request.path, error)
        try:
            response = app.make_response(_error_page(503)(error))
        except Exception:  # the page itself needs the database (the signed-in user): plain text then
            response = app.make_response(("Sorry, the service cannot save right now. Nothing was changed. "
                                          "Try again in a few minutes.", 503, {"Content-Type": "text/plain"}))
        response.headers["Retry-After"] = "30"
        return response

    app.htmx = htmx


# SQLite errors that mean "not now" rather than "broken": the app answers 503, not 500.
DATABASE_UNAVAILABLE = ("database is locked", "database table is locked", "database or disk is full", "disk i/o error")


def _database_unavailable(error) -> bool:
    """Whether this error (or one it was raised while handling) says the database is busy or full.
    On a full disk SQLite rolls the transaction back itself, so Peewee's own rollback then fails with
    "cannot rollback - no transaction is active": the original error is in the exception's context."""
    for _ in range(5):
        if error is None:
            return False
        if any(text in str(error).lower() for text in DATABASE_UNAVAILABLE):
            return True
        error = error.__cause__ or error.__context__
    return False


def _error_page(status: int):
    def handler(error):
        from flask import render_template

        return render_template(f"errors/{status if status in (403, 404, 413, 429, 503) else 'generic'}.html",
                               status=status), status

    return handler


def _register_blueprints(app: Flask) -> None:
    """Register every module in marac/blueprints that exposes `bp` (each area owns its module)."""
    import importlib
    import pkgutil

    from marac import blueprints

    for info in sorted(pkgutil.iter_modules(blueprints.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"marac.blueprints.{info.name}")
        if hasattr(module, "bp"):
            app.register_blueprint(module.bp)


def _criteria_labels(codes) -> str:
    """Referral criteria as stored ("visible_high_risk,escalation") in words for the page."""
    from marac.risk import CRITERION_LABELS

    return ", ".join(CRITERION_LABELS.get(c.strip(), c.strip()) for c in str(codes or "").split(",") if c.strip())


def _panel_in_view():
    """The header's panel line (issue 12): shown only to a user who may work in more than one panel, so a
    borough's own install (one panel) looks as it always did."""
    from types import SimpleNamespace

    from flask_login import current_user

    from marac import panels

    if len(panels.panel_ids_for(current_user)) < 2:
        return SimpleNamespace(several=False, name="")
    return SimpleNamespace(several=True, name=panels.current_panel().name)


def _template_helpers(app: Flask) -> None:
    from marac import formatting, nav

    app.jinja_env.filters["local_datetime"] = formatting.local_datetime
    app.jinja_env.filters["local_date"] = formatting.local_date
    app.jinja_env.filters["iso_local_date"] = formatting.iso_local_date
    app.jinja_env.filters["criteria_labels"] = _criteria_labels

    @app.context_processor
    def globals_():
        return {
            "service_name": f"{app.config['SERVICE_NAME']} {app.config['BOROUGH_NAME']}",
            "training_mode": app.config.get("TRAINING_MODE", False),
            "nav_items": nav.items(),
            "panel_in_view": _panel_in_view,
        }
