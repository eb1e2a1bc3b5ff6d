"""Forms of the CAPA and change-control pages (issue 13 item 4)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from cellchain.capa.models import CapaAction, ChangeRequest, EffectivenessCheck, Investigation
from cellchain.signatures.forms import SignForm

DATE = forms.DateInput(attrs={"type": "date"})


def _text(label: Any, rows: int = 3, required: bool = True) -> forms.CharField:
    return forms.CharField(label=label, required=required, widget=forms.Textarea(attrs={"rows": rows}))


class PersonChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.printed_name)


class InvestigationForm(forms.Form):
    investigator = PersonChoice(label=_("Investigator"), queryset=None)
    category = forms.ChoiceField(label=_("Root-cause category"), choices=Investigation.Category.choices)
    root_cause = _text(_("Root cause"), 4)
    impact_assessment = _text(_("Impact assessment (product, patients, other batches)"), 4)
    reason = forms.CharField(label=_("Reason for the revision"), required=False)

    def __init__(self, *args: Any, people: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["investigator"].queryset = people  # type: ignore[attr-defined]


class ActionForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=CapaAction.Kind.choices)
    description = _text(pgettext_lazy("CAPA action", "Action"), 2)
    owner = PersonChoice(label=_("Owner"), queryset=None)
    due_on = forms.DateField(label=_("Due on"), widget=DATE)
    change_request = forms.ModelChoiceField(
        label=_("Linked change request (optional)"), queryset=None, required=False
    )

    def __init__(self, *args: Any, people: Any, changes: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = people  # type: ignore[attr-defined]
        self.fields["change_request"].queryset = changes  # type: ignore[attr-defined]


class CompleteForm(forms.Form):
    note = forms.CharField(label=_("Completion evidence"), max_length=2000)


class EffectivenessForm(forms.Form):
    result = forms.ChoiceField(
        label=_("Result"), choices=EffectivenessCheck.Result.choices, widget=forms.RadioSelect
    )
    evidence = _text(_("What was checked"), 3)


class CloseForm(SignForm):
    note = forms.CharField(label=_("Closure note (optional)"), required=False, max_length=500)


class ChangeForm(forms.Form):
    kind = forms.ChoiceField(label=_("Change to"), choices=ChangeRequest.Kind.choices)
    title = forms.CharField(label=_("Title"), max_length=200)
    description = _text(_("Description of the change"), 3)
    reason = _text(_("Reason for the change"), 2)
    risk_level = forms.ChoiceField(label=_("Risk"), choices=ChangeRequest.Risk.choices)
    risk_assessment = _text(_("Risk assessment"), 3)
    affected_versions = forms.ModelMultipleChoiceField(
        label=_("Affected product versions"), queryset=None, required=False
    )
    affected_items = _text(
        _("Other affected items (equipment codes, document numbers and versions)"), 2, False
    )

    def __init__(self, *args: Any, versions: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["affected_versions"].queryset = versions  # type: ignore[attr-defined]


class StepForm(forms.Form):
    note = _text(_("Note"), 3)


class OptionalStepForm(forms.Form):
    note = _text(_("Note"), 2, False)


class ApproveForm(SignForm):
    pass
