"""批量人员进场 as a job: the upload stored the workbook with its import report; the worker reads and enters it."""
from __future__ import annotations

from ..store import roster_import
from .registry import JobContext, JobKind


async def run(ctx: JobContext, job: dict) -> dict:
    return await roster_import.run_import(ctx.db, job["params"]["import_id"], resumed=ctx.resumed,
                                          pause=ctx.config.import_test_pause_seconds)


KIND = JobKind(roster_import.JOB_KIND, run)
