"""Forms of the archive and scanned-record pages (issue 13 item 9)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cellchain.records.models import ITEM_LABELS, RestoreTest
from cellchain.signatures.forms import SignForm


class OpenForm(forms.Form):
    coi = forms.CharField(label=_("Chain-of-identity identifier"), max_length=20)


class TickForm(forms.Form):
    item = forms.ChoiceField(label=_("Item"), choices=[(i.value, label) for i, label in ITEM_LABELS.items()])
    evidence = forms.CharField(
        label=_("Evidence (where the record is, what it is)"), widget=forms.Textarea(attrs={"rows": 2})
    )
    scanned_document = forms.ModelChoiceField(
        label=_("Scanned document (optional)"), queryset=None, required=False
    )

    def __init__(self, *args: Any, scans: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scanned_document"].queryset = scans  # type: ignore[attr-defined]


class UntickForm(forms.Form):
    reason = forms.CharField(label=_("Reason for withdrawing the tick"), max_length=500)


class CloseForm(SignForm):
    archive_location = forms.CharField(
        label=_("Archive location of the record set (room, cabinet)"), max_length=200
    )


class ScanForm(forms.Form):
    record_type = forms.CharField(
        label=_("Record scanned: type (as the ledger names it, e.g. journeys.consent)"), max_length=80
    )
    record_id = forms.CharField(label=_("Record scanned: id"), max_length=64)
    title = forms.CharField(label=_("Title"), max_length=200)
    file = forms.FileField(label=_("Scanned file"))
    paper_archive = forms.CharField(label=_("Paper archive (room)"), max_length=120)
    paper_shelf = forms.CharField(label=_("Shelf"), max_length=60)
    paper_box = forms.CharField(label=_("Box or folder"), max_length=60)


class RetentionForm(forms.Form):
    record_type = forms.CharField(label=_("Record type"), max_length=80)
    record_id = forms.CharField(label=_("Record id"), max_length=64)


class RestoreTestForm(forms.Form):
    backup_name = forms.CharField(label=_("Backup file"), max_length=255)
    backup_sha256 = forms.CharField(label=_("SHA-256 of the backup file"), max_length=64)
    tree_size = forms.IntegerField(label=_("Ledger size after the restore"), min_value=0)
    root_hash = forms.CharField(label=_("Ledger root after the restore (hex)"), max_length=64)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=RestoreTest.Outcome.choices)
    tested_on = forms.DateField(label=_("Tested on"), widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
