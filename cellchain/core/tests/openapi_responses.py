"""Validate API responses made by the test client against the OpenAPI document (issue 15 item 3).

Every JSON response under /api/ is checked with openapi-core. A status the operation does not document (or
a path the document lacks: a 404 for an unknown URL) is accepted only for an error (>= 400) that carries the
one error shape `{"message", "code", "detail"}` of cellchain.project.api; an undocumented success is a mismatch.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from django.http import HttpResponse

ERROR_KEYS = {"message", "code", "detail"}


class OpenAPIMismatch(AssertionError):
    """A response that does not match what the OpenAPI document declares for its operation."""


@cache
def _openapi() -> Any:
    from django.core.serializers.json import DjangoJSONEncoder
    from openapi_core import OpenAPI

    from cellchain.project.api import api

    # As served: through JSON, so the integer status keys ninja builds become the strings OpenAPI requires.
    return OpenAPI.from_dict(json.loads(json.dumps(api.get_openapi_schema(), cls=DjangoJSONEncoder)))


def _checked(response: HttpResponse) -> bool:
    request = getattr(response, "wsgi_request", None)
    path = getattr(request, "path", "")
    return (
        path.startswith("/api/")
        and not path.startswith(("/api/openapi.json", "/api/docs"))
        and response.get("Content-Type", "").startswith("application/json")
    )


def _error_shape(response: HttpResponse) -> str | None:
    """Return why an undocumented error response is not the one error shape, or None if it is."""
    try:
        body = json.loads(response.content)
    except ValueError as exc:
        return f"not JSON: {exc}"
    if not isinstance(body, dict) or set(body) != ERROR_KEYS:
        return f"keys {sorted(body) if isinstance(body, dict) else type(body).__name__}, expected {sorted(ERROR_KEYS)}"
    if not isinstance(body["message"], str) or not isinstance(body["code"], str):
        return "message and code must be strings"
    return None


def validate_response(response: HttpResponse) -> None:
    """Raise OpenAPIMismatch naming the operation and the mismatch if the response breaks the document."""
    if not _checked(response):
        return
    from openapi_core.contrib.django import DjangoOpenAPIRequest, DjangoOpenAPIResponse
    from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
    from openapi_core.templating.responses.exceptions import ResponseNotFound

    request = response.wsgi_request  # type: ignore[attr-defined]
    operation = f"{request.method} {request.path} -> {response.status_code}"
    try:
        _openapi().validate_response(DjangoOpenAPIRequest(request), DjangoOpenAPIResponse(response))
    except (ResponseNotFound, PathNotFound, OperationNotFound) as exc:
        if response.status_code < 400:
            raise OpenAPIMismatch(f"{operation}: not documented: {exc}") from None
        why = _error_shape(response)
        if why is not None:
            raise OpenAPIMismatch(
                f"{operation}: undocumented error response is not the error shape: {why}"
            ) from None
    except Exception as exc:
        causes = [str(exc)]
        # openapi-core wraps schema errors: the innermost ones say which field and why.
        for inner in getattr(exc.__cause__, "schema_errors", None) or ():
            where = "/".join(str(p) for p in inner.absolute_path) or "(body)"
            causes.append(f"at {where}: {inner.message}")
        raise OpenAPIMismatch(f"{operation}: " + "; ".join(causes)) from exc
