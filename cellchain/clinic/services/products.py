"""Product use profiles: adopted from the manufacturer's approved product version, or entered by hand for a
product CellChain's manufacturing records do not know (T-7.4, T-7.8, T-7.9, T-7.10-b, T-7.14, T-8.2.1).

An adopted profile copies every value the information package carries; those values cannot be changed at the
clinic, only replaced by adopting a newer approved version (with a reason; the ledger keeps the old values).
A unit whose batch was made under another version of the product is judged on that version's values
(`unit_profile`), since its validation is the one that applies to it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from cellchain.clinic import packages
from cellchain.clinic.models import ClinicUnit, ProductUseProfile
from cellchain.clinic.services._common import amend, create
from cellchain.core.errors import Conflict, NotAllowed, ValidationFailed
from cellchain.domain.clinical_timing import FollowUpPlanError
from cellchain.domain.clinical_use import (
    CLINIC_VALUES,
    PACKAGE_VALUES,
    PACKAGE_VALUES_IF_STATED,
    ClinicalUseValues,
    SeedRisk,
    risk_seed,
)

ALL_VALUES = (*PACKAGE_VALUES, *PACKAGE_VALUES_IF_STATED, *CLINIC_VALUES)
_ADOPTION_CHANGES = (*ALL_VALUES, "version", "manufacturer_id", "source", "package_fields")
"""What adopting a version may change on a profile: the ledger entry lists those it did change."""


def _hospital_staff(actor: Any) -> None:
    if not actor.is_hospital_user:
        raise NotAllowed("Only hospital staff keep the clinic's product use profiles.")


def _check(profile: ProductUseProfile) -> None:
    """Rules the database cannot state: a valid follow-up plan (T-9.2.8) and a use time after thaw (T-7.8-a)."""
    try:
        profile.follow_up_plan()
    except FollowUpPlanError as exc:
        raise ValidationFailed(str(exc), field="follow_up_years") from None
    if profile.usable_after_thaw_min is not None and profile.usable_after_thaw_min < 1:
        raise ValidationFailed(
            "The usable time after thaw must be at least 1 minute (T-7.8-a).", field="usable_after_thaw_min"
        )


@transaction.atomic
def product_profile_create(*, actor: Any, **fields: Any) -> ProductUseProfile:
    """Enter a product's clinical-use values by hand from its IFU (T-7.8, T-7.9, T-7.10, T-7.14), only for a
    product the manufacturing context does not know (paper records, another manufacturer): a product it knows
    is adopted from its approved version instead, so the bedside enforces the validated values."""
    code = str(fields.get("code", ""))
    if packages.product_known(code):
        raise Conflict(
            f"Product {code} is in CellChain's manufacturing records: adopt its approved product version "
            "(Products page) instead of typing its values (T-7.4).",
            field="code",
        )
    if {"source", "source_product", "source_version", "package_fields"} & set(fields):
        raise ValidationFailed("A hand-entered profile names no source version.", field="source")
    profile = ProductUseProfile(**fields, source=ProductUseProfile.Source.HAND)
    _check(profile)
    return create(actor, profile, "product_profile:create")  # type: ignore[return-value]


def _known_values(given: dict[str, Any]) -> None:
    """Refuse names that are no product value at all."""
    unknown = sorted(set(given) - set(ALL_VALUES))
    if unknown:
        raise ValidationFailed(f"Unknown product value(s): {', '.join(unknown)}.", field=unknown[0])


def _clinic_values(values: ClinicalUseValues | None, given: dict[str, Any], label: str) -> None:
    """Refuse a value the package carries, and names that are no value at all."""
    _known_values(given)
    carried = set(values.carried) if values is not None else set()
    locked = [name for name in given if name in carried]
    if locked:
        raise ValidationFailed(
            f"{', '.join(sorted(locked))}: this value comes from the manufacturer's package ({label}) and "
            "cannot be entered at the clinic (T-7.4).",
            field=sorted(locked)[0],
        )


@transaction.atomic
def product_profile_adopt(
    *, actor: Any, product_version: Any, reason: str = "", **clinic_values: Any
) -> ProductUseProfile:
    """Adopt the manufacturer's approved product version: every value its information package carries is
    copied (T-7.4, T-7.8, T-7.9, T-7.10-b, T-7.14), the rest are `clinic_values` (rate, dose, sets, follow-up,
    and route/filter/observation when the package does not state them).

    The profile is the product's (code = the manufacturer's product code). Adopting a newer version replaces
    the package's values and needs a reason; the ledger keeps the values it replaced (T-8.2.1)."""
    _hospital_staff(actor)
    package = packages.package_of(product_version)
    if not package.approved:
        raise Conflict(
            f"{package.label} is {package.status}: only the manufacturer's approved version can be adopted.",
            field="product_version",
        )
    if package.values is None:
        raise ValidationFailed(
            f"{package.label} cannot be adopted: its information package has {package.problem}. Ask "
            f"{package.manufacturer.name} for a version that states it.",
            field="product_version",
        )
    values = package.values
    _clinic_values(values, clinic_values, package.label)
    profile = ProductUseProfile.objects.select_for_update().filter(code=package.product_code).first()
    package_fields = values.as_fields()
    identity = {
        "manufacturer": package.manufacturer,
        "version": package.label,
        "source": ProductUseProfile.Source.PACKAGE,
        "source_product": package.product_code,
        "source_version": package.number,
        "package_fields": list(values.carried),
    }
    extra = {"source": package.label, "package_fields": list(values.carried)}
    if profile is None:
        missing = [name for name in ALL_VALUES if name not in package_fields and name not in clinic_values]
        if missing:
            raise ValidationFailed(
                f"Enter the values the package does not carry: {', '.join(missing)}.", field=missing[0]
            )
        profile = ProductUseProfile(code=package.product_code, **package_fields, **clinic_values, **identity)
        _check(profile)
        return create(actor, profile, "product_profile:adopt", extra=extra)  # type: ignore[return-value]
    if profile.voided_at is not None:
        raise Conflict(f"The profile of {profile.code} is voided.")
    if profile.source == ProductUseProfile.Source.PACKAGE and profile.source_version == package.number:
        raise Conflict(f"The profile already uses {package.label}.", field="product_version")
    if not reason.strip():
        raise ValidationFailed(
            f"Give the reason for replacing {profile.source_label or 'the hand-entered values'} with "
            f"{package.label}.",
            field="reason",
        )
    before = {name: getattr(profile, name) for name in _ADOPTION_CHANGES}
    previous = profile.source_label or "hand-entered values"
    for name, value in {**package_fields, **clinic_values, **identity}.items():
        setattr(profile, name, value)
    _check(profile)
    amend(
        actor,
        profile,
        "product_profile:adopt",
        reason.strip(),
        extra={**extra, "previous": previous, "changes": _changed(before, profile)},
    )
    return profile


