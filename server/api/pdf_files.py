"""Whether uploaded bytes are a PDF document, not merely bytes that start with "%PDF-"."""
from __future__ import annotations

import io
import logging

from pypdf import PdfReader

# pypdf reports every repair it makes on a damaged file; one upload must not fill the log.
logging.getLogger("pypdf").setLevel(logging.ERROR)


def readable(data: bytes) -> bool:
    """True when the cross-reference table and page tree parse and there is at least one page."""
    try:
        return len(PdfReader(io.BytesIO(data)).pages) > 0
    except Exception:  # any failure of the parser on hostile bytes means "not a PDF", never a 500
        return False
