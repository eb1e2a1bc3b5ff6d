"""Enumerate every page URL and API operation with the permission it carries (for the role-matrix test)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

# Third-party views that carry no @requires: their permission is stated here.
THIRD_PARTY = {
    "set_language": "public",  # Django's language switch
    "api:openapi-json": "public",  # the OpenAPI document (no data)
    "api:openapi-view": "public",
    "api:api-root": "public",  # ninja's root placeholder: always 404
}
DUMMY = {
    "int": "999999",
    "str": "none",
    "slug": "none",
    "uuid": "00000000-0000-0000-0000-000000000000",
    "path": "none",
}


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    methods: tuple[str, ...]
    permission: str | None
    is_api: bool


def _fill(route: str) -> str:
    def replace(match: re.Match[str]) -> str:
        converter = match.group(1) or "str"
        return DUMMY.get(converter, "none")

    return "/" + re.sub(r"<(?:(\w+):)?\w+>", replace, route)


def _path_view(callback: Callable[..., Any]) -> Any | None:
    from ninja.operation import PathView

    for cell in getattr(callback, "__closure__", None) or ():
        if isinstance(cell.cell_contents, PathView):
            return cell.cell_contents
    return None


def _walk(patterns: list[Any], prefix: str, namespace: str) -> Iterator[tuple[str, str, Callable[..., Any]]]:
    for pattern in patterns:
        route = str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern.url_patterns, prefix + route, ns)
        elif isinstance(pattern, URLPattern):
            yield f"{namespace}{pattern.name or route}", prefix + route, pattern.callback


def endpoints() -> list[Endpoint]:
    """Every page and every API operation, with methods and permission (None = undeclared)."""
    found: list[Endpoint] = []
    for name, route, callback in _walk(get_resolver().url_patterns, "", ""):
        path = _fill(route.replace("^", "").replace("$", ""))
        view = _path_view(callback)
        if view is not None:
            for op in view.operations:
                permission = getattr(op.view_func, "cellchain_permission", None)
                found.append(
                    Endpoint(f"{name}[{','.join(op.methods)}]", path, tuple(op.methods), permission, True)
                )
            continue
        permission = getattr(callback, "cellchain_permission", THIRD_PARTY.get(name))
        found.append(Endpoint(name, path, ("GET",), permission, False))
    return found
