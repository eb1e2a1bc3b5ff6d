"""Home, health check, reference data and friendly error pages that leak nothing (issue 2 item 8)."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from cellchain.core import clock
from cellchain.core.models import ApprovedProduct
from cellchain.core.permissions import PUBLIC, SIGNED_IN, requires, user_roles
from cellchain.core.worklist import work_day, worklist_for


@requires(SIGNED_IN)
def home(request: HttpRequest) -> HttpResponse:
    """The page after sign-in: what is due or overdue for this user, then the menu (issue 14 item 1)."""
    roles = sorted(user_roles(request.user))
    day = work_day(request.user)
    return render(
        request, "core/home.html", {"roles": roles, "day": day, "work": worklist_for(request.user, day)}
    )


@requires(PUBLIC)
def health(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, with the server's UTC time for clock-drift monitoring (item 8)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse(
        {"status": "ok", "database": connection.vendor, "server_time_utc": clock.now().isoformat()}
    )


@requires("core.view_reference")
def approved_products(request: HttpRequest) -> HttpResponse:
    return render(request, "core/approved_products.html", {"products": ApprovedProduct.objects.all()})


def _error(request: HttpRequest, status: int, title: str, message: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"message": message, "code": str(status), "detail": {}}, status=status)
    return render(request, "core/error.html", {"title": title, "message": message}, status=status)


def bad_request(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return _error(
        request, 400, _("Bad request"), _("The request could not be understood. Go back and try again.")
    )


def permission_denied(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return _error(
        request,
        403,
        _("Not allowed"),
        _("Your role does not allow this page or action. Ask your site administrator if you need it."),
    )


def page_not_found(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return _error(
        request, 404, _("Not found"), _("There is no such page or record, or it is not visible to you.")
    )


def server_error(request: HttpRequest) -> HttpResponse:
    return _error(
        request,
        500,
        _("Something went wrong"),
        _(
            "The action was not completed and nothing was saved. Please try again; if it happens again, "
            "tell your site administrator the time it happened."
        ),
    )


def upload_too_large(request: HttpRequest, size: int, limit: int) -> HttpResponse:
    """413 before the body is read: what was sent, what is accepted, what to do (issue 15)."""
    return _error(
        request,
        413,
        _("File too large"),
        _(
            "The upload is %(size)s MB; this installation accepts at most %(limit)s MB per request. "
            "Nothing was saved. Split the export, or ask your site administrator about the limit."
        )
        % {"size": f"{size / 1e6:.1f}", "limit": f"{limit / 1e6:.1f}"},
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return _error(
        request,
        403,
        _("Form expired"),
        _("This form was open too long or came from elsewhere. Reload the page and submit it again."),
    )
