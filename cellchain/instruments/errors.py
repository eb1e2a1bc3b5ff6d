"""The one error every instrument reader raises for a file it cannot trust (Q-2.3-a, X-5 style errors).

A reader either returns a complete, validated result or raises :class:`InstrumentFileError`; nothing is
half-returned. The error names the file, where the problem is (a byte offset for binary formats such as
FCS, a 1-based line and optionally a column for text exports) and why, so a person can act on it.
"""

from __future__ import annotations


class InstrumentFileError(ValueError):
    """An instrument file is truncated, corrupt, inconsistent or in a form CellChain does not accept.

    ``file`` is the name the caller gave the data (usually the file name), ``reason`` says what is wrong
    and, where it helps, what to do. Exactly one of ``offset`` (byte offset from the start of the file) or
    ``line`` (1-based text line, or the row of a workbook) is normally set; ``column`` names the CSV or
    sheet column when one is at fault, ``cell`` the workbook cell (``Sheet1!H7``).
    """

    def __init__(
        self,
        file: str,
        reason: str,
        *,
        offset: int | None = None,
        line: int | None = None,
        column: str | None = None,
        cell: str | None = None,
    ) -> None:
        self.file = file
        self.reason = reason
        self.offset = offset
        self.line = line
        self.column = column
        self.cell = cell
        super().__init__(self._message())

    def _message(self) -> str:
        where: list[str] = []
        if self.offset is not None:
            where.append(f"byte offset {self.offset}")
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        if self.cell is not None:
            where.append(f"cell {self.cell}")
        location = f" ({', '.join(where)})" if where else ""
        return f"{self.file}{location}: {self.reason}"

    def __reduce__(self) -> tuple[object, ...]:
        # Keeps the error picklable (hypothesis and multiprocessing re-raise copies of it).
        return (_rebuild, (self.file, self.reason, self.offset, self.line, self.column, self.cell))


def _rebuild(
    file: str,
    reason: str,
    offset: int | None,
    line: int | None,
    column: str | None,
    cell: str | None = None,
) -> InstrumentFileError:
    return InstrumentFileError(file, reason, offset=offset, line=line, column=column, cell=cell)
