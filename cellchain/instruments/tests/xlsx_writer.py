"""Build Vi-CELL XR workbooks in the documented layout (no real XR workbook could be obtained; see SOURCES.md).

Layout from Benchling's allotropy ``beckman_vi_cell_xr`` reader (info in A1:A3, headings split over two
rows starting row 5 for 2.06, data below, a hidden invalid first data row). The committed
``vicell_xr_workbook.xlsx`` was made by :func:`vicell_xr_workbook` with :data:`CLB_SAMPLES`, whose values
are those allotropy's expected output gives for its public example ``Beckman_Vi-Cell-XR_example01``.
Run ``python -m cellchain.instruments.tests.xlsx_writer`` to rebuild it.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

UPPER = ["Sample ID", "File name", "Cell type", "Dilution", "Sample date/time", "Total cells", "Viable cells",
         "Viability", "Total cells", "Viable cells", "Avg. diam.", "Avg. circ."]  # fmt: skip
LOWER = [None, None, None, "factor", None, None, None, "(%)", "/ml (x10^6)", "/ml (x10^6)", "(microns)", None]

CLB_SAMPLES: list[list[Any]] = [
    # Sample ID, File name, Cell type, Dilution, date, total, viable, viability, total/ml, viable/ml, diam, circ
    ["CLB001", "CLB001.txt", "Tcell", 100, "31 Aug 2021  4:31:23 PM", 135, 68, 50.4, 15.5, 7.8, 5.12, 0.709],
    ["CLB002", "CLB002.txt", "Tcell", 10, "31 Aug 2021  4:37:04 PM", 985, 435, 44.2, 11.3, 4.99, 4.89, 0.76],
    ["CLB003", "CLB003.txt", "Tcell", 10, "31 Aug 2021  4:40:19 PM", 636, 254, 39.9, 7.3, 2.91, 5.16, 0.777],
    ["CLB004", "CLB004.txt", "Tcell", 10, "31 Aug 2021  4:43:31 PM", 949, 441, 46.5, 10.9, 5.06, 5.26, 0.759],
    ["CLB005", "CLB005.txt", "Tcell", 10, "31 Aug 2021  4:46:45 PM", 936, 396, 42.3, 10.7, 4.54, 5.18, 0.778],
]


def vicell_xr_workbook(
    samples: list[list[Any]] | None = None,
    *,
    hidden_first_row: bool = True,
    model: str = "Vi-CELL XR 2.06.3",
    upper: list[str] | None = None,
) -> bytes:
    """An XLSX in the Vi-CELL XR export layout with ``samples`` rows (default :data:`CLB_SAMPLES`)."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Sheet1"
    sheet["A1"] = model
    sheet["A2"] = r"C:\Documents and Settings\All Users\Vi-CELL\Export\CLB.xlsx"
    sheet["A3"] = "Unit S/N : AW123456789"
    sheet["A4"] = "Bioprocess:"
    for col, (top, bottom) in enumerate(zip(upper or UPPER, LOWER, strict=True), start=1):
        sheet.cell(5, col, top)
        if bottom is not None:
            sheet.cell(6, col, bottom)
    row = 7
    if hidden_first_row:
        for col, code in enumerate([0, 1, 2, 10, 11, 12, 13, 14, 15, 16, 17, 18], start=1):
            sheet.cell(row, col, code)
        sheet.row_dimensions[row].hidden = True
        row += 1
    for sample in CLB_SAMPLES if samples is None else samples:
        for col, value in enumerate(sample, start=1):
            sheet.cell(row, col, value)
        row += 1
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


if __name__ == "__main__":
    target = Path(__file__).parent / "data" / "vicell_xr_workbook.xlsx"
    target.write_bytes(vicell_xr_workbook())
    print(f"wrote {target} ({target.stat().st_size} bytes)")
