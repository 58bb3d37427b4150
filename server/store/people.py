"""The person library (人员库): one document per resident ID number, with its worker number."""
from __future__ import annotations

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from ..domain.person_card import PersonCard, check_person_card
from ..domain.rules import Conflict
from . import photos
from .db import find_in, next_sequence, utcnow

# What only a card read on a device (852) adds to the checked fields; anything else on the person
# document (contracts, career) belongs to the portal.
READ_FIELDS = ("authority", "validity", "manual_entry")


async def enroll(db: AsyncDatabase, card: PersonCard, *, id_photo: bytes, capture_photo: bytes, source: dict,
                 read: dict | None = None) -> tuple[dict, bool]:
    """Store or refresh a person read from an ID card on a device (852). Returns (person, created).

    `card` is checked by `check_person_card`, as the portal's and the import's are; `read` holds
    READ_FIELDS. The worker number is given once: a person enrolled again, on any device, keeps it.
    """
    id_number = card.id_number
    now = utcnow()
    existing = await db.people.find_one({"id_number": id_number}, {"_id": 1})
    person_id = existing["_id"] if existing else None
    photo_ids = {}
    for kind, data in (("id_card", id_photo), ("capture", capture_photo)):
        if data:
            photo_ids[kind] = await photos.put(db, kind, data, owner=id_number)
    update = {**card.fields, **{f: v for f, v in (read or {}).items() if f in READ_FIELDS}}
    update.update(updated_at=now, last_enrollment=source, id_warnings=list(card.warnings))
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


def worker_nos_query(worker_nos) -> dict:
    """People by worker number (849 names, 848 refusals, lists naming the people of rows)."""
    return {"worker_no": {"$in": list(worker_nos)}}


def id_number_query(id_number: str) -> dict:
    """One person by ID number (852 enrolment, 845, the library)."""
    return {"id_number": id_number}


async def by_worker_nos(db: AsyncDatabase, worker_nos, fields: tuple[str, ...] = ("name", "id_number")
                        ) -> dict[int, dict]:
    """worker_no → {worker_no, *fields} for the given numbers (one query; unknown numbers absent)."""
    wanted = sorted(set(worker_nos))
    if not wanted:
        return {}
    return {p["worker_no"]: p for p in await find_in(db.people, "worker_no", wanted,
                                                     {"worker_no": 1, **dict.fromkeys(fields, 1)})}


async def by_id_number(db: AsyncDatabase, id_number: str, projection: dict | None = None) -> dict | None:
    return await db.people.find_one(id_number_query(id_number), projection)


async def existing_worker_nos(db: AsyncDatabase, worker_nos: list[int]) -> set[int]:
    cursor = db.people.find(worker_nos_query(worker_nos), {"worker_no": 1, "_id": 0})
    return {d["worker_no"] async for d in cursor}



# --- the person library from the portal (人员库新增, Excel batch entry) ---------------------------

async def allocate_worker_nos(db: AsyncDatabase, count: int) -> list[int]:
    """`count` new worker numbers in one round trip (a batch import takes a block)."""
    if count <= 0:
        return []
    doc = await db.counters.find_one_and_update({"_id": "worker_no"}, {"$inc": {"seq": count}}, upsert=True,
                                                return_document=ReturnDocument.AFTER)
    return list(range(doc["seq"] - count + 1, doc["seq"] + 1))


def new_person_document(id_number: str, fields: dict, warnings, worker_no: int, source: dict) -> dict:
    """A new person without photos from a checked card (`check_person_card`): 人员库新增 and the import."""
    now = utcnow()
    return {**fields, "id_number": id_number, "worker_no": worker_no, "id_warnings": list(warnings),
            "capture_photo_len": 0, "created_at": now, "updated_at": now, "created_from": source}


async def create_person(db: AsyncDatabase, raw: dict, *, source: dict) -> dict:
    """人员库新增: a new person from the portal; a number already in the library is a conflict."""
    card = check_person_card(raw)
    existing = await by_id_number(db, card.id_number, {"worker_no": 1})
    if existing:
        raise Conflict("id_number", f"该身份证号码已在人员库中(工人编号 {existing['worker_no']})")
    (worker_no,) = await allocate_worker_nos(db, 1)
    doc = new_person_document(card.id_number, card.fields, card.warnings, worker_no, source)
    try:
        await db.people.insert_one(doc)
    except DuplicateKeyError:
        raise Conflict("id_number", "该身份证号码已在人员库中") from None
    return doc


def added_by_projects_query(project_ids: list[int]) -> dict:
    """People a project added to the library (about to be entered on it)."""
    return {"created_from.project_id": {"$in": project_ids}}


def search_query(q: str) -> tuple[dict, list]:
    q = " ".join((q or "").split())
    query: dict = {}
    if q.isdigit() and len(q) < 18:
        query["worker_no"] = int(q)
    elif len(q) == 18:
        query["id_number"] = q.upper()
    elif q:
        # A prefix as a range: the embedded planner uses the name index for ranges, not for regexes.
        query["name"] = {"$gte": q, "$lt": q + "\uffff"}
    # Name searches come back in name order (the index's), the rest newest first.
    return query, [("name", 1)] if "name" in query else [("worker_no", -1)]


async def search(db: AsyncDatabase, q: str, *, worker_nos: list[int] | None = None,
                 skip: int = 0, limit: int = 50) -> tuple[list[dict], int]:
    """人员库查询: by worker number, full ID number or name prefix; `worker_nos` limits to a scope.

    Only indexed fields are filtered on (worker_no, id_number, name prefix).
    """
    query, order = search_query(q)
    projection = {"worker_no": 1, "name": 1, "id_number": 1, "sex": 1, "nation": 1, "created_at": 1, "phone": 1,
                  "id_warnings": 1}
    if worker_nos is not None:
        if "worker_no" in query:
            if query["worker_no"] not in set(worker_nos):
                return [], 0
        else:
            # The scope is one county's or one project's people: filter the scope by worker number
            # (indexed) and apply the rest here.
            found = [p async for p in db.people.find({"worker_no": {"$in": worker_nos}}, projection)]
            found = [p for p in found if _matches(p, query)]
            found.sort(key=lambda p: p["worker_no"], reverse=True)
            return found[skip:skip + limit], len(found)
    total = await db.people.count_documents(query)
    cursor = db.people.find(query, projection).sort(order).skip(skip).limit(limit)
    return [p async for p in cursor], total


def _matches(person: dict, query: dict) -> bool:
    if "id_number" in query:
        return person.get("id_number") == query["id_number"]
    if "name" in query:
        return person.get("name", "").startswith(query["name"]["$gte"])
    return True
