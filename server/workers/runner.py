"""The worker loop: claim a job, run it while renewing its lease, record how it ended, repeat."""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import traceback
import uuid

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from ..config import Config
from ..cpu_priority import lower_priority
from ..store import jobs
from .registry import JobContext, JobKind

log = logging.getLogger("realname.worker")


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    def __init__(self, config: Config, db: AsyncDatabase, kinds: dict[str, JobKind] | None = None,
                 name: str | None = None):
        if kinds is None:
            from .kinds import KINDS
            kinds = KINDS
        self.config, self.db, self.kinds = config, db, kinds
        self.name = name or worker_name()
        self.stopping = asyncio.Event()

    @property
    def lease(self) -> float:
        return self.config.worker_lease_seconds

    async def run(self) -> None:
        for kind in self.kinds.values():
            if kind.every is not None:
                await jobs.ensure_periodic(self.db, kind.name)
        log.info("worker %s ready (kinds: %s)", self.name, ", ".join(self.kinds))
        while not self.stopping.is_set():
            try:
                job = await jobs.claim(self.db, self.name, self.lease)
            except PyMongoError:
                log.warning("worker %s cannot reach the database; retrying", self.name, exc_info=True)
                job = None
            if job is None:
                try:
                    await asyncio.wait_for(self.stopping.wait(), self.config.worker_poll_seconds)
                except asyncio.TimeoutError:
                    pass
                continue
            await self.run_one(job)

    async def run_one(self, job: dict) -> None:
        kind = self.kinds.get(job["kind"])
        interval = kind.interval(self.config) if kind else None
        if kind is None:
            await jobs.settle(self.db, job, error=f"unknown job kind {job['kind']!r}")
            return
        if job["attempts"] > job.get("max_attempts", jobs.MAX_ATTEMPTS) and interval is None:
            log.error("job %s (%s) cut off its worker %d times; giving up", job["_id"], job["kind"], job["attempts"] - 1)
            await jobs.settle(self.db, job, error=f"stopped after {job['attempts'] - 1} interrupted attempts")
            return
        log.info("worker %s runs %s job %s (attempt %d)", self.name, job["kind"], job["_id"], job["attempts"])
        task = asyncio.create_task(kind.run(JobContext(self.db, self.config, job), job))
        stopping = asyncio.create_task(self.stopping.wait())
        try:
            while not task.done():
                await asyncio.wait({task, stopping}, timeout=self.lease / 3, return_when=asyncio.FIRST_COMPLETED)
                if task.done():
                    break
                if self.stopping.is_set():
                    await self._cancel(task)
                    await jobs.release(self.db, job)
                    log.info("worker %s stopping: job %s handed back", self.name, job["_id"])
                    return
                try:
                    kept = await jobs.renew(self.db, job, self.lease)
                except PyMongoError:
                    # The database is away for a moment: keep working; if the lease runs out
                    # meanwhile, the next renewal says so and the job goes to whoever took it.
                    log.warning("worker %s could not renew its lease on job %s", self.name, job["_id"])
                    continue
                if not kept:
                    # Taken over (this worker stalled past its lease): the other worker carries on.
                    await self._cancel(task)
                    log.warning("worker %s lost the lease on job %s", self.name, job["_id"])
                    return
        finally:
            stopping.cancel()
        try:
            result = task.result()
        except Exception as exc:
            log.error("job %s (%s) failed:\n%s", job["_id"], job["kind"], traceback.format_exc())
            await jobs.settle(self.db, job, error=f"{type(exc).__name__}: {exc}", interval=interval)
        else:
            await jobs.settle(self.db, job, result=result, interval=interval)

    @staticmethod
    async def _cancel(task: asyncio.Task) -> None:
        task.cancel()
        try:
            await task
        except BaseException:  # noqa: BLE001 — whatever it raised while being cancelled, it is over
            pass


async def run_worker(config: Config, db: AsyncDatabase) -> None:
    # Here, not before the database is opened: an embedded database this worker started is not its to slow.
    lower_priority(config.worker_nice)
    worker = Worker(config, db)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, worker.stopping.set)
    await worker.run()
