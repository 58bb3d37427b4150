"""Mail that SMTP refused or could not take is retried periodically (result mails go out at once from the web)."""
from __future__ import annotations

from ..store import outbox
from .registry import JobContext, JobKind


async def run(ctx: JobContext, job: dict) -> dict:
    return await outbox.deliver(ctx.db, ctx.config, retry_failed=True)


KIND = JobKind("mail_retry", run, every=lambda config: config.mail_retry_seconds)