@transaction.atomic
def product_profile_amend(
    *, actor: Any, profile: ProductUseProfile, reason: str, **clinic_values: Any
) -> ProductUseProfile:
    """Change the clinic's own values of a profile (T-8.2.1: versioned with the reason); a value copied from
    the manufacturer's package cannot be changed here (adopt a newer version instead)."""
    _hospital_staff(actor)
    if not reason.strip():
        raise ValidationFailed("Give the reason for the change.", field="reason")
    _known_values(clinic_values)
    locked = sorted(name for name in clinic_values if profile.from_package(name))
    if locked:
        raise ValidationFailed(
            f"{', '.join(locked)}: this value comes from the manufacturer's package ({profile.source_label}) "
            "and cannot be changed at the clinic (T-7.4).",
            field=locked[0],
        )
    before = {name: getattr(profile, name) for name in clinic_values}
    for name, value in clinic_values.items():
        setattr(profile, name, value)
    _check(profile)
    amend(
        actor, profile, "product_profile:amend", reason.strip(), extra={"changes": _changed(before, profile)}
    )
    return profile


def _changed(before: dict[str, Any], profile: ProductUseProfile) -> dict[str, list[Any]]:
    """[old, new] of each value in `before` that the profile now holds otherwise (for the ledger entry)."""
    return {
        name: [old, getattr(profile, name)] for name, old in before.items() if old != getattr(profile, name)
    }


