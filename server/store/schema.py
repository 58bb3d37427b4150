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

from ..domain import vocabulary

log = logging.getLogger(__name__)

_str = {"bsonType": "string"}
_int = {"bsonType": ["int", "long"]}
_date = {"bsonType": "date"}
_bool = {"bsonType": "bool"}
_opt_date = {"bsonType": ["date", "null"]}


def _enum(values) -> dict:
    return {"enum": list(values)}


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
        county=_enum(vocabulary.COUNTIES),
        status=_enum(vocabulary.PROJECT_STATUSES),
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
        kind=_enum(vocabulary.TEAM_KINDS),
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
    "contracts": _schema(
        ["project_id", "worker_no", "person_id", "effective_date", "term_type", "pay_unit", "unit_price", "file_id",
         "created_at", "updated_at"],
        project_id=_int,
        worker_no=_int,
        effective_date=_date,
        expiry_date=_opt_date,
        term_type=_enum(vocabulary.CONTRACT_TERM_TYPES),
        pay_unit=_str,
        unit_price={"bsonType": ["double", "int", "long"], "minimum": 0, "exclusiveMinimum": True},
        file_id={"bsonType": "objectId"},
        created_at=_date,
        updated_at=_date,
    ),
    # Contract scans (PDF), kept apart so contract lists never read file bytes; never expired.
    "contract_files": _schema(["data", "size", "created_at"], data={"bsonType": "binData"}, size=_int, created_at=_date),
    # Roster entry/exit stamps per project, polled by gateways (roster.CurrentRosterCache).
    "roster_changes": _schema(["_id", "changed_at"], _id=_int, changed_at=_date),
    # Excel batch entry (批量人员进场): the report a worker job writes and the page polls; the
    # uploaded workbook is kept on it until the job settles. `total` is known once it is read.
    "import_jobs": _schema(
        ["project_id", "state", "total", "done", "entered", "errors", "created_at"],
        project_id=_int,
        state={"enum": ["queued", "running", "done", "failed"]},
        total={"bsonType": ["int", "long", "null"]}, done=_int, entered=_int,
        workbook={"bsonType": "binData"},
        errors={"bsonType": "array"},
        created_at=_date,
    ),
    # Background work for the worker processes (server/workers): one-off jobs and one due
    # document per periodic kind, each taken under a lease (store/jobs.py).
    "jobs": _schema(
        ["kind", "params", "state", "due_at", "attempts", "created_at"],
        kind={"bsonType": "string", "minLength": 1},
        params={"bsonType": "object"},
        state={"enum": ["queued", "running", "done", "failed"]},
        due_at=_date,
        attempts=_int,
        lease_owner={"bsonType": ["string", "null"]},
        lease_expires=_opt_date,
        created_at=_date,
    ),
    "declarations": _schema(
        ["name", "county", "state", "applicant", "proof", "submitted_at", "history"],
        name={"bsonType": "string", "minLength": 1},
        county=_enum(vocabulary.COUNTIES),
        state=_enum(vocabulary.DECLARATION_STATES),
        applicant={"bsonType": "object", "required": ["name", "mobile", "email"]},
        proof={"bsonType": "object", "required": ["data", "kind", "size"],
               "properties": {"data": {"bsonType": "binData"}, "kind": {"enum": ["pdf", "jpeg", "png"]}, "size": _int}},
        submitted_at=_date,
        history={"bsonType": "array"},
        project_id={"bsonType": ["int", "long"]},
    ),
    # Result e-mails (项目申报), queued first and sent when SMTP is configured.
    "outbox": _schema(
        ["to", "subject", "body", "state", "attempts", "created_at"],
        to=_str, subject=_str, body=_str,
        state={"enum": ["queued", "sending", "sent", "failed"]},
        attempts=_int,
        created_at=_date,
        sent_at=_opt_date,
    ),
    # 供应商 (registration, basic information, business scopes with their review).
    "suppliers": _schema(
        ["name", "credit_code", "vendor_code", "scopes", "created_at"],
        name={"bsonType": "string", "minLength": 1},
        credit_code={"bsonType": "string", "minLength": 18, "maxLength": 18},
        vendor_code={"bsonType": "string", "minLength": 1, "maxLength": 32},
        scopes={"bsonType": "array", "items": {"bsonType": "object", "required": ["scope", "state"], "properties": {
            "scope": _enum(vocabulary.SCOPE_CODES),
            "state": _enum(vocabulary.SCOPE_STATES)}}},
        created_at=_date,
    ),
    # 设备接入申请, with its flow record (history) and the device it admitted (device_oid).
    "device_access": _schema(
        ["_id", "supplier_id", "vendor_code", "project_id", "county", "device_type", "serial", "state", "history",
         "created_at", "updated_at"],
        _id=_int,
        supplier_id={"bsonType": "objectId"},
        project_id=_int,
        serial={"bsonType": "string", "minLength": 1, "maxLength": 32},
        state=_enum(vocabulary.DEVICE_ACCESS_STATES),
        environment=_enum(vocabulary.ENVIRONMENTS + (None,)),
        history={"bsonType": "array"},
        created_at=_date,
        updated_at=_date,
    ),
    # Application attachments (PDF/JPEG/PNG), apart so lists never read file bytes.
    "access_attachments": _schema(["application_id", "n", "kind", "data", "size", "created_at"],
                                  application_id=_int, n=_int, kind={"enum": ["pdf", "jpeg", "png"]},
                                  data={"bsonType": "binData"}, size=_int, created_at=_date),
    # 上传省厅: one record per entity sent to the provincial platform (server/store/uploads.py).
    "uploads": _schema(
        ["_id", "kind", "entity_id", "state", "operation", "content_hash", "depends_on", "attempts", "next_try_at",
         "history", "updated_at"],
        _id=_str,
        kind={"enum": ["enterprise", "project", "unit", "team", "worker", "entry_exit", "contract", "attendance"]},
        entity_id=_str,
        project_id={"bsonType": ["int", "long", "null"]},
        state={"enum": ["待上传", "上传中", "已提交待回执", "上传成功", "上传失败"]},
        operation={"enum": ["add", "update"]},
        content_hash=_str,
        serial={"bsonType": ["string", "null"]},
        depends_on={"bsonType": "array", "items": _str},
        attempts=_int,
        next_try_at=_date,
        history={"bsonType": "array"},
        updated_at=_date,
    ),
    # Attendance rollups (server/store/rollups.py), folded from punches; what the dashboards read.
    # One document per project × site day; `people` maps each worker number (as text) to that
    # person's {first, last, punch_ids, count} (server/domain/rollups.py, person_day_document).
    # `version` counts writes: a fold replaces a document only if nobody wrote it since it was read.
    "att_person_days": _schema(["project_id", "date", "people"], project_id=_int,
                               date={"bsonType": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
                               people={"bsonType": "object", "additionalProperties": {
                                   "bsonType": "object", "required": ["first", "last", "punch_ids", "count"],
                                   "properties": {"first": _date, "last": _date, "count": _int,
                                                  "punch_ids": {"bsonType": "array", "items": _str}}}},
                               updated_at=_date, version=_int),
    "att_project_days": _schema(["project_id", "date", "workers"], project_id=_int,
                                date={"bsonType": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
                                workers={"bsonType": "array"}, managers={"bsonType": "object"}, stopped=_bool,
                                updated_at=_date, version=_int),
    # Every stored group of punches, packed (server/store/punch_feed.py): what the upload reads.
    "punch_feed": _schema(["at", "n", "items"], at=_date, n=_int, items=_str),
    # The gateways' punch writers and their sessions (punches.end_orphaned_writes).
    "punch_writers": _schema(["_id", "host", "pid", "lsid"], _id=_str, host=_str, pid=_int),
    "att_project_months": _schema(["project_id", "month"], project_id=_int,
                                  month={"bsonType": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
                                  people={"bsonType": "object"}, managers={"bsonType": "object"},
                                  stopped={"bsonType": "object"}),
    "att_rosters": _schema(["_id", "spans"], _id=_int, spans={"bsonType": "array"}),
    "rollup_state": _schema(["_id"], _id=_str),
    # 上传省厅: the punches' received-time watermark and each project-day's first punch per worker.
    "upload_state": _schema(["_id"], _id=_str),
}

INDEXES: dict[str, list[IndexModel]] = {
    "devices": [
        IndexModel([("vendor_code", ASCENDING), ("device_id", ASCENDING)], unique=True, name="vendor_device"),
        IndexModel([("project_id", ASCENDING)], name="project"),
        IndexModel([("changed_at", ASCENDING)], name="changed_at"),
        IndexModel([("gateway_id", ASCENDING), ("online", ASCENDING)], name="gateway_online"),
        # Device monitoring: a supplier's own devices (supplier_id is set when access is authorised).
        IndexModel([("supplier_id", ASCENDING)], name="supplier"),
        # The project list's devices in service per project (projects.list_count_queries).
        IndexModel([("status", ASCENDING), ("project_id", ASCENDING)], name="status_project"),
    ],
    "people": [
        IndexModel([("id_number", ASCENDING)], unique=True, name="id_number"),
        IndexModel([("worker_no", ASCENDING)], unique=True, name="worker_no"),
        # 人员库 search by name (prefix: surname or full name).
        IndexModel([("name", ASCENDING)], name="name"),
        # People a project added to the library (人员库新增), in its scope before they are entered.
        IndexModel([("created_from.project_id", ASCENDING)], name="created_by_project"),
    ],
    "projects": [IndexModel([("county", ASCENDING), ("status", ASCENDING)], name="county_status")],
    "enterprises": [IndexModel([("credit_code", ASCENDING)], unique=True, name="credit_code")],
    "units": [IndexModel([("project_id", ASCENDING), ("enterprise_id", ASCENDING)], name="project_enterprise"),
              # 企业库: the types an enterprise takes part as; refusing to delete an enterprise in use.
              IndexModel([("enterprise_id", ASCENDING)], name="enterprise")],
    "teams": [IndexModel([("project_id", ASCENDING), ("unit_id", ASCENDING)], name="project_unit")],
    "roster": [
        # The whitelist (849) and the punch check (848) ask "who is entered on this project now".
        IndexModel([("project_id", ASCENDING), ("exit_date", ASCENDING), ("worker_no", ASCENDING)], name="project_current"),
        IndexModel([("exit_date", ASCENDING), ("project_id", ASCENDING)], name="current_by_project"),
        IndexModel([("person_id", ASCENDING), ("entry_date", DESCENDING)], name="career"),
        # Unit and team exit / delete: who is (or ever was) entered under one unit or team.
        IndexModel([("unit_id", ASCENDING), ("exit_date", ASCENDING)], name="unit_presence"),
        IndexModel([("team_id", ASCENDING), ("exit_date", ASCENDING)], name="team_presence"),
        # A worker resuming an Excel import finds the rows it already entered.
        IndexModel([("import_id", ASCENDING)], name="import"),
        # Holders of a post (项目经理 …) across projects: the rollup fold and the dashboards.
        IndexModel([("job", ASCENDING), ("project_id", ASCENDING)], name="job_project"),
    ],
    "punches": [
        IndexModel([("project_id", ASCENDING), ("date", ASCENDING), ("test", ASCENDING), ("worker_no", ASCENDING)],
                   name="project_day"),
        IndexModel([("date", ASCENDING), ("test", ASCENDING), ("project_id", ASCENDING)], name="day_projects"),
        IndexModel([("worker_no", ASCENDING), ("device_time", ASCENDING)], name="worker_time"),
        IndexModel([("device_id", ASCENDING), ("received_at", DESCENDING)], name="device_recent"),
        # The rollup tail's catch-up after its change stream could not resume.
        IndexModel([("received_at", ASCENDING)], name="received"),
    ],
    "punch_feed": [IndexModel([("at", ASCENDING)], name="at")],
    "att_person_days": [
        IndexModel([("project_id", ASCENDING), ("date", ASCENDING)], name="project_day"),
        IndexModel([("date", ASCENDING), ("project_id", ASCENDING)], name="by_day"),
    ],
    "att_project_days": [
        IndexModel([("date", ASCENDING), ("project_id", ASCENDING)], name="by_day"),
        IndexModel([("project_id", ASCENDING), ("date", ASCENDING)], name="project_day"),
        # The month rollup's watermark (rollup_months.refresh): project-days written since.
        IndexModel([("updated_at", ASCENDING)], name="updated"),
    ],
    # The month pages read a month's documents (one per project): month leads.
    "att_project_months": [IndexModel([("month", ASCENDING), ("project_id", ASCENDING)], name="by_month")],
    "photos": [],
    "punch_refusals": [IndexModel([("device_id", ASCENDING), ("at", DESCENDING)], name="device_at"),
                       # Device monitoring: refusals of the last days, grouped by device (an $in on
                       # device_id followed by a range is not planned on device_at).
                       IndexModel([("at", DESCENDING)], name="at")],
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
    "contracts": [
        IndexModel([("project_id", ASCENDING), ("worker_no", ASCENDING)], name="project_worker"),
        IndexModel([("worker_no", ASCENDING)], name="worker"),
    ],
    "contract_files": [],
    "roster_changes": [IndexModel([("changed_at", ASCENDING)], name="changed_at")],
    "import_jobs": [IndexModel([("project_id", ASCENDING), ("created_at", DESCENDING)], name="project_recent")],
    # Claiming: the oldest due queued job, then any running job whose lease ran out.
    "jobs": [IndexModel([("state", ASCENDING), ("due_at", ASCENDING)], name="state_due"),
             IndexModel([("state", ASCENDING), ("lease_expires", ASCENDING)], name="state_lease")],
    "declarations": [
        # Review lists (待审核 / 已审核), city-wide or for one county, newest first.
        IndexModel([("state", ASCENDING), ("submitted_at", DESCENDING)], name="state_submitted"),
        IndexModel([("county", ASCENDING), ("state", ASCENDING), ("submitted_at", DESCENDING)],
                   name="county_state_submitted"),
        # The public form's per-address limit.
        IndexModel([("ip", ASCENDING), ("submitted_at", ASCENDING)], name="ip_submitted"),
        # 申请记录: earlier declarations of the same project name.
        IndexModel([("name", ASCENDING), ("submitted_at", DESCENDING)], name="name_submitted"),
    ],
    "outbox": [
        IndexModel([("state", ASCENDING), ("created_at", ASCENDING)], name="state_created"),
        IndexModel([("created_at", DESCENDING)], name="created"),
        IndexModel([("county", ASCENDING), ("created_at", DESCENDING)], name="county_created"),
        # The retry job's two updates: the planner uses state_created for neither (a range beside
        # the state on a field outside the index makes it scan the collection).
        IndexModel([("state", ASCENDING), ("attempts", ASCENDING)], name="state_attempts"),
        IndexModel([("state", ASCENDING), ("claimed_at", ASCENDING)], name="state_claimed"),
    ],
    "suppliers": [
        IndexModel([("credit_code", ASCENDING)], unique=True, name="credit_code"),
        IndexModel([("vendor_code", ASCENDING)], unique=True, name="vendor_code"),
    ],
    # Lists 待办/已办/办结: a supplier's own, a county's, or the city's, by state.
    "device_access": [
        IndexModel([("supplier_id", ASCENDING), ("state", ASCENDING)], name="supplier_state"),
        IndexModel([("county", ASCENDING), ("state", ASCENDING)], name="county_state"),
        IndexModel([("state", ASCENDING)], name="state"),
        IndexModel([("vendor_code", ASCENDING), ("serial", ASCENDING)], name="vendor_serial"),
    ],
    "access_attachments": [IndexModel([("application_id", ASCENDING), ("n", ASCENDING)], name="application")],
    "uploads": [
        # The sender: what is ready of one kind, oldest wait first.
        IndexModel([("state", ASCENDING), ("kind", ASCENDING), ("next_try_at", ASCENDING)], name="ready"),
        # 上传省厅结果查询: counts per project, kind and state.
        IndexModel([("project_id", ASCENDING), ("kind", ASCENDING), ("state", ASCENDING)], name="project_kind_state"),
        # Claims of a sender that died (release_stale); the planner scans without claimed_at in an index.
        IndexModel([("state", ASCENDING), ("claimed_at", ASCENDING)], name="claims"),
        # Attendance batches holding punches received since the watermark (what a pass must not batch again).
        IndexModel([("kind", ASCENDING), ("received_max", ASCENDING)], name="batched_received"),
    ],
}


# Indexes a change of shape retired: dropped when found, so the new definition of the name can be made.
RETIRED_INDEXES: dict[str, dict[str, dict]] = {
    # att_person_days was one document per person-day, now one per project-day (a rebuild refolds it).
    "att_person_days": {"project_day": {"project_id": 1, "date": 1, "worker_no": 1}},
}


async def _drop_retired_indexes(db: AsyncDatabase, name: str) -> None:
    retired = RETIRED_INDEXES.get(name)
    if not retired:
        return
    for index_name, info in (await db[name].index_information()).items():
        if index_name in retired and dict(info["key"]) == retired[index_name]:
            try:
                await db[name].drop_index(index_name)
            except OperationFailure:
                pass   # another process starting at the same time dropped it first


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
        if name in existing:
            await _drop_retired_indexes(db, name)
        if indexes:
            try:
                await db[name].create_indexes(indexes)
            except OperationFailure as exc:
                # An index of the same name with other options means a hand-made change; say so
                # instead of dropping somebody's index silently.
                raise RuntimeError(f"index definitions of {name!r} differ from the database's: {exc}") from exc
