"""The one NinjaAPI: session or token auth, one error shape `{"message", "code", "detail"}` (issue 2 item 9)."""

from __future__ import annotations

import importlib
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyCookie, HttpBearer

from cellchain.core.errors import ServiceError


def operation_of(request: HttpRequest) -> Any | None:
    """Return the ninja operation a request resolves to (its handler carries the `@requires` permission)."""
    from ninja.operation import PathView

    match = getattr(request, "resolver_match", None)
    for cell in getattr(getattr(match, "func", None), "__closure__", None) or ():
        if isinstance(cell.cell_contents, PathView):
            return next((op for op in cell.cell_contents.operations if request.method in op.methods), None)
    return None


def _authorise(request: HttpRequest, user: Any) -> Any:
    """Check the operation's permission at authentication, before the body is parsed: denied is 403, not 422."""
    from cellchain.core.permissions import has_permission

    operation = operation_of(request)
    permission = getattr(getattr(operation, "view_func", None), "cellchain_permission", None)
    if permission is not None and not has_permission(user, permission):
        raise PermissionDenied(permission)
    return user


class TokenAuth(HttpBearer):
    """`Authorization: Bearer cc_<prefix>_<secret>` for integrations (hashed at rest, revocable)."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from cellchain.accounts.services import api_token_user

        user = api_token_user(token)
        if user is None:
            return None
        request.user = user
        return _authorise(request, user)


class SessionAuth(APIKeyCookie):
    """The browser's signed-in session; CSRF is checked for unsafe methods."""

    param_name = settings.SESSION_COOKIE_NAME

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return _authorise(request, user)
        return None


api = NinjaAPI(
    title="CellChain API",
    version="1",
    description="Vein-to-vein quality records for autologous CAR-T therapy. Errors: {message, code, detail}.",
    urls_namespace="api",
    docs_url="/docs",
    auth=[TokenAuth(), SessionAuth()],
)


def _error(request: HttpRequest, status: int, message: str, code: str, detail: Any = None) -> HttpResponse:
    return api.create_response(
        request, {"message": message, "code": code, "detail": detail or {}}, status=status
    )


@api.exception_handler(ServiceError)
def _service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    return _error(request, exc.status, exc.message, exc.code, exc.detail)


@api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    problems = [
        {"where": ".".join(str(p) for p in e.get("loc", [])), "why": e.get("msg", "")} for e in exc.errors
    ]
    first = problems[0] if problems else {"where": "body", "why": "invalid"}
    return _error(
        request,
        422,
        f"Invalid input at {first['where']}: {first['why']}",
        "invalid_input",
        {"errors": problems},
    )


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(
        request,
        401,
        "Sign in or send a valid API token (Authorization: Bearer cc_...).",
        "authentication_required",
    )


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    if not getattr(request.user, "is_authenticated", False):
        return _auth_error(request, AuthenticationError())
    return _error(request, 403, "Your role does not allow this action.", "not_allowed")


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "No such record, or it is not visible to you.", "not_found")


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, str(exc), "http_error")


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    import logging

    logging.getLogger("cellchain.api").exception("unhandled API error")
    return _error(request, 500, "The action was not completed and nothing was saved.", "server_error")


for _app in settings.CELLCHAIN_CONTEXTS:
    try:
        _module = importlib.import_module(f"{_app}.api")
    except ModuleNotFoundError as _exc:
        if _exc.name != f"{_app}.api":
            raise
        continue
    api.add_router(f"/{_app.rsplit('.', 1)[1]}/", _module.router)
