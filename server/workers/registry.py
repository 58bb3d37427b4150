"""What a job kind is: a name, the coroutine that runs one job, and for periodic kinds the interval."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from pymongo.asynchronous.database import AsyncDatabase

from ..config import Config
from ..store import jobs


@dataclass
class JobContext:
    """What a running job may use: the database, the settings, and its own progress record."""
    db: AsyncDatabase
    config: Config
    job: dict

    @property
    def resumed(self) -> bool:
        """An earlier worker took this job and did not finish it (it was killed): some work may be done."""
        return self.job["attempts"] > 1

    async def progress(self, progress: dict) -> None:
        await jobs.set_progress(self.db, self.job, progress)


Run = Callable[[JobContext, dict], Awaitable[Any]]


@dataclass(frozen=True)
class JobKind:
    name: str
    run: Run
    # Periodic kinds: seconds between runs, read from the settings.
    every: Callable[[Config], float] | None = None

    def interval(self, config: Config) -> float | None:
        return self.every(config) if self.every else None
