"""The menu: each context registers its entries with the permission that shows them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse


@dataclass(frozen=True)
class MenuItem:
    label: Any  # a lazy translation
    url_name: str
    permission: str
    order: int = 100


_MENU: list[MenuItem] = []


def register_menu(item: MenuItem) -> None:
    """Add an entry once (called from AppConfig.ready)."""
    if item not in _MENU:
        _MENU.append(item)


def menu_for(user: Any) -> list[dict[str, Any]]:
    """Return the entries `user` may open, in order."""
    from cellchain.core.permissions import has_permission

    items = sorted(_MENU, key=lambda item: (item.order, item.url_name))
    return [
        {"label": item.label, "url": reverse(item.url_name)}
        for item in items
        if has_permission(user, item.permission)
    ]
