"""The upload's ID numbers by worker number, kept from pass to pass: read once, bounded, never guessed."""
from __future__ import annotations

import asyncio

from pymongo import AsyncMongoClient, monitoring

from server.province.id_numbers import IdNumbers


class PeopleReads(monitoring.CommandListener):
    def __init__(self):
        self.asked: list[list[int]] = []

    def started(self, event):
        if event.command_name == "find" and event.command.get("find") == "people":
            self.asked.append(sorted(event.command["filter"]["worker_no"]["$in"]))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def test_each_number_is_read_once_and_the_oldest_go_past_the_bound(mongo_uri, db_name, sdb):
    sdb.people.insert_many([{"worker_no": n, "id_number": f"44070319900101{n:04d}"} for n in (1, 2, 3, 4)])
    reads = PeopleReads()

    async def main():
        client = AsyncMongoClient(mongo_uri, event_listeners=[reads])
        db = client[db_name]
        try:
            numbers = IdNumbers(size=3)
            first = await numbers.of(db, [1, 2, 9])           # 9: nobody has it
            again = await numbers.of(db, [1, 2, 3])
            after_bound = await numbers.of(db, [4, 2])        # 4 read, so 1 (least recently used) goes
            last = await numbers.of(db, (n for n in [1]))    # any iterable, a generator too
            return first, again, after_bound, last
        finally:
            await client.close()
    first, again, after_bound, last = asyncio.run(main())
    assert first == {1: {"id_number": "440703199001010001"}, 2: {"id_number": "440703199001010002"}}
    assert again[3] == {"id_number": "440703199001010003"} and set(again) == {1, 2, 3}
    assert set(after_bound) == {2, 4} and last == {1: {"id_number": "440703199001010001"}}
    assert reads.asked == [[1, 2, 9], [3], [4], [1]]


def test_another_database_s_worker_of_the_same_number_is_not_taken_for_this_one(mongo_uri, db_name, sdb):
    sdb.people.insert_one({"worker_no": 1, "id_number": "440703199001010001"})
    other = sdb.client[db_name + "_other"]
    other.people.insert_one({"worker_no": 1, "id_number": "440703199001020002"})

    async def main():
        client = AsyncMongoClient(mongo_uri)
        try:
            numbers = IdNumbers()
            return await numbers.of(client[db_name], [1]), await numbers.of(client[db_name + "_other"], [1])
        finally:
            sdb.client.drop_database(db_name + "_other")
            await client.close()
    here, there = asyncio.run(main())
    assert here[1]["id_number"] == "440703199001010001" and there[1]["id_number"] == "440703199001020002"


def test_numbers_learnt_from_another_read_are_not_read_again(mongo_uri, db_name, sdb):
    sdb.people.insert_many([{"worker_no": n, "id_number": f"44070319900101{n:04d}"} for n in (1, 2)])
    reads = PeopleReads()

    async def main():
        client = AsyncMongoClient(mongo_uri, event_listeners=[reads])
        try:
            numbers = IdNumbers()
            numbers.learn(client[db_name], {1: {"worker_no": 1, "id_number": "440703199001010001", "name": "张三"}})
            return await numbers.of(client[db_name], [1, 2])
        finally:
            await client.close()
    found = asyncio.run(main())
    assert found == {1: {"id_number": "440703199001010001"}, 2: {"id_number": "440703199001010002"}}
    assert reads.asked == [[2]]
