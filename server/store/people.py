"""The person library (人员库): one document per resident ID number, with its worker number."""
from __future__ import annotations

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from . import photos
from .db import next_sequence, utcnow

# Fields an enrollment (852) may set from the ID card; anything else on the person document
# (contracts, career) belongs to the portal.
CARD_FIELDS = ("name", "sex", "nation", "birth_date", "address", "authority", "validity")


async def enroll(db: AsyncDatabase, *, id_number: str, card: dict, id_photo: bytes, capture_photo: bytes,
                 source: dict, warnings: tuple[str, ...] = ()) -> tuple[dict, bool]:
    """Store or refresh a person read from an ID card. Returns (person, created).

    The worker number is given once: a person enrolled again, on any device, keeps it.
    """
    now = utcnow()
    existing = await db.people.find_one({"id_number": id_number}, {"_id": 1})
    person_id = existing["_id"] if existing else None
    photo_ids = {}
    for kind, data in (("id_card", id_photo), ("capture", capture_photo)):
        if data:
            photo_ids[kind] = await photos.put(db, kind, data, owner=id_number)
    update = {f: card[f] for f in CARD_FIELDS if f in card}
    update.update(updated_at=now, last_enrollment=source, id_warnings=list(warnings))
    if "id_card" in photo_ids:
        update.update(id_photo_id=photo_ids["id_card"], id_photo_len=len(id_photo))
    if "capture" in photo_ids:
        update.update(capture_photo_id=photo_ids["capture"], capture_photo_len=len(capture_photo))
    elif person_id is None:
        update["capture_photo_len"] = 0  # the whitelist (849) always reports a length
    if person_id is not None:
        person = await db.people.find_one_and_update(
            {"_id": person_id}, {"$set": update}, return_document=ReturnDocument.AFTER)
        return person, False
    worker_no = await next_sequence(db, "worker_no")
    try:
        person = await db.people.find_one_and_update(
            {"id_number": id_number},
            {"$set": update, "$setOnInsert": {"id_number": id_number, "worker_no": worker_no, "created_at": now}},
            upsert=True, return_document=ReturnDocument.AFTER)
    except DuplicateKeyError:
        # Two devices enrolled the same new person at once; the other won and its number stands.
        person = await db.people.find_one_and_update(
            {"id_number": id_number}, {"$set": update}, return_document=ReturnDocument.AFTER)
        return person, False
    return person, person["worker_no"] == worker_no


async def by_worker_no(db: AsyncDatabase, worker_no: int, projection: dict | None = None) -> dict | None:
    return await db.people.find_one({"worker_no": worker_no}, projection)


async def by_id_number(db: AsyncDatabase, id_number: str, projection: dict | None = None) -> dict | None:
    return await db.people.find_one({"id_number": id_number}, projection)


async def existing_worker_nos(db: AsyncDatabase, worker_nos: list[int]) -> set[int]:
    cursor = db.people.find({"worker_no": {"$in": worker_nos}}, {"worker_no": 1, "_id": 0})
    return {d["worker_no"] async for d in cursor}

