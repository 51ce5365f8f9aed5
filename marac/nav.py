"""The header menu. Each blueprint registers its own entries, so adding an area
never means editing a shared list."""
from dataclasses import dataclass

from flask import g, request, url_for
from flask_login import current_user


@dataclass(frozen=True)
class NavEntry:
    text: str
    endpoint: str
    roles: tuple[str, ...]
    order: int
    also: tuple[str, ...] = ()  # other endpoints under this entry (marked as current there)


_entries: dict[str, NavEntry] = {}
# (role, script root) -> [(href, text, endpoint, also)]: the menu is the same for every request of a role,
# so its order and links are worked out once per process (register() starts again).
_by_role: dict[tuple[str, str], list[tuple]] = {}


def register(text: str, endpoint: str, roles, order: int = 50, also=()) -> None:
    """Add (or replace) a menu entry shown to these roles."""
    _entries[endpoint] = NavEntry(text, endpoint, tuple(roles), order, tuple(also))
    _by_role.clear()


def _role_entries(role: str) -> list[tuple]:
    key = (role, request.script_root)
    entries = _by_role.get(key)
    if entries is None:
        entries = [(url_for(e.endpoint), e.text, e.endpoint, e.also)
                   for e in sorted(_entries.values(), key=lambda e: (e.order, e.text)) if role in e.roles]
        _by_role[key] = entries
    return entries


def items() -> list[dict]:
    """Menu items for the signed-in user, in order, marking the current area.

    Kept for the rest of the request: every template rendered in it (a form widget is one) asks again."""
    if not current_user.is_authenticated:
        return []
    cached = g.get("_nav_items")
    if cached is not None and cached[0] == current_user.id:
        return cached[1]
    endpoint = request.endpoint
    result = [{"href": href, "text": text, "active": endpoint == entry_endpoint or endpoint in also}
              for href, text, entry_endpoint, also in _role_entries(current_user.role)]
    g._nav_items = (current_user.id, result)
    return result
