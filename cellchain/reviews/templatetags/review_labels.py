"""Labels in the reader's language for the codes a review's frozen snapshot keeps (issue 14 item 4).

The snapshot stores codes ("expired", "oos") so its hash does not depend on the language it was signed in; the
page shows them in the reader's language.
"""

from __future__ import annotations

from django import template
from django.utils.translation import gettext_lazy as _

from cellchain.quality.models import Deviation

register = template.Library()

_STANDING = {
    "current": _("Current"),
    "expiring": _("Expiring soon"),
    "expired": _("Expired"),
    "revoked": _("Revoked"),
    "not_yet_valid": _("Not yet valid"),
    "none": _("None recorded"),
}


@register.filter
def standing_label(code: str) -> str:
    """A qualification's or a member's training standing in the reader's language (the code when unknown)."""
    return str(_STANDING.get(code, code))


@register.filter
def deviation_kind_label(code: str) -> str:
    """A deviation kind in the reader's language (the code when unknown)."""
    return str(dict(Deviation.Kind.choices).get(code, code))
