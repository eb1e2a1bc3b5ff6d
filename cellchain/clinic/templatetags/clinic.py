"""Template helpers of the clinic: translated names for verdict codes (the domain speaks English only)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext_lazy as _

register = template.Library()

REASONS: dict[str, Any] = {
    "wrong_patient": _("Wrong patient: the wristband does not belong to the patient of this journey"),
    "product_of_another_journey": _("Product of another journey: this unit was made for a different patient"),
    "coi_mismatch": _("The unit's chain-of-identity id differs from the journey's"),
    "unknown_unit": _("The scanned product unit is not a unit known to this site"),
    "manual_entry_without_reason": _("Typed instead of scanned: record why the scanner could not be used"),
    "not_released": _("The product has not been released"),
    "conditional_release_not_acknowledged": _(
        "Conditionally released: the treating physician must acknowledge it before infusion"
    ),
    "quarantined": _("The product is quarantined: use is suspended"),
    "rejected": _("The product is rejected and may never be used"),
    "past_use_by": _("Past its use-by time: infusion blocked"),
    "same_person_twice": _("The same person cannot perform and verify the bedside check"),
    "second_verifier_missing": _("A second qualified person must verify the bedside check"),
    "unqualified_verifier": _("No current infusion qualification"),
    "not_thawed": _("The unit has not been thawed yet"),
}


@register.filter
def reason_label(reason: dict[str, str]) -> Any:
    """The translated sentence for a recorded verdict reason, or its English message for other codes."""
    return REASONS.get(reason.get("code", ""), reason.get("message", ""))
