"""The attendance rollups kept current: a periodic kind that folds the punches received since its resume token.

Periodic rather than one job tailing for ever: a worker runs one job at a time, so a tail holding its
lease would keep that worker from imports and mail. Each pass resumes the punch change stream from
the token in rollup_state (catching up from the received-time watermark if the stream cannot
resume), folds until the stream is idle, saves the token and ends; the next pass is due
REALNAME_ROLLUP_FOLD_SECONDS after this one started, so a punch is in the rollups within that
interval plus one worker poll of its acknowledgement. A periodic interval runs on exactly one worker,
and folding is idempotent (set unions, min / max): a pass cut off by a dying worker and run again
from the last saved token counts nothing twice.
"""
from __future__ import annotations

import time

from ..store import rollup_months
from ..store.rollups import PunchTail
from .registry import JobContext, JobKind

# A pass ends when the stream is idle, or after this long (plus the batch then folding: at most
# TAIL_BATCH punches, seconds), so that a flood of punches does not hold the worker from its other
# jobs; the next pass carries on from the saved token.
PASS_SECONDS = 40.0


async def run(ctx: JobContext, job: dict) -> dict:
    tail = PunchTail(ctx.db)
    started = time.monotonic()
    try:
        await tail.open()
        while await tail.step() and time.monotonic() - started < PASS_SECONDS:
            pass
    finally:
        await tail.close()
    # The month pages read the month rollup: carry this pass's project-days into it.
    months = await rollup_months.refresh(ctx.db)
    return {"folded": tail.folded, "month_days": months}


KIND = JobKind("rollup_fold", run, every=lambda config: config.rollup_fold_seconds)
