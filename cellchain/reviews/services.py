"""Draft a quality review, edit its conclusions, and sign it with its content frozen (issue 14 item 4).

A draft names the kind, scope and period; its figures are read live. Signing, by the leader of that kind of
review with the password typed again (X-4), writes the content as it stands then and its SHA-256 into the
row and signs "approved" in one transaction, so the signature covers the frozen figures and the report never
changes when the data changes later (T-6.4-e, T-5.3.2.3, T-5.3.2.4).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from django.utils.translation import gettext as _

from cellchain.accounts.models import Site
from cellchain.core import clock
from cellchain.core.errors import Conflict, NotAllowed, ValidationFailed
from cellchain.core.numbering import number_next
from cellchain.core.permissions import has_permission, user_roles
from cellchain.ledger.records import record_amend, record_create
from cellchain.manufacturing.models import Product
from cellchain.metrics.selectors import period_of
from cellchain.reviews import selectors
from cellchain.reviews.models import QualityReview
from cellchain.reviews.permissions import SIGNERS
from cellchain.signatures import services as signing
from cellchain.signatures.models import Meaning
from cellchain.signatures.services import SignerCredentials


def content_hash(content: dict[str, Any]) -> str:
    """SHA-256 of the content as canonical JSON (sorted keys, no spaces), as anyone can recompute it."""
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _scope_checked(actor: Any, kind: str, site: Site | None, product: Product | None) -> None:
    if kind not in QualityReview.Kind.values:
        raise ValidationFailed(_("Choose the kind of review."), field="kind")
    if kind == QualityReview.Kind.ANNUAL_PRODUCT:
        if product is None or product.site.organisation_id != actor.organisation_id:
            raise ValidationFailed(
                _("An annual product review needs a product of your organisation."), field="product"
            )
        return
    if site is None or site.organisation_id != actor.organisation_id:
        raise ValidationFailed(_("This review needs a site of your organisation."), field="site")
    if kind == QualityReview.Kind.OVERSIGHT and site.organisation.is_manufacturer:
        raise ValidationFailed(_("The leader oversight report is kept by a hospital team."), field="site")


def review_draft(
    *, actor: Any, kind: str, site: Site | None, product: Product | None, since: dt.date, until: dt.date
) -> QualityReview:
    """Open a draft review of `kind` over since..until for a site or product of the actor's organisation."""
    if not has_permission(actor, "reviews.draft"):
        raise NotAllowed(_("Your role does not draft quality reviews."))
    _scope_checked(actor, kind, site, product)
    period = period_of(since, until)
    prefix = f"QR-{actor.organisation_id}-{period.until:%Y}-"
    issued = number_next(prefix, issued_before=QualityReview.objects.filter(number__startswith=prefix).count)
    return record_create(
        actor=actor,
        record=QualityReview(
            number=f"{prefix}{issued:04d}",
            kind=kind,
            organisation_id=actor.organisation_id,
            site=site if kind != QualityReview.Kind.ANNUAL_PRODUCT else None,
            product=product if kind == QualityReview.Kind.ANNUAL_PRODUCT else None,
            period_from=period.since,
            period_to=period.until,
            created_by=actor,
            created_at=clock.now(),
        ),
        event="review:draft",
    )


def review_conclude(*, actor: Any, review: QualityReview, conclusions: str, actions: str) -> QualityReview:
    """Write the conclusions and the actions decided on a draft."""
    if not has_permission(actor, "reviews.draft") or review.organisation_id != actor.organisation_id:
        raise NotAllowed(_("Your role does not draft quality reviews."))
    if review.is_signed:
        raise Conflict(_("The review is signed: its text no longer changes."))
    review.conclusions, review.actions = conclusions.strip(), actions.strip()
    return record_amend(
        actor=actor,
        record=review,
        event="review:conclude",
        reason="conclusions written",
        fields=["conclusions", "actions"],
    )


def review_content_live(viewer: Any, review: QualityReview) -> dict[str, Any]:
    """The figures the review would freeze if signed now."""
    return selectors.review_content(
        viewer,
        review.kind,
        site=review.site,
        product=review.product,
        since=review.period_from,
        until=review.period_to,
    )


def review_sign(*, actor: Any, review: QualityReview, signer: SignerCredentials) -> QualityReview:
    """Freeze the content, hash it and sign "approved" as the leader (T-6.4-e, T-5.3.2.3/4; X-4).

    Refused, with nothing written: a role that does not lead this kind of review, another organisation's
    review, a review already signed, one without conclusions, a wrong password.
    """
    if not (user_roles(actor) & SIGNERS[review.kind]) or review.organisation_id != actor.organisation_id:
        raise NotAllowed(_("Only the leader of this kind of review signs it."))
    if signer.user.pk != actor.pk:
        raise ValidationFailed(_("The leader signs the review."), field="password")
    if review.is_signed:
        raise Conflict(_("The review is already signed."))
    if not review.conclusions.strip():
        raise ValidationFailed(_("Write the conclusions before signing."), field="conclusions")

    def write() -> QualityReview:
        current = QualityReview.objects.select_for_update().get(pk=review.pk)
        if current.is_signed:
            raise Conflict(_("Someone signed this review meanwhile."))
        content = review_content_live(actor, current)
        current.content, current.content_sha256 = content, content_hash(content)
        current.state, current.signed_at, current.signed_by = QualityReview.State.SIGNED, clock.now(), actor
        return record_amend(
            actor=actor,
            record=current,
            event="review:freeze",
            reason="content frozen at signing",
            fields=["content", "content_sha256", "state", "signed_at", "signed_by"],
            extra={"content_sha256": current.content_sha256},
        )

    signing.record_sign(record=write, signer=signer, meaning=Meaning.APPROVED)
    return QualityReview.objects.get(pk=review.pk)
