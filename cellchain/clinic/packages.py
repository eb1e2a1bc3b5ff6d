"""The manufacturer's approved information packages as the clinic reads them (T-7.4), through the manufacturing
context's selectors only (FOUNDATION "Cross-context calls"; docs/decisions/0005-clinic-use.md).

The clinic sees a version's information document, never its process template or specification (T-7.11), and
reads it into the clinic's values with `domain.clinical_use.clinical_use_values`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from cellchain.core.errors import NotFound
from cellchain.domain.clinical_use import ClinicalUseValues, PackageIncomplete, clinical_use_values


@dataclass(frozen=True)
class Package:
    """One product version's information package in the clinic's terms."""

    version_id: int
    product_code: str
    isbt_product_code: str
    number: int
    status: str  # "approved" or "superseded"
    approved_at: dt.datetime | None
    change_note: str
    product_name: str
    manufacturer: Any  # accounts.Organisation
    values: ClinicalUseValues | None  # None when the package lacks what the bedside needs
    problem: str  # why `values` is None

    @property
    def label(self) -> str:
        """The version as manufacturing names it: "CODE vN"."""
        return f"{self.product_code} v{self.number}"

    @property
    def approved(self) -> bool:
        return self.status == "approved"


def package_of(version: Any) -> Package:
    """Read a manufacturing ProductVersion's information package into clinic values."""
    from cellchain.manufacturing.selectors import product_information

    info = product_information(version)
    try:
        values, problem = clinical_use_values(info), ""
    except PackageIncomplete as exc:
        values, problem = None, str(exc)
    product = version.product
    return Package(
        version_id=version.pk,
        product_code=product.code,
        isbt_product_code=product.isbt_product_code,
        number=version.version,
        status=version.status,
        approved_at=version.approved_at,
        change_note=version.change_note,
        product_name=info.product_name.en or info.product_name.zh or product.name_en,
        manufacturer=product.site.organisation,
        values=values,
        problem=problem,
    )


def approved_packages() -> list[Package]:
    """Every manufacturer's currently approved version, one per product (what a clinic can adopt)."""
    from cellchain.manufacturing.selectors import product_versions_for_clinic

    return [package_of(version) for version in product_versions_for_clinic()]


def version_for_adoption(version_id: int) -> Any:
    """The manufacturing ProductVersion a clinic adopts (approved or superseded; drafts are not visible)."""
    from cellchain.manufacturing.selectors import product_version_for_clinic

    version = product_version_for_clinic(version_id)
    if version is None:
        raise NotFound(f"No approved product version {version_id}.")
    return version


def package_for(product_code: str, number: int) -> Package | None:
    """A product's version by number (e.g. the version a batch was made under), or None."""
    from cellchain.manufacturing.selectors import product_version_by_number

    version = product_version_by_number(product_code, number)
    return None if version is None else package_of(version)


def product_known(code: str) -> bool:
    """True when the manufacturing context has a product with this code or ISBT 128 product code."""
    from cellchain.manufacturing.selectors import product_known as known

    return known(code)


def unit_made_under(din: str) -> tuple[str, int] | None:
    """(product code, version number) of the batch a unit was made from, or None when manufacturing does not
    know the DIN."""
    from cellchain.manufacturing.selectors import product_unit_version

    version = product_unit_version(din)
    return None if version is None else (version.product.code, version.version)