# --------------------------------------------------------------------------- behind the manufacturer?


@dataclass(frozen=True)
class ProfileStatus:
    """Where a profile stands against the manufacturer's approved versions."""

    profile: ProductUseProfile
    latest: packages.Package | None  # the product's approved version, when manufacturing knows the product

    @property
    def behind(self) -> bool:
        """A newer approved version exists than the one the profile uses (or a hand profile of a known one)."""
        if self.latest is None:
            return False
        return (
            self.profile.source != ProductUseProfile.Source.PACKAGE
            or self.profile.source_version != self.latest.number
        )


def profiles_status(profiles: Iterable[ProductUseProfile]) -> list[ProfileStatus]:
    """Each profile with the manufacturer's currently approved version of its product (one query for all)."""
    latest: dict[str, packages.Package] = {}
    for package in packages.approved_packages():
        latest[package.product_code] = package
        if package.isbt_product_code:  # a hand-entered profile may carry the label's ISBT 128 product code
            latest.setdefault(package.isbt_product_code, package)
    return [
        ProfileStatus(profile, latest.get(profile.source_product or profile.code)) for profile in profiles
    ]


def packages_not_adopted(profiles: Iterable[ProductUseProfile]) -> list[packages.Package]:
    """Approved versions of products the clinic has no profile of yet."""
    codes = {p.source_product or p.code for p in profiles}
    return [package for package in packages.approved_packages() if package.product_code not in codes]


# --------------------------------------------------------------------------- the values a unit is judged on


def unit_profile(unit: ClinicUnit) -> ProductUseProfile:
    """The values the thaw, use-by and bedside checks apply to this unit: the course's profile, with the
    package values of the version the unit's batch was made under when that is not the adopted one (the
    batch's validation is the one that applies). Never saved; `applied_version` names the version used."""
    profile = unit.course.product
    made = (unit.batch_product, unit.batch_product_version)
    if unit.batch_product_version is None or (
        profile.source == ProductUseProfile.Source.PACKAGE
        and (profile.source_product, profile.source_version) == made
    ):
        return profile
    package = packages.package_for(unit.batch_product, unit.batch_product_version)
    if package is None:
        raise Conflict(f"Unit {unit.unit_id}: product version {unit.made_under} is unknown to manufacturing.")
    if package.values is None:
        raise Conflict(
            f"Unit {unit.unit_id} was made under {package.label}, whose information package has "
            f"{package.problem}: it cannot be used until the manufacturer states it."
        )
    effective = copy.copy(profile)
    for name, value in package.values.as_fields().items():
        setattr(effective, name, value)
    effective.applied_version = package.label  # type: ignore[attr-defined]
    return effective


def applied_version(profile: ProductUseProfile) -> str:
    """The version whose package values a (unit's) profile carries: "CODE vN", or "" when entered by hand."""
    return getattr(profile, "applied_version", "") or profile.source_label


# --------------------------------------------------------------------------- the site risk plan's start


def risk_plan_seed(profile: ProductUseProfile) -> tuple[SeedRisk, ...]:
    """The register rows a site's risk plan starts from: the manufacturer's adverse reactions (required),
    contraindications and precautions (T-9.1.2 from T-7.9). A hand-entered profile proposes its own lists but
    requires nothing."""
    seed = risk_seed(
        profile.possible_reactions,
        profile.monitoring_indicators,
        profile.contraindications,
        profile.precautions,
        profile.source_label or "IFU entered by hand",
    )
    if profile.source == ProductUseProfile.Source.PACKAGE:
        return seed
    return tuple(SeedRisk(s.stage, s.hazard, s.cause, s.measure, False) for s in seed)
