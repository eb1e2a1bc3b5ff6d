"""The system's own records read as evidence for the self-assessment (issue 14 item 2).

Four registers answer items: the clinic-manufacturer agreements (T-8.2.2-h), the equipment register by kind
(T-5.2.7 a-d) and by due dates (G-6 equipment, T-10.12), and the training and health-check records of the
preparation and QC staff (G-6 personnel, T-5.1.9-1). Each register is read once per checklist, whatever the
number of items or records, so the page costs the same queries as the data grow. No other item has a register
in CellChain yet (documents, areas with HVAC, archive, on-call directory, expert roster): those are answered
by hand with their evidence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import Prefetch
from django.urls import reverse
from django.utils.translation import gettext as _

from cellchain.accounts.models import Qualification, Site, User
from cellchain.accounts.roles import Role
from cellchain.clinic.models import Agreement
from cellchain.domain import self_assessment as sa
from cellchain.manufacturing.models import Equipment

# The people T-5.1.9 asks to be trained and healthy: 制备人员和质量检测人员.
PREPARATION_AND_QC_ROLES = (Role.PRODUCTION_OPERATOR, Role.QC_ANALYST)


def _ref(record: Any, label: str) -> sa.RecordRef:
    return sa.RecordRef(record._meta.label_lower, str(record.pk), label)


def agreement_facts(site: Site) -> list[sa.AgreementFact]:
    """The site's agreements not voided (one query)."""
    rows = Agreement.objects.filter(site=site, voided_at__isnull=True).select_related("product")
    return [
        sa.AgreementFact(
            _ref(a, f"{a.product.code} · {a.attachment_ref}"[:120]),
            a.effective_from,
            a.effective_until,
            bool(a.items.get("h_responsibilities")),
            a.attachment_ref,
        )
        for a in rows
    ]


def device_facts(site: Site) -> list[sa.DeviceFact]:
    """The site's equipment register (one query)."""
    rows = Equipment.objects.filter(site=site, voided_at__isnull=True)
    return [
        sa.DeviceFact(_ref(e, e.code), e.kind, e.in_service, e.calibration_due, e.maintenance_due)
        for e in rows
    ]


def person_facts(site: Site) -> list[sa.PersonFact]:
    """Active preparation and QC people of the site with their qualifications not revoked (two queries)."""
    current = Qualification.objects.filter(revoked_at__isnull=True, voided_at__isnull=True)
    people = (
        User.objects.filter(
            site=site,
            is_active=True,
            role_assignments__role__in=PREPARATION_AND_QC_ROLES,
            role_assignments__revoked_at__isnull=True,
        )
        .distinct()
        .order_by("username")
        .prefetch_related(Prefetch("qualifications", queryset=current))
    )
    return [
        sa.PersonFact(
            _ref(person, person.printed_name or person.username),
            tuple(
                sa.QualificationFact(sa.QualificationKind(q.kind), q.valid_from, q.valid_until)
                for q in person.qualifications.all()
            ),
        )
        for person in people
    ]


def suggestions_for(
    site: Site, items: Iterable[sa.ChecklistItem], today: dt.date
) -> dict[str, sa.Suggestion]:
    """The answer of the system's records for each auto-answered item of `items`; each register read once."""
    wanted = [item for item in items if item.auto is not None]
    needs = {item.auto for item in wanted}
    devices = (
        device_facts(site)
        if needs & {sa.AutoEvidence.EMERGENCY_EQUIPMENT, sa.AutoEvidence.EQUIPMENT_CALIBRATION}
        else []
    )
    agreements = agreement_facts(site) if sa.AutoEvidence.AGREEMENT_RESPONSIBILITIES in needs else []
    people = person_facts(site) if sa.AutoEvidence.STAFF_TRAINING in needs else []
    answers: dict[str, sa.Suggestion] = {}
    for item in wanted:
        if item.auto == sa.AutoEvidence.AGREEMENT_RESPONSIBILITIES:
            answers[item.code] = sa.agreement_suggestion(agreements, today)
        elif item.auto == sa.AutoEvidence.EMERGENCY_EQUIPMENT:
            answers[item.code] = sa.emergency_equipment_suggestion(item.equipment_kind, devices, today)
        elif item.auto == sa.AutoEvidence.EQUIPMENT_CALIBRATION:
            answers[item.code] = sa.equipment_calibration_suggestion(devices, today)
        elif item.auto == sa.AutoEvidence.STAFF_TRAINING:
            answers[item.code] = sa.staff_training_suggestion(people, today)
    return answers


# --------------------------------------------------------------------------- what a suggestion says, translated


def reason_text(reason: sa.Reason) -> str:
    """One reason of a suggestion as a sentence in the reader's language."""
    texts = {
        "agreement_in_force": _(
            "%(value)s agreement(s) in force name both parties' responsibilities (item h)."
        ),
        "no_agreement": _("No agreement with a manufacturer is recorded for this site."),
        "no_agreement_in_force": _("No agreement of this site is in force today."),
        "no_device_of_kind": _("The equipment register of this site holds no device of kind “%(subject)s”."),
        "device_usable": _("%(value)s device(s) of kind “%(subject)s” in service and within calibration."),
        "out_of_service": _("%(subject)s is out of service."),
        "calibration_overdue": _("%(subject)s: calibration was due on %(value)s."),
        "maintenance_overdue": _("%(subject)s: maintenance was due on %(value)s."),
        "no_equipment": _("The equipment register of this site holds no equipment in service."),
        "equipment_current": _(
            "All %(value)s equipment item(s) in service are within calibration and maintenance."
        ),
        "no_staff": _("No active preparation or QC person is recorded at this site."),
        "training_missing": _("%(subject)s has no current training record."),
        "health_missing": _("%(subject)s has no current health check on file."),
        "staff_current": _(
            "All %(value)s preparation and QC people hold current training and health checks."
        ),
    }
    text = texts.get(reason.code)
    if text is None:
        return reason.code
    return text % {"subject": reason.subject, "value": reason.value}


# The page that shows each kind of record, and the permission that opens it.
_RECORD_PAGES = {
    "clinic.agreement": ("clinic:products", "clinic.view"),
    "manufacturing.equipment": ("manufacturing:equipment", "manufacturing.view"),
    "accounts.user": ("accounts:people", "accounts.view_people"),
}


def record_path(ref: sa.RecordRef, viewer: Any | None = None) -> str:
    """The page where the record a suggestion rests on is shown, if `viewer` may open it ("" otherwise)."""
    from cellchain.core.permissions import has_permission

    page = _RECORD_PAGES.get(ref.record_type)
    if page is None or (viewer is not None and not has_permission(viewer, page[1])):
        return ""
    return reverse(page[0])
