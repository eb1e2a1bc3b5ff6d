"""Quality review pages: the list, a new draft, the draft or signed review with its figures, sign."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cellchain.core.errors import NotFound
from cellchain.core.pages import form_page
from cellchain.core.permissions import has_permission, requires, user_roles
from cellchain.reviews import selectors, services
from cellchain.reviews.forms import ConcludeForm, DraftForm, ReviewSignForm
from cellchain.reviews.models import QualityReview
from cellchain.reviews.permissions import SIGNERS
from cellchain.signatures.services import SignerCredentials


@requires("reviews.view")
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    reviews = list(selectors.reviews_visible_to(request.user))
    return render(
        request,
        "reviews/index.html",
        {"reviews": reviews, "can_draft": has_permission(request.user, "reviews.draft")},
    )


@requires("reviews.draft")
@require_http_methods(["GET", "POST"])
def draft(request: HttpRequest) -> HttpResponse:
    form = DraftForm(
        request.POST or None,
        sites=selectors.sites_for(request.user),
        products=selectors.products_for(request.user),
    )

    def call(data: Mapping[str, Any]) -> QualityReview:
        return services.review_draft(
            actor=request.user,
            kind=data["kind"],
            site=data["site"],
            product=data["product"],
            since=data["since"],
            until=data["until"],
        )

    return form_page(
        request,
        form,
        call,
        _("The draft review was opened."),
        done=lambda review: redirect("reviews:detail", pk=review.pk),
        template="reviews/draft.html",
    )


def _review(request: HttpRequest, pk: int) -> QualityReview:
    try:
        return selectors.review_get(request.user, pk)
    except NotFound:
        raise Http404(pk) from None


def _page(request: HttpRequest, review: QualityReview) -> HttpResponse:
    return render(request, "reviews/detail.html", _context_for_errors(request, review))


@requires("reviews.view")
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _page(request, _review(request, pk))


@requires("reviews.draft")
@require_POST
def conclude(request: HttpRequest, pk: int) -> HttpResponse:
    review = _review(request, pk)
    form = ConcludeForm(request.POST)
    return form_page(
        request,
        form,
        lambda data: services.review_conclude(
            actor=request.user, review=review, conclusions=data["conclusions"], actions=data["actions"]
        ),
        _("The conclusions were saved."),
        done=lambda _r: redirect("reviews:detail", pk=review.pk),
        template="reviews/detail.html",
        context=_context_for_errors(request, review, conclude_form=form),
    )


@requires("reviews.view")
@require_POST
def sign(request: HttpRequest, pk: int) -> HttpResponse:
    review = _review(request, pk)
    form = ReviewSignForm(request.POST)
    return form_page(
        request,
        form,
        lambda data: services.review_sign(
            actor=request.user,
            review=review,
            signer=SignerCredentials(request.user, data["password"], data["totp_code"] or None),
        ),
        _("The review was signed; its content is frozen."),
        done=lambda _r: redirect("reviews:detail", pk=review.pk),
        template="reviews/detail.html",
        context=_context_for_errors(request, review, sign_form=form),
    )


def _context_for_errors(request: HttpRequest, review: QualityReview, **forms: Any) -> dict[str, Any]:
    """The page's context: the frozen content once signed, the live figures while a draft."""
    content = review.content if review.is_signed else services.review_content_live(request.user, review)
    return {
        "review": review,
        "content": content,
        "can_draft": has_permission(request.user, "reviews.draft") and not review.is_signed,
        "can_sign": bool(user_roles(request.user) & SIGNERS[review.kind]) and not review.is_signed,
        "conclude_form": forms.get("conclude_form")
        or ConcludeForm(initial={"conclusions": review.conclusions, "actions": review.actions}),
        "sign_form": forms.get("sign_form") or ReviewSignForm(),
    }
