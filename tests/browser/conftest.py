"""Fixtures of the browser tests only."""
from __future__ import annotations

import pytest


@pytest.fixture
def wide(chromium):
    """The screen issue 10 was tried on, 1440×900; the session's size is put back afterwards."""
    before = chromium.get_window_size()
    chromium.set_window_size(1440, 900)
    yield chromium
    chromium.set_window_size(before["width"], before["height"])
