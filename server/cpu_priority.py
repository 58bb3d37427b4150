"""A process stepping back on the CPU: the worker's jobs run on what the gateway and the web leave.

On Linux the niceness belongs to a thread, not to the process (setpriority(2), "BUGS"): `os.nice()` in
one thread leaves the others, started earlier (the driver's, an executor's), where they were. So every
thread of the process is set, and threads started afterwards take it from the one that starts them.
"""
from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


def _threads() -> list[int]:
    try:
        return [int(tid) for tid in os.listdir("/proc/self/task")]
    except OSError:   # not Linux: the niceness is the process's
        return [0]


def lower_priority(niceness: int) -> int:
    """Raise this process's niceness to `niceness` (never lower it: that takes privileges and is not
    what a background process asks for); returns the niceness it runs at."""
    for tid in _threads():
        try:
            if os.getpriority(os.PRIO_PROCESS, tid) < niceness:
                os.setpriority(os.PRIO_PROCESS, tid, niceness)
        except ProcessLookupError:   # a thread that ended meanwhile
            continue
    now = os.getpriority(os.PRIO_PROCESS, 0)
    log.info("running at CPU niceness %d", now)
    return now
