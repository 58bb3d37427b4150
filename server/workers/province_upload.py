"""上传省厅 as a periodic job: one pipeline pass (server/province/pipeline.py) per interval, on one worker.

Off unless REALNAME_PROVINCE_URL is set (the run then answers at once without touching anything). The
pass's figures — records per second, and what waits, is in flight or failed per kind — go to the
worker's log and are the job's stored result, read by whoever shows them (jobs.get(db, periodic_id)).
"""
from __future__ import annotations

import asyncio
import logging

from ..province import pipeline
from ..province.client import HttpPlatform
from ..store import jobs, upload_results
from ..store.db import utcnow
from .registry import JobContext, JobKind

NAME = upload_results.UPLOAD_JOB_NAME
JOB_ID = jobs.periodic_id(NAME)

log = logging.getLogger("realname.worker.province")


def _test_pause(ctx: JobContext) -> pipeline.Checkpoint:
    """REALNAME_PROVINCE_TEST_PAUSE_AT: stop for good at that point, after saying so in the job's progress,
    so a test kills the worker exactly there (the lease is still renewed: nobody takes over until the kill)."""
    point_wanted = ctx.config.province_test_pause_at

    async def checkpoint(point: str, ids: list[str]) -> None:
        if point != point_wanted:
            return
        await ctx.progress({"paused_at": point, "ids": ids})
        log.warning("upload paused for a test at %s (%s)", point, ", ".join(ids))
        await asyncio.Event().wait()
    return checkpoint


async def run(ctx: JobContext, job: dict) -> dict:
    if not ctx.config.province_url:
        return {"skipped": "REALNAME_PROVINCE_URL is not set"}
    if ctx.config.province_test_pause_at and ctx.config.province_test_pause_at not in pipeline.CHECKPOINTS:
        raise ValueError(f"REALNAME_PROVINCE_TEST_PAUSE_AT must be one of {pipeline.CHECKPOINTS}")
    # Taken over from a killed worker: the records it claimed have no live sender (this job is the one
    # sender, and runs on one worker at a time), so they go back now rather than after the claim lease.
    claims_before = job["started_at"] if ctx.resumed else None
    checkpoint = _test_pause(ctx) if ctx.config.province_test_pause_at else pipeline.no_checkpoint
    report = await pipeline.run_once(ctx.db, HttpPlatform.from_config(ctx.config), ctx.config,
                                     claims_before=claims_before, checkpoint=checkpoint)
    summary = report.summary()
    previous = (await jobs.get(ctx.db, JOB_ID) or {}).get("result")
    return {**summary, "recent": upload_results.recent_passes(previous, summary, utcnow())}


KIND = JobKind(NAME, run, every=lambda config: config.province_upload_seconds)
