"""Panels (issue 12): which MARAC a request works in.

A borough's own install has one panel and nobody notices. A shared county or pan-London service
holds several in one database: every user, person, case, referral, meeting and setting belongs to
one (a `panel` column, marac.models). A user works in their home panel, or in another one they
were granted (UserPanel) and switched to; the panel in view is kept on their server-side session.

current_panel_id() is the panel of this request (set by marac.sessions.load_user), or of an
enclosing `with using(panel_id):` block (command line, scheduled jobs, tests), or the first panel.
New rows take it as their default panel; every query of panel data filters by it (marac.access).
"""
from contextlib import contextmanager
from contextvars import ContextVar

from flask import g, has_request_context

from marac.db import db

_USING: ContextVar[int | None] = ContextVar("marac_panel", default=None)


_DEFAULT: list = [None, None]  # [database object, its first panel's id]: read once per database


def default_panel_id() -> int:
    """The first panel: the one a single-borough install has (migration m1100 makes it; panels are never
    deleted, so it is read once per database)."""
    database = db.obj
    if _DEFAULT[0] is database and _DEFAULT[1] is not None:
        return _DEFAULT[1]
    row = db.execute_sql('SELECT MIN("id") FROM "panel"').fetchone()
    panel_id = row[0] if row and row[0] is not None else 1
    _DEFAULT[:] = [database, panel_id]
    return panel_id


def current_panel_id() -> int:
    """The panel this code works in: a `using` block's, else the request's, else the first panel."""
    panel_id = _USING.get()
    if panel_id is not None:
        return panel_id
    if has_request_context():
        panel_id = g.get("panel_id")
        if panel_id is None:
            from flask_login import current_user

            if current_user and current_user.is_authenticated:  # loads the user: load_user sets g.panel_id
                panel_id = g.get("panel_id")
            if panel_id is None:
                panel_id = g.panel_id = default_panel_id()
        return panel_id
    return default_panel_id()


@contextmanager
def using(panel_id: int):
    """Work in this panel inside the block (command line, scheduled jobs, cross-panel reports)."""
    token = _USING.set(int(panel_id))
    try:
        yield panel_id
    finally:
        _USING.reset(token)


def panel_ids_for(user) -> list[int]:
    """The panels this user may work in: their home panel first, then those granted, by id."""
    from marac.models import UserPanel

    granted = [row[0] for row in UserPanel.select(UserPanel.panel).where(UserPanel.user == user.id)
               .order_by(UserPanel.panel).tuples()]
    return [user.panel_id] + [p for p in granted if p != user.panel_id]


def panels_for(user) -> list:
    """The Panel rows of panel_ids_for(user), in that order."""
    from marac.models import Panel

    ids = panel_ids_for(user)
    by_id = {p.id: p for p in Panel.select().where(Panel.id.in_(ids))}
    return [by_id[i] for i in ids if i in by_id]


def may_use(user, panel_id: int) -> bool:
    """May this user work in this panel?"""
    return int(panel_id) in panel_ids_for(user)


def set_request_panel(user, session_panel_id) -> int:
    """The panel of a signed-in request: the session's panel in view while the user still has it, else home."""
    panel_id = user.panel_id
    if session_panel_id and session_panel_id != user.panel_id and may_use(user, session_panel_id):
        panel_id = session_panel_id
    g.panel_id = panel_id
    return panel_id


def current_panel():
    """The Panel row of this request (cached on g)."""
    from marac.models import Panel

    if has_request_context():
        panel = g.get("panel")
        if panel is None or panel.id != current_panel_id():
            panel = g.panel = Panel.get_by_id(current_panel_id())
        return panel
    return Panel.get_by_id(current_panel_id())
