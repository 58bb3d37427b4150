"""Collections, their $jsonSchema validators and indexes, ensured at every start.

Hot queries filter only on fields of one index (a prefix of it): the embedded server's planner
scans the whole collection as soon as a query adds a predicate the index does not cover, and
tests/store/test_storage.py checks the plans of the queries the gateway and API depend on.

Validators state only what every writer must respect (types of keys other code relies on);
richer rules live in server/domain so that refusals carry a Chinese reason, not a
server error code. Nothing here has a TTL: attendance and photos are evidence in wage disputes
and never expire automatically (domain.md, "Keeping data").
"""
from __future__ import annotations

import logging

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import CollectionInvalid, OperationFailure

log = logging.getLogger(__name__)

_str = {"bsonType": "string"}
_int = {"bsonType": ["int", "long"]}
_date = {"bsonType": "date"}
_bool = {"bsonType": "bool"}
_opt_date = {"bsonType": ["date", "null"]}


def _schema(required: list[str], **properties) -> dict:
    return {"$jsonSchema": {"bsonType": "object", "required": required, "properties": properties}}


VALIDATORS: dict[str, dict] = {
    "devices": _schema(
        ["vendor_code", "device_id", "project_id", "status", "created_at"],
        vendor_code={"bsonType": "string", "minLength": 1, "maxLength": 32},
        device_id={"bsonType": "string", "minLength": 1, "maxLength": 32},
        project_id=_int,
        status={"enum": ["active", "removed"]},
        online=_bool,
        last_seen=_opt_date,
        created_at=_date,
    ),
    "people": _schema(
        ["id_number", "worker_no", "name", "created_at"],
        id_number={"bsonType": "string", "minLength": 18, "maxLength": 18},
        worker_no={"bsonType": ["int", "long"], "minimum": 1, "maximum": 0xFFFFFFFF},
        name={"bsonType": "string", "minLength": 1},
        sex={"enum": ["0", "1", ""]},
        capture_photo_len=_int,
        created_at=_date,
    ),
    "projects": _schema(
        ["_id", "name", "county", "status", "created_at"],
        _id={"bsonType": ["int", "long"], "minimum": 1, "maximum": 0xFFFFFFFF},
        name={"bsonType": "string", "minLength": 1},
        county={"enum": ["市辖区", "蓬江区", "江海区", "新会区", "台山市", "开平市", "鹤山市", "恩平市"]},
        status={"enum": ["在建", "停工", "完工", "注销"]},
        created_at=_date,
    ),
    "enterprises": _schema(
        ["credit_code", "name", "created_at"],
        credit_code={"bsonType": "string", "minLength": 18, "maxLength": 18},
        name={"bsonType": "string", "minLength": 1},
        created_at=_date,
    ),
    "units": _schema(
        ["project_id", "enterprise_id", "unit_type", "created_at"],
        project_id=_int,
        unit_type=_str,
        entry_date=_opt_date,
        exit_date=_opt_date,
        created_at=_date,
    ),
    "teams": _schema(
        ["project_id", "unit_id", "name", "kind", "created_at"],
        project_id=_int,
        name={"bsonType": "string", "minLength": 1},
        kind={"enum": ["管理人员班组", "普通工人班组", "其他人员班组"]},
        entry_date=_opt_date,
        exit_date=_opt_date,
        created_at=_date,
    ),
    "roster": _schema(
        ["project_id", "person_id", "worker_no", "unit_id", "team_id", "job", "entry_date"],
        project_id=_int,
        worker_no=_int,
        job={"bsonType": "string", "minLength": 1},
        entry_date=_date,
        exit_date=_opt_date,
    ),
    "punches": _schema(
        ["_id", "project_id", "vendor_code", "device_id", "worker_no", "device_time", "date",
         "received_at", "mode", "photo_len", "flags", "test"],
        _id=_str,
        project_id=_int,
        worker_no=_int,
        device_time=_date,
        date={"bsonType": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
        received_at=_date,
        mode=_int,
        photo_len=_int,
        flags={"bsonType": "array", "items": _str},
        test=_bool,
    ),
    "photos": _schema(
        ["kind", "data", "size", "created_at"],
        kind={"enum": ["punch", "id_card", "capture", "infrared"]},
        data={"bsonType": "binData"},
        size=_int,
        created_at=_date,
    ),
    "punch_refusals": _schema(
        ["at", "vendor_code", "device_id", "reason", "message"],
        at=_date,
        reason=_str,
        message=_str,
    ),
    "audit_log": _schema(["at", "actor", "action"], at=_date, actor=_str, action=_str),
    "counters": _schema(["_id", "seq"], _id=_str, seq=_int),
    "gateway_stats": _schema(["_id", "totals", "updated_at"], _id=_str, totals={"bsonType": "object"}, updated_at=_date),
    "accounts": _schema(
        ["username", "role", "password_hash", "must_change_password", "disabled", "created_at", "tokens"],
        username={"bsonType": "string", "minLength": 3, "maxLength": 64},
        role={"enum": ["supervisor", "project", "supplier", "enterprise", "analyst", "admin"]},
        project_id={"bsonType": ["int", "long", "null"]},
        county={"bsonType": ["string", "null"]},
        supplier_id={"bsonType": ["objectId", "null"]},
        enterprise_id={"bsonType": ["objectId", "null"]},
        password_hash=_str,
        must_change_password=_bool,
        disabled=_bool,
        created_at=_date,
        tokens={"bsonType": "array", "items": {"bsonType": "object", "required": ["hash", "created_at"],
                                                "properties": {"hash": _str, "created_at": _date, "label": _str}}},
    ),
    "login_failures": _schema(["username", "ip", "at"], username=_str, ip=_str, at=_date),
    "sessions": _schema(["_id", "username", "created_at", "last_seen"], _id=_str, username=_str,
                        created_at=_date, last_seen=_date),
    "captchas": _schema(["_id", "answer_hash", "expires_at"], _id=_str, answer_hash=_str, expires_at=_date),
}

INDEXES: dict[str, list[IndexModel]] = {
    "devices": [
        IndexModel([("vendor_code", ASCENDING), ("device_id", ASCENDING)], unique=True, name="vendor_device"),
        IndexModel([("project_id", ASCENDING)], name="project"),
        IndexModel([("changed_at", ASCENDING)], name="changed_at"),
        IndexModel([("gateway_id", ASCENDING), ("online", ASCENDING)], name="gateway_online"),
    ],
    "people": [
        IndexModel([("id_number", ASCENDING)], unique=True, name="id_number"),
        IndexModel([("worker_no", ASCENDING)], unique=True, name="worker_no"),
    ],
    "projects": [IndexModel([("county", ASCENDING), ("status", ASCENDING)], name="county_status")],
    "enterprises": [IndexModel([("credit_code", ASCENDING)], unique=True, name="credit_code")],
    "units": [IndexModel([("project_id", ASCENDING), ("enterprise_id", ASCENDING)], name="project_enterprise")],
    "teams": [IndexModel([("project_id", ASCENDING), ("unit_id", ASCENDING)], name="project_unit")],
    "roster": [
        # The whitelist (849) and the punch check (848) ask "who is entered on this project now".
        IndexModel([("project_id", ASCENDING), ("exit_date", ASCENDING), ("worker_no", ASCENDING)], name="project_current"),
        IndexModel([("exit_date", ASCENDING), ("project_id", ASCENDING)], name="current_by_project"),
        IndexModel([("person_id", ASCENDING), ("entry_date", DESCENDING)], name="career"),
    ],
    "punches": [
        IndexModel([("project_id", ASCENDING), ("date", ASCENDING), ("test", ASCENDING), ("worker_no", ASCENDING)],
                   name="project_day"),
        IndexModel([("date", ASCENDING), ("test", ASCENDING), ("project_id", ASCENDING)], name="day_projects"),
        IndexModel([("worker_no", ASCENDING), ("device_time", ASCENDING)], name="worker_time"),
        IndexModel([("device_id", ASCENDING), ("received_at", DESCENDING)], name="device_recent"),
    ],
    "photos": [],
    "punch_refusals": [IndexModel([("device_id", ASCENDING), ("at", DESCENDING)], name="device_at")],
    "audit_log": [
        IndexModel([("at", DESCENDING)], name="at"),
        IndexModel([("actor", ASCENDING), ("at", DESCENDING)], name="actor_at"),
        # The audit search filters on actor, action or both, each with a date range.
        IndexModel([("action", ASCENDING), ("at", DESCENDING)], name="action_at"),
        IndexModel([("actor", ASCENDING), ("action", ASCENDING), ("at", DESCENDING)], name="actor_action_at"),
    ],
    "counters": [],
    "gateway_stats": [],
    "accounts": [
        IndexModel([("username", ASCENDING)], unique=True, name="username"),
        IndexModel([("tokens.hash", ASCENDING)], name="token_hash"),
    ],
    "login_failures": [
        IndexModel([("username", ASCENDING), ("ip", ASCENDING), ("at", ASCENDING)], name="account_address"),
        IndexModel([("ip", ASCENDING), ("at", ASCENDING)], name="address"),
    ],
    "sessions": [IndexModel([("username", ASCENDING)], name="username")],
    "captchas": [IndexModel([("expires_at", ASCENDING)], name="expires_at")],
}


async def ensure_schema(db: AsyncDatabase) -> None:
    """Create or update every collection's validator and indexes; safe to run on every start."""
    existing = set(await db.list_collection_names())
    for name, validator in VALIDATORS.items():
        if name in existing:
            await db.command({"collMod": name, "validator": validator, "validationLevel": "strict"})
        else:
            try:
                await db.create_collection(name, validator=validator, validationLevel="strict")
            except CollectionInvalid:
                # Another process (gateway and web start together) created it first.
                await db.command({"collMod": name, "validator": validator, "validationLevel": "strict"})
        indexes = INDEXES.get(name)
        if indexes:
            try:
                await db[name].create_indexes(indexes)
            except OperationFailure as exc:
                # An index of the same name with other options means a hand-made change; say so
                # instead of dropping somebody's index silently.
                raise RuntimeError(f"index definitions of {name!r} differ from the database's: {exc}") from exc
