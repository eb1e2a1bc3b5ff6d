"""What the pages call the attributes and the rules (translated; the API gives the codes)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from cellchain.domain.spc import RuleCode

ATTRIBUTE_LABELS = {
    "viability": _("Viability"),
    "car_positive": _("CAR-positive cells"),
    "vcn": _("Vector copy number"),
    "dose": _("Dose (viable cells)"),
}

RULE_LABELS = {
    RuleCode.BEYOND_3_SIGMA: _("One point beyond 3 sigma"),
    RuleCode.TWO_OF_THREE_BEYOND_2_SIGMA: _("Two of three points beyond 2 sigma on one side"),
    RuleCode.FOUR_OF_FIVE_BEYOND_1_SIGMA: _("Four of five points beyond 1 sigma on one side"),
    RuleCode.EIGHT_ON_ONE_SIDE: _("Eight points in a row on one side of the centre line"),
    RuleCode.NINE_ON_ONE_SIDE: _("Nine points in a row on one side of the centre line"),
    RuleCode.SIX_TRENDING: _("Six points in a row steadily rising or falling"),
    RuleCode.FOURTEEN_ALTERNATING: _("Fourteen points in a row alternating up and down"),
    RuleCode.FIFTEEN_WITHIN_1_SIGMA: _("Fifteen points in a row within 1 sigma"),
    RuleCode.EIGHT_OUTSIDE_1_SIGMA: _("Eight points in a row beyond 1 sigma"),
    RuleCode.MR_BEYOND_UCL: _("Moving range above its upper limit"),
}
