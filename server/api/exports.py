"""Excel exports: one sheet, a bold header row, every text cell neutralised against formula injection.

A cell that starts with = + - @ (or a tab / carriage return, which some spreadsheet programs strip
before looking) would be run as a formula by whoever opens the file; such text gets a leading
apostrophe-free quote character (a single ') so it shows exactly as typed and never runs.
"""
from __future__ import annotations

import datetime as dt
import io
from typing import Any, Iterable, Sequence

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from ..domain.site_clock import SITE_TZ

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        value = value.astimezone(SITE_TZ) if value.tzinfo else value
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (int, float)):
        return value
    text = str(value)
    if text.startswith(_DANGEROUS_START):
        return "'" + text
    return text


def xlsx_bytes(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31] or "Sheet1")
    bold = Font(bold=True)
    header_cells = []
    for name in headers:
        cell = WriteOnlyCell(sheet, value=safe_cell(name))
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        sheet.append([safe_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export_filename(stem: str, extension: str = "xlsx") -> str:
    return f"{stem}_{dt.datetime.now(SITE_TZ).strftime('%Y%m%d%H%M%S')}.{extension}"
