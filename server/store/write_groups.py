"""Many small writes asked for at once by concurrent tasks, done as few writes.

The embedded server spends ~2 ms on each write command whatever it holds, and about a millisecond per
document it changes: eight senders each storing their answer alone pay the first cost eight times.
A ``WriteGroup`` waits `linger` seconds after the first entry (a few milliseconds: the other senders'
answers arrive meanwhile) and gathers whatever is asked for until its write is done into the next one. Each caller's ``add`` returns only once its own entry is written (callers rely on that order: an
upload's serial code is stored before its outcome is asked for).
"""
from __future__ import annotations

import asyncio
from typing import Awaitable, Callable, Generic, TypeVar

T = TypeVar("T")


class WriteGroup(Generic[T]):
    def __init__(self, write: Callable[[list[T]], Awaitable[object]], *, linger: float = 0.0):
        self._write, self._linger = write, linger
        self._pending: list[tuple[T, asyncio.Future]] = []
        self._writer: asyncio.Task | None = None
        self.writes = 0   # how many writes the entries took (for the pass's log)

    async def add(self, entry: T) -> None:
        done = asyncio.get_running_loop().create_future()
        self._pending.append((entry, done))
        if self._writer is None:
            self._writer = asyncio.ensure_future(self._drain())
        await done

    async def _drain(self) -> None:
        try:
            if self._linger:
                await asyncio.sleep(self._linger)
            while self._pending:
                group, self._pending = self._pending, []
                try:
                    await self._write([entry for entry, _ in group])
                    self.writes += 1
                except Exception as exc:   # each caller sees the failure of its own write
                    for _, done in group:
                        done.set_exception(exc)
                else:
                    for _, done in group:
                        done.set_result(None)
        finally:
            self._writer = None
