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
