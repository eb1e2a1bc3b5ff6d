"""Sign-in, sign-out, own account and the people list (issue 2 items 5-6)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from cellchain.accounts import selectors, services
from cellchain.accounts.forms import SignInForm, TokenForm, TotpForm
from cellchain.accounts.models import ApiToken, User
from cellchain.core.errors import ServiceError
from cellchain.core.pages import form_page, redirect_to, run_service
from cellchain.core.permissions import PUBLIC, SIGNED_IN, requires

PENDING_MFA = "cellchain_pending_mfa_user"


def _client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR")


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


def _complete_sign_in(request: HttpRequest, user: User) -> HttpResponse:
    request.session.pop(PENDING_MFA, None)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")  # new session id (item 29)
    services.sign_in_record_success(user, _client_ip(request))
    return redirect(_next_url(request))


@requires(PUBLIC)
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    form = SignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.sign_in_check(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
                ip=_client_ip(request),
            )
        except ServiceError:
            form.add_error(
                None,
                _(
                    "The username or password is wrong, or the account is locked. "
                    "Try again, or ask your site administrator."
                ),
            )
            return render(request, "accounts/sign_in.html", {"form": form}, status=401)
        if services.totp_required(user):
            request.session[PENDING_MFA] = user.pk
            return redirect(f"{request.path}mfa/?next={_next_url(request)}")
        return _complete_sign_in(request, user)
    return render(request, "accounts/sign_in.html", {"form": form, "next": request.GET.get("next", "")})


@requires(PUBLIC)
@require_http_methods(["GET", "POST"])
def sign_in_mfa(request: HttpRequest) -> HttpResponse:
    user_id = request.session.get(PENDING_MFA)
    if not user_id:
        return redirect("accounts:login")
    user = get_object_or_404(User, pk=user_id, is_active=True)
    form = TotpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if services.totp_check(user, form.cleaned_data["code"]):
            return _complete_sign_in(request, user)
        services.sign_in_record(user, user.username, "mfa_failure", _client_ip(request))
        form.add_error("code", _("The code is wrong or already used."))
        return render(request, "accounts/sign_in_mfa.html", {"form": form}, status=401)
    return render(request, "accounts/sign_in_mfa.html", {"form": form})


@requires(SIGNED_IN)
@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    user = request.user
    services.sign_in_record(user, user.get_username(), "logout", _client_ip(request))  # type: ignore[arg-type]
    logout(request)
    messages.info(request, _("You are signed out."))
    return redirect("accounts:login")


@requires(SIGNED_IN)
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    context: dict[str, object] = {"token_form": TokenForm(), "tokens": selectors.tokens_of(user)}
    if request.method == "POST" and request.POST.get("action") == "token_create":
        form = TokenForm(request.POST)
        created = form.is_valid() and run_service(
            request,
            lambda: services.api_token_create(actor=user, name=form.cleaned_data["name"]),
            None,
            form=form,
        )
        if created:
            _token, context["new_token"] = created  # the full value is shown this once
        context["token_form"] = form
    return render(request, "accounts/profile.html", context)


@requires(SIGNED_IN)
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    run_service(
        request,
        lambda: services.api_token_revoke(actor=request.user, token=token),  # type: ignore[arg-type]
        _("The token was revoked."),
    )
    return redirect("accounts:profile")


@requires(SIGNED_IN)
@require_http_methods(["GET", "POST"])
def totp_setup(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = TotpForm(request.POST or None)
    if request.method == "POST":
        # A wrong or unreadable code shows the page again without a new secret: the app already holds the one
        # it scanned, so starting over would make that one useless.
        return form_page(
            request,
            form,
            lambda data: services.totp_confirm(actor=user, code=data["code"]),
            _("The second factor is set up."),
            done=redirect_to("accounts:profile"),
            template="accounts/totp_setup.html",
            context={"uri": None},
        )
    # A GET starts the set-up with a fresh secret.
    try:
        uri = services.totp_begin(actor=user)
    except ServiceError as exc:
        messages.info(request, exc.message)  # already set up: not an error
        return redirect("accounts:profile")
    return render(request, "accounts/totp_setup.html", {"form": form, "uri": uri})


@requires("accounts.view_people")
def people(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/people.html", {"people": selectors.people_list(request.user)})  # type: ignore[arg-type]
