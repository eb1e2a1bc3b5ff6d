"""The printed subject code directory (受试者编码目录, T-10.9): for the study's hospital only (X-7).

Set with the signatures' Chinese CID font (cellchain.signatures.pdf), so Chinese names print without a font
file. Each page says it is confidential and stays at the hospital.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from cellchain.core import clock
from cellchain.signatures.pdf import register_cjk_font


def directory_pdf(study: Any, rows: Sequence[Any]) -> bytes:
    """The study's code-to-person list as a PDF: COI, pseudonym, name, birth date, record number, status."""
    font = register_cjk_font()
    heading = ParagraphStyle("heading", fontName=font, fontSize=13, leading=17)
    body = ParagraphStyle("body", fontName=font, fontSize=8, leading=10.5)
    approval = study.approval
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, title=_("Subject code directory"), leftMargin=15 * mm, rightMargin=15 * mm
    )
    header = [
        _("COI"),
        _("Pseudonym"),
        _("Patient name"),
        _("Birth date"),
        _("Hospital record number"),
        _("Status"),
    ]
    table_rows: list[list[Any]] = [[Paragraph(text, body) for text in header]]
    for row in rows:
        table_rows.append(
            [
                Paragraph(text, body)
                for text in (
                    row.coi,
                    row.pseudonym,
                    row.name or _("no identity record"),
                    row.birth_date.isoformat() if row.birth_date else "—",
                    row.hospital_record_number or "—",
                    str(row.status),
                )
            ]
        )
    table = Table(
        table_rows, colWidths=[w * document.width for w in (0.2, 0.16, 0.2, 0.13, 0.18, 0.13)], repeatRows=1
    )
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    archived = (
        _("Archived on %(day)s by %(name)s; copy kept at: %(where)s")
        % {
            "day": f"{study.directory.archived_at:%Y-%m-%d}",
            "name": study.directory.archived_by.printed_name,
            "where": study.directory.archive_ref,
        }
        if study.directory is not None
        else _("Not yet marked completed and archived.")
    )
    story = [
        Paragraph(_("Subject code directory") + " · 受试者编码目录", heading),
        Spacer(1, 2 * mm),
        Paragraph(
            _("Study: %(protocol)s · ethics approval %(number)s · %(site)s")
            % {"protocol": approval.protocol, "number": approval.number, "site": approval.site.name},
            body,
        ),
        Paragraph(archived, body),
        Paragraph(
            _(
                "Confidential: links codes to persons. Kept at the hospital; never sent to the manufacturer (X-7)."
            ),
            body,
        ),
        Paragraph(_("Printed %(at)s UTC") % {"at": f"{clock.now():%Y-%m-%d %H:%M}"}, body),
        Spacer(1, 4 * mm),
        table,
    ]
    document.build(story)
    return buffer.getvalue()


def _grade_rows(label: str, table: dict[str, Any]) -> list[str]:
    def pct(value: Any) -> str:
        return "" if value is None else f" ({value} %)"

    worst = ", ".join(f"{g['grade']}: {g['subjects']}" for g in table["by_worst_grade"])
    return [
        label,
        str(table["subjects"]),
        f"{table['any_grade']}{pct(table['any_grade_percent'])}",
        f"{table['severe']}{pct(table['severe_percent'])}",
        worst,
    ]


def report_pdf(report: Any, content: dict[str, Any], *, sources_changed: bool | None) -> bytes:
    """A statistical report as printed: scope, tables, every source record, and the signature lines (T-10.10,
    X-4). A draft prints as a draft; an issued report prints its frozen content and hash."""
    from cellchain.signatures.pdf import signature_lines_for, signature_table

    font = register_cjk_font()
    heading = ParagraphStyle("heading", fontName=font, fontSize=13, leading=17)
    body = ParagraphStyle("body", fontName=font, fontSize=8, leading=10.5)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, title=report.number, leftMargin=15 * mm, rightMargin=15 * mm
    )
    state = (
        _("Issued %(at)s · SHA-256 of the frozen content %(sha)s")
        % {"at": f"{report.issued_at:%Y-%m-%d %H:%M} UTC", "sha": report.content_sha256}
        if report.is_issued
        else _("DRAFT: the figures are live and not yet reviewed by the main operator.")
    )
    categories = content["adverse_events"]["by_category"]
    header = [_("Category"), _("Subjects"), _("Any grade"), _("Grade ≥ 3"), _("Subjects by worst grade")]
    rows = [
        header,
        _grade_rows(_("CRS (ASTCT 2019)"), categories["crs"]),
        _grade_rows(_("ICANS (ASTCT 2019)"), categories["icans"]),
        _grade_rows(_("Other (CTCAE v5)"), categories["other"]),
    ]
    table = Table([[Paragraph(str(c), body) for c in row] for row in rows], repeatRows=1)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey)]))
    sources = [
        Paragraph(f"{r['type']}#{r['id']} · {r['label']}", body)
        for part in ("infusions", "adverse_events")
        for r in content[part]["records"]
    ]
    story: list[Any] = [
        Paragraph(f"{report.number} · {report.title}", heading),
        Paragraph(
            _("Site %(site)s · infusions %(since)s – %(until)s · main operator %(name)s")
            % {
                "site": report.site.name,
                "since": content["period"]["from"],
                "until": content["period"]["to"],
                "name": report.main_operator.printed_name,
            },
            body,
        ),
        Paragraph(state, body),
    ]
    if sources_changed:
        story.append(
            Paragraph(_("The source records changed since issue; this printout is the issued report."), body)
        )
    story += [
        Spacer(1, 3 * mm),
        Paragraph(
            _("Subjects infused: %(n)s · infusions: %(i)s · serious AEs: %(s)s in %(ss)s subject(s)")
            % {
                "n": content["subjects"]["count"],
                "i": content["infusions"]["count"],
                "s": content["adverse_events"]["serious_events"],
                "ss": content["adverse_events"]["serious_subjects"],
            },
            body,
        ),
        Spacer(1, 2 * mm),
        table,
        Spacer(1, 3 * mm),
        Paragraph(_("Source records"), body),
        *sources,
        Spacer(1, 4 * mm),
        signature_table(signature_lines_for(report), width=document.width),
    ]
    document.build(story)
    return buffer.getvalue()
