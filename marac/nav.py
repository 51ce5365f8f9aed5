"""The header menu. Each blueprint registers its own entries, so adding an area
never means editing a shared list."""
from dataclasses import dataclass

from flask import request, url_for
from flask_login import current_user


@dataclass(frozen=True)
class NavEntry:
    text: str
    endpoint: str
    roles: tuple[str, ...]
    order: int
    also: tuple[str, ...] = ()  # other endpoints under this entry (marked as current there)


_entries: dict[str, NavEntry] = {}


def register(text: str, endpoint: str, roles, order: int = 50, also=()) -> None:
    """Add (or replace) a menu entry shown to these roles."""
    _entries[endpoint] = NavEntry(text, endpoint, tuple(roles), order, tuple(also))


def items() -> list[dict]:
    """Menu items for the signed-in user, in order, marking the current area."""
    if not current_user.is_authenticated:
        return []
    result = []
    for entry in sorted(_entries.values(), key=lambda e: (e.order, e.text)):
        if current_user.role in entry.roles:
            result.append({
                "href": url_for(entry.endpoint),
                "text": entry.text,
                "active": request.endpoint == entry.endpoint or request.endpoint in entry.also,
            })
    return result
