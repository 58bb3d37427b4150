"""Photo bytes, kept apart from people and punches so attendance queries never read them."""
from __future__ import annotations

from bson import Binary, ObjectId
from pymongo.asynchronous.database import AsyncDatabase

from .db import utcnow


def photo_doc(kind: str, data: bytes, *, _id=None, owner=None) -> dict:
    doc = {"_id": _id if _id is not None else ObjectId(), "kind": kind, "data": Binary(data),
           "size": len(data), "created_at": utcnow()}
    if owner is not None:
        doc["owner"] = owner
    return doc


async def put(db: AsyncDatabase, kind: str, data: bytes, *, owner=None):
    doc = photo_doc(kind, data, owner=owner)
    await db.photos.insert_one(doc)
    return doc["_id"]


async def get(db: AsyncDatabase, photo_id) -> bytes | None:
    if photo_id is None:
        return None
    doc = await db.photos.find_one({"_id": photo_id}, {"data": 1})
    return bytes(doc["data"]) if doc else None
