"""WriteGroup: entries asked for together go in few writes, each caller returning once its own is written."""
from __future__ import annotations

import asyncio

import pytest

from server.store.write_groups import WriteGroup


def test_concurrent_entries_share_writes_and_each_caller_waits_for_its_own():
    async def main():
        written: list[list[int]] = []

        async def write(entries):
            await asyncio.sleep(0.01)   # a write on its way: what comes meanwhile waits for the next one
            written.append(entries)

        group = WriteGroup(write, linger=0.005)

        async def one(n):
            await asyncio.sleep(0.002 * (n % 4))
            await group.add(n)
            return any(n in w for w in written)   # returned only after a write that held it
        results = await asyncio.gather(*(one(n) for n in range(40)))
        assert all(results)
        assert sorted(n for w in written for n in w) == list(range(40))
        assert group.writes == len(written) < 10
        await group.add(99)   # alone later: written on its own
        assert written[-1] == [99]
    asyncio.run(main())


def test_a_failed_write_fails_its_own_callers_only():
    async def main():
        async def write(entries):
            await asyncio.sleep(0.01)
            if "bad" in entries:
                raise RuntimeError("write refused")

        group = WriteGroup(write)
        first = asyncio.ensure_future(group.add("bad"))
        await asyncio.sleep(0)
        with pytest.raises(RuntimeError):
            await first
        await group.add("good")   # the next write goes on
    asyncio.run(main())
