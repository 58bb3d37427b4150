"""openpyxl 3.1 looks for a sheet's <dimension> on iterparse *end* events, so for a sheet without
one it parses the whole sheet (60 MB of XML: a minute) before the first row can be read, and no
row limit can stop it. Importing this module makes read-only sheets look for <dimension> on
start events and give up at <sheetData>'s start, which is what the original meant to do."""
from __future__ import annotations

from xml.etree.ElementTree import iterparse

from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet._reader import DATA_TAG, DIMENSION_TAG
from openpyxl.worksheet.dimensions import SheetDimension


def _get_size(self) -> None:
    with self._get_source() as source:
        for _event, element in iterparse(source, events=("start",)):
            if element.tag == DIMENSION_TAG:
                dimension = SheetDimension(ref=element.get("ref"))
                self._min_column, self._min_row, self._max_column, self._max_row = dimension.boundaries
                return
            if element.tag == DATA_TAG:
                return  # no dimension: rows are counted as they are read


ReadOnlyWorksheet._get_size = _get_size
