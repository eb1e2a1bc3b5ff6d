"""Products and their versioned definitions, approved with an e-signature before use (P-1-a, Q-2-a, T-7.4)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from cellchain.accounts.models import Site
from cellchain.accounts.roles import Role
from cellchain.core import clock
from cellchain.core.errors import Conflict, ValidationFailed
from cellchain.domain.findings import Gate
from cellchain.domain.process import template_problems
from cellchain.domain.specification import specification_problems
from cellchain.ledger.records import record_amend, record_create
from cellchain.manufacturing import selectors
from cellchain.manufacturing.models import Product, ProductVersion
from cellchain.manufacturing.services._common import refuse_unless, require_role
from cellchain.signatures.models import Meaning
from cellchain.signatures.services import SignerCredentials, record_sign


@transaction.atomic
def product_create(
    *, actor: Any, code: str, name_zh: str, name_en: str, site: Site, isbt_product_code: str = ""
) -> Product:
    """Create a product; its definition comes in versions."""
    require_role(actor, Role.QA)
    if Product.objects.filter(code=code).exists():
        raise Conflict(f"A product with code {code!r} exists.", field="code")
    product = record_create(
        actor=actor,
        record=Product(
            code=code, name_zh=name_zh, name_en=name_en, site=site, isbt_product_code=isbt_product_code
        ),
        event="product:create",
    )
    return product


@transaction.atomic
def product_version_create(
    *,
    actor: Any,
    product: Product,
    process: dict[str, Any],
    specification: dict[str, Any],
    information: dict[str, Any],
    change_note: str = "",
) -> ProductVersion:
    """Add a draft version; the documents must read cleanly (a bad path is named), rules are checked at approval."""
    require_role(actor, Role.QA)
    latest = product.versions.order_by("-version").first()
    version = ProductVersion(
        product=product,
        version=(latest.version + 1) if latest else 1,
        process=process,
        specification=specification,
        information=information,
        change_note=change_note,
        created_at=clock.now(),
        created_by=actor,
    )
    selectors.product_definition(version)
    record_create(actor=actor, record=version, event="product_version:create")
    return version


def product_version_problems(version: ProductVersion) -> Gate:
    """Why a version cannot be approved: process and specification rules (P-1-a, P-T2, Q-2-a..g, Q-2.5)."""
    definition = selectors.product_definition(version)
    beads = definition.template.activator.is_bead
    return Gate(
        (
            *template_problems(definition.template),
            *specification_problems(definition.specification, bead_activator_used=beads),
        )
    )


@transaction.atomic
def product_version_approve(
    *, actor: Any, version: ProductVersion, signer: SignerCredentials
) -> ProductVersion:
    """QA approves a draft with an e-signature; the previously approved version is superseded (P-1-a, X-4)."""
    require_role(actor, Role.QA)
    if signer.user.pk != actor.pk:
        raise ValidationFailed("The approver signs for themselves.", field="password")
    if version.status != ProductVersion.Status.DRAFT:
        raise Conflict(f"Version {version.version} is {version.get_status_display()}, not a draft.")
    refuse_unless(product_version_problems(version), "This version cannot be approved")
    for previous in version.product.versions.filter(status=ProductVersion.Status.APPROVED):
        previous.status = ProductVersion.Status.SUPERSEDED
        record_amend(
            actor=actor,
            record=previous,
            event="product_version:supersede",
            reason=f"superseded by version {version.version}",
            fields=["status"],
        )
    version.status, version.approved_at, version.approved_by = (
        ProductVersion.Status.APPROVED,
        clock.now(),
        actor,
    )
    record_amend(actor=actor, record=version, event="product_version:approve", reason="approved for use")
    record_sign(record=version, signer=signer, meaning=Meaning.APPROVED)
    return version
