"""The filters of the metrics pages: a period and, for the trends, the product, rule set and baseline."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cellchain.domain import spc

RULE_SET_LABELS = {
    spc.RuleSet.WESTERN_ELECTRIC_TREND: _("Western Electric rules 1-4 and the six-point trend"),
    spc.RuleSet.WESTERN_ELECTRIC: _("Western Electric rules 1-4"),
    spc.RuleSet.NELSON: _("Nelson's eight tests"),
}


class PeriodForm(forms.Form):
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))


class TrendForm(PeriodForm):
    product = forms.ChoiceField(label=_("Product"), required=False)
    rules = forms.ChoiceField(
        label=_("Rules"), required=False, choices=[(str(k), v) for k, v in RULE_SET_LABELS.items()]
    )
    baseline = forms.IntegerField(
        label=_("Limits from the first batches"),
        required=False,
        min_value=2,
        max_value=1000,
        help_text=_("Empty: the limits use every batch in the period."),
    )

    def __init__(self, *args: object, products: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["product"].choices = products  # type: ignore[attr-defined]
