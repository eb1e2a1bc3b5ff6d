"""The clause-by-clause compliance report of a site: rows, CSV and their SHA-256 (issue 14 item 3).

Every clause of the catalogue that applies to the site's kind (`cellchain.domain.compliance`), its state and
the records that show it, gaps first. CHECKLIST clauses take their state from the self-assessment answers;
the clauses listed in `EVIDENCE` show the count of the site's records that evidence them, with the page that
lists them; every other clause is "not assessed by the system". The report costs a fixed number of queries:
the checklist's (answers and its evidence registers) plus one count per `EVIDENCE` register.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cellchain.accounts.models import Site
from cellchain.assessment import selectors
from cellchain.clinic.models import Agreement, RiskPlan
from cellchain.core.permissions import has_permission
from cellchain.domain import compliance as cc
from cellchain.domain import self_assessment as sa
from cellchain.journeys.models import Collection, EthicsApproval, Journey
from cellchain.logistics.models import ReceiptInspection
from cellchain.manufacturing.models import Batch, Equipment, ProductionArea
from cellchain.quality.models import Deviation


@dataclass(frozen=True)
class Register:
    """A register of the system whose records at a site show some clauses."""

    label: Promise
    clauses: frozenset[str]
    rows: Callable[[Site], QuerySet[Any]]
    page: str  # URL name of the page listing them
    permission: str


def _alive(queryset: QuerySet[Any]) -> QuerySet[Any]:
    return queryset.filter(voided_at__isnull=True)


# Only registers whose rows are, by themselves, the record the clause asks for. A count says the records exist,
# not that each is right: the state is "records held", never "met".
EVIDENCE: tuple[Register, ...] = (
    Register(
        gettext_lazy("ethics approvals"),
        frozenset({"T-5.2.2"}),
        lambda s: _alive(EthicsApproval.objects.filter(site=s)),
        "journeys:list",
        "journeys.view",
    ),
    Register(
        gettext_lazy("clinic-manufacturer agreements"),
        frozenset({"T-8.2.2"}),
        lambda s: _alive(Agreement.objects.filter(site=s)),
        "clinic:products",
        "clinic.view",
    ),
    Register(
        gettext_lazy("risk plans"),
        frozenset({"T-9.1.1", "T-9.1.2"}),
        lambda s: _alive(RiskPlan.objects.filter(site=s)),
        "clinic:risk_plans",
        "clinic.view",
    ),
    Register(
        gettext_lazy("receipt inspection records"),
        frozenset({"T-8.1.1", "T-8.1.7"}),
        lambda s: _alive(ReceiptInspection.objects.filter(shipment__to_site=s)),
        "logistics:shipments",
        "logistics.view",
    ),
    Register(
        gettext_lazy("PBMC collections with their unique ID"),
        frozenset({"T-10.6"}),
        lambda s: _alive(Collection.objects.filter(site=s)),
        "journeys:list",
        "journeys.view",
    ),
    Register(
        gettext_lazy("patient journeys (chain of identity)"),
        frozenset({"T-10.4", "T-8.2.2-f"}),
        lambda s: _alive(Journey.objects.filter(Q(hospital_site=s) | Q(manufacturer_site=s))),
        "journeys:list",
        "journeys.view",
    ),
    Register(
        gettext_lazy("deviations"),
        frozenset({"T-6.4-f", "T-10.15", "G-5"}),
        lambda s: _alive(Deviation.objects.filter(site=s)),
        "quality:deviations",
        "quality.view_deviations",
    ),
    Register(
        gettext_lazy("equipment register entries"),
        frozenset({"T-10.12"}),
        lambda s: _alive(Equipment.objects.filter(site=s)),
        "manufacturing:equipment",
        "manufacturing.view",
    ),
    Register(
        gettext_lazy("production areas"),
        frozenset({"T-5.1.3"}),
        lambda s: _alive(ProductionArea.objects.filter(site=s)),
        "manufacturing:areas",
        "manufacturing.view",
    ),
    Register(
        gettext_lazy("batch records"),
        frozenset({"T-7.1"}),
        lambda s: _alive(Batch.objects.filter(site=s)),
        "manufacturing:batches",
        "manufacturing.view",
    ),
)


@dataclass(frozen=True)
class Evidence:
    """What shows a clause: a label, a count of records (or an answer's evidence), and a page ("" if none)."""

    label: str
    count: int | None
    path: str


@dataclass(frozen=True)
class ReportRow:
    clause: cc.Clause
    state: cc.ClauseState
    evidence: tuple[Evidence, ...]
    items: tuple[selectors.ChecklistRow, ...]

    @property
    def gap(self) -> bool:
        return self.state in cc.GAPS


STATE_LABELS = {
    cc.ClauseState.NOT_MET: gettext_lazy("Not met"),
    cc.ClauseState.REVIEW_OVERDUE: gettext_lazy("Review overdue"),
    cc.ClauseState.NOT_ANSWERED: gettext_lazy("Not answered"),
    cc.ClauseState.MET: gettext_lazy("Met"),
    cc.ClauseState.NOT_APPLICABLE: gettext_lazy("Not applicable"),
    cc.ClauseState.RECORDS_HELD: gettext_lazy("Records held"),
    cc.ClauseState.NO_RECORDS: gettext_lazy("No records yet"),
    cc.ClauseState.NOT_ASSESSED: gettext_lazy("Not assessed by the system"),
    cc.ClauseState.OUT_OF_SCOPE: gettext_lazy("Not a software concern"),
}


def _page(register: Register, viewer: Any | None) -> str:
    if viewer is not None and not has_permission(viewer, register.permission):
        return ""
    return reverse(register.page)


def _answer_evidence(row: selectors.ChecklistRow) -> Evidence:
    answer = row.answer
    if answer is None:
        unanswered = _("not answered")
        return Evidence(f"{row.item.code}: {unanswered}", None, "")
    shown = (
        answer.evidence_reference
        or answer.evidence_link
        or (answer.evidence_file and answer.evidence_file.name)
    )
    reviewer = answer.reviewed_by.printed_name or answer.reviewed_by.username
    next_review = _("next review")
    label = (
        f"{row.item.code}: {answer.get_answer_display()} · {shown or answer.note} · {reviewer} "
        f"{answer.reviewed_at:%Y-%m-%d} · {next_review} {answer.next_review:%Y-%m-%d}"
    )
    path = ""
    if answer.evidence_file_id:
        path = reverse("assessment:evidence_file", args=[answer.evidence_file_id])
    elif answer.evidence_link:
        path = answer.evidence_link
    return Evidence(label, None, path)


def report(site: Site, today: dt.date, language: str = "en", viewer: Any | None = None) -> list[ReportRow]:
    """Every clause applying to the site with its state and evidence; gaps first, then by state."""
    kind = selectors.site_kind(site)
    items: dict[str, list[selectors.ChecklistRow]] = {}
    for row in selectors.checklist(site, today, language, viewer=viewer):
        items.setdefault(row.item.clause, []).append(row)
    registers: dict[str, list[Evidence]] = {}
    applying = cc.clauses_for(kind)
    wanted = {c.id for c in applying}
    for register in EVIDENCE:
        if not register.clauses & wanted:
            continue
        found = Evidence(str(register.label), register.rows(site).count(), _page(register, viewer))
        for clause_id in register.clauses:
            registers.setdefault(clause_id, []).append(found)
    rows = []
    for clause in applying:
        if clause.type == cc.ClauseType.CHECKLIST:
            mine = items.get(clause.id, [])
            state = cc.checklist_state([r.state for r in mine])
            rows.append(ReportRow(clause, state, tuple(_answer_evidence(r) for r in mine), tuple(mine)))
            continue
        evidence = registers.get(clause.id)
        count = sum(e.count or 0 for e in evidence) if evidence is not None else None
        rows.append(ReportRow(clause, cc.evidence_state(clause, count), tuple(evidence or ()), ()))
    order = cc.report_order((row.state, position) for position, row in enumerate(rows))
    return [rows[i] for i in order]


def summary(rows: list[ReportRow]) -> dict[str, int]:
    """How many clauses are in each state, and how many are gaps."""
    counts = {state.value: 0 for state in cc.ClauseState}
    for row in rows:
        counts[row.state.value] += 1
    return {**counts, "gaps": sum(row.gap for row in rows), "total": len(rows)}


CSV_COLUMNS = ("clause", "type", "applies_to", "section", "state", "state_label", "gap", "text", "evidence")


def _kinds(clause: cc.Clause) -> str:
    return "+".join(sorted(k.value for k in clause.applies_to))


def _evidence_text(evidence: Evidence) -> str:
    count = "" if evidence.count is None else f"{evidence.count} "
    return f"{count}{evidence.label}{' <' + evidence.path + '>' if evidence.path else ''}"


def report_csv(rows: list[ReportRow]) -> bytes:
    """The report as CSV, UTF-8 with a byte-order mark so that Excel opens the Chinese texts."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                row.clause.id,
                row.clause.type.value,
                _kinds(row.clause),
                row.clause.section,
                row.state.value,
                str(STATE_LABELS[row.state]),
                "yes" if row.gap else "no",
                row.clause.text,
                " | ".join(_evidence_text(e) for e in row.evidence),
            ]
        )
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def content_digest(rows: list[ReportRow]) -> str:
    """SHA-256 of the report's content (its CSV): the same rows give the same digest, on the CSV and the PDF."""
    return hashlib.sha256(report_csv(rows)).hexdigest()


def item_state_label(state: sa.ItemState) -> str:
    return {
        sa.ItemState.UNANSWERED: _("Not answered"),
        sa.ItemState.YES: _("Yes"),
        sa.ItemState.NO: _("No"),
        sa.ItemState.NA: _("Not applicable"),
        sa.ItemState.OVERDUE: _("Review overdue"),
    }[state]
