"""Is a device's clock believable? Devices with wrong clocks are common; their punches are kept and flagged."""
from __future__ import annotations

import datetime as dt

FUTURE = "future_time"
PAST = "past_time"


def clock_flags(device_time_utc: dt.datetime, received_at: dt.datetime, *,
                future_minutes: float, past_days: float) -> list[str]:
    """Flags for a punch whose device time is implausibly far from the moment it arrived.

    Offline buffers are re-sent hours or days later, so "past" must be generous; a punch from
    the future can only be a wrong clock, so "future" is tight.
    """
    delta = device_time_utc - received_at
    if delta > dt.timedelta(minutes=future_minutes):
        return [FUTURE]
    if -delta > dt.timedelta(days=past_days):
        return [PAST]
    return []
