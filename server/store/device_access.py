"""Device access applications (设备接入申请) walking the four steps, and the gateway admission they drive.

The state machine is server/domain/device_access_flow.py; here are the records and the side
effects. Each action first claims its transition with a write conditioned on the state it read,
so two people acting at once cannot both move an application (the loser gets 409), and only then
admits, re-environments or removes the device. The device the gateway admits is the supplier's
vendor code + the application's serial number (what the device sends in 843); a device in the
test environment has its punches stored test:true and left out of every figure.
"""
from __future__ import annotations

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from .. import access
from ..domain import device_access_flow as flow, vocabulary
from ..domain.rules import Conflict, NotFound, RuleError
from . import audit, devices, fields
from . import suppliers as supplier_store
from .db import next_sequence, utcnow

ATTACHMENT_MAX_COUNT = 3
REMARK_MAX = 1000
# Projects that no longer build take no new devices.
CLOSED_PROJECT_STATUSES = (vocabulary.PROJECT_COMPLETED, vocabulary.PROJECT_CANCELLED)


def _remark(body: dict, field: str, label: str, *, required: bool, max_length: int = REMARK_MAX) -> str:
    """Free text that may span lines (a textarea), so unlike fields.text it keeps line breaks."""
    value = body.get(field)
    value = value.strip() if isinstance(value, str) else ("" if value is None else None)
    if value is None:
        raise RuleError(field, f"{label}须为文本")
    if required and not value:
        raise RuleError(field, f"{label}必填")
    if len(value) > max_length:
        raise RuleError(field, f"{label}不能超过 {max_length} 个字符")
    return fields.check_visible(value, field, label, multiline=True)


def _project_id(body: dict) -> int:
    raw = body.get("project_id")
    try:
        value = int(raw) if not isinstance(raw, bool) else None
    except (TypeError, ValueError):
        value = None
    if value is None or not 1 <= value <= 0xFFFFFFFF:
        raise RuleError("project_id", "项目必填，须为项目编号")
    return value


async def _contractor(db: AsyncDatabase, project_id: int) -> str:
    # Filter on project_id only (the index's lead); a project has a handful of units.
    async for unit in db.units.find({"project_id": project_id}, {"unit_type": 1, "enterprise_name": 1}):
        if unit.get("unit_type") == "施工总承包单位":
            return unit.get("enterprise_name", "")
    return ""


def _blocking(state: str) -> bool:
    # An application still open, or one that put a device into the gateway, holds its serial number.
    return flow.STATES[state][2] is not None or state == "completed"


def serial_query(vendor_code: str, serial: str) -> dict:
    """Every application for one device serial: at most one may be open."""
    return {"vendor_code": vendor_code, "serial": serial}


async def submit(db: AsyncDatabase, supplier: dict, body: dict, attachments: list[tuple[bytes, str]], *,
                 actor: str) -> dict:
    """Step 1 设备接入申请: check everything, then store the application and its attachments."""
    project_id = _project_id(body)
    device_type = fields.text(body, "device_type", "设备类型", required=True)
    scope = flow.SCOPES.get(device_type)
    if scope is None or not scope.gateway:
        gateway_types = [f"{s.code}（{s.label}）" for s in flow.SCOPES.values() if s.gateway]
        raise RuleError("device_type", f"设备类型须为 {'、'.join(gateway_types)} 之一")
    serial = fields.text(body, "serial", "设备序列号", required=True)
    if problem := flow.code_problem(serial):
        raise RuleError("serial", f"设备序列号{problem}")
    details = {"serial": serial,
               "install_place": fields.text(body, "install_place", "设备安装位置", required=True),
               "model": fields.text(body, "model", "设备型号") or "",
               "collection_method": fields.choice(body, "collection_method", "采集方式", flow.COLLECTION_METHODS,
                                                  required=True),
               "biometric_method": fields.choice(body, "biometric_method", "生物识别方式", flow.BIOMETRIC_METHODS,
                                                 required=True),
               "description": _remark(body, "description", "申请说明", required=False)}
    if not attachments:
        raise RuleError("attachment", "请上传至少一个申请资料附件（PDF/JPEG/PNG）")
    if device_type not in supplier_store.approved_scopes(supplier):
        raise RuleError("device_type", f"{scope.label}业务范围尚未经监管审核通过，不能申请接入")
    project = await db.projects.find_one({"_id": project_id}, {"name": 1, "county": 1, "status": 1, "permit_no": 1})
    if project is None:
        raise NotFound("project_id", f"项目 {project_id} 不存在")
    if project["status"] in CLOSED_PROJECT_STATUSES:
        raise RuleError("project_id", f"项目已{project['status']}，不能接入设备")
    vendor_code = supplier["vendor_code"]
    async for other in db.device_access.find(serial_query(vendor_code, serial), {"state": 1}):
        if _blocking(other["state"]):
            raise Conflict("serial", f"设备序列号 {serial} 已有接入申请（编号 {other['_id']}）")
    existing = await db.devices.find_one({"vendor_code": vendor_code, "device_id": serial}, {"status": 1})
    if existing is not None and existing.get("status") == "active":
        raise Conflict("serial", f"设备 {vendor_code}/{serial} 已在平台注册")
    now = utcnow()
    app_id = await next_sequence(db, "device_access")
    for n, (data, kind) in enumerate(attachments, 1):
        await db.access_attachments.insert_one({"application_id": app_id, "n": n, "kind": kind, "data": data,
                                                "size": len(data), "created_at": now})
    doc = {"_id": app_id, "supplier_id": supplier["_id"], "supplier_name": supplier["name"],
           "vendor_code": vendor_code, "project_id": project_id, "project_name": project["name"],
           "county": project["county"], "permit_no": project.get("permit_no", ""),
           "contractor": await _contractor(db, project_id), "device_type": device_type, **details,
           "attachments": [{"n": n, "kind": kind, "size": len(data)} for n, (data, kind) in enumerate(attachments, 1)],
           "state": "applied", "device_oid": None, "environment": None,
           "history": [_record(flow.ACTIONS["submit"], actor, flow.SUPPLIER, details["description"], "applied", now)],
           "created_at": now, "updated_at": now}
    await db.device_access.insert_one(doc)
    await audit.record(db, actor=actor, action="device_access_submit", target={"application_id": app_id},
                       detail={"project_id": project_id, "serial": serial})
    return doc


def _record(action: flow.Action, actor: str, side: str, remark: str, state: str, at) -> dict:
    """One line of the flow record (流转记录): who, when, what, remark."""
    return {"action": action.code, "label": action.label, "step": action.step, "actor": actor, "side": side,
            "remark": remark, "state": state, "at": at}


async def act(db: AsyncDatabase, application: dict, action_code: str, *, side: str, actor: str,
              remark: object) -> dict:
    """Take one workflow action on an application the caller may see (scope is the caller's check)."""
    try:
        action = flow.transition(application["state"], action_code, side)
    except flow.FlowError as exc:
        if exc.status == 409:
            raise Conflict("action", exc.message) from None
        raise RuleError("action", exc.message, code="forbidden" if exc.status == 403 else "invalid_argument",
                        status=exc.status) from None
    remark = _remark({"remark": remark}, "remark", action.remark_label, required=True)
    now = utcnow()
    line = _record(action, actor, side, remark, action.target, now)
    claimed = await db.device_access.update_one(
        {"_id": application["_id"], "state": application["state"]},
        {"$set": {"state": action.target, "updated_at": now}, "$push": {"history": line}})
    if claimed.matched_count == 0:
        raise Conflict("action", "申请状态已被他人更新，请刷新后再办理")
    try:
        await _admit(db, application, action.target, actor)
    except Conflict:
        # The gateway could not take the device: put the application back as it was.
        await db.device_access.update_one({"_id": application["_id"], "state": action.target},
                                          {"$set": {"state": application["state"]}, "$pop": {"history": 1}})
        raise
    await audit.record(db, actor=actor, action=f"device_access_{action.code}",
                       target={"application_id": application["_id"]}, detail={"state": action.target})
    return await db.device_access.find_one({"_id": application["_id"]})


async def _admit(db: AsyncDatabase, application: dict, state: str, actor: str) -> None:
    """Make the gateway's view follow the workflow: admit to test, switch to production, or remove."""
    environment = flow.ENVIRONMENT.get(state)
    device_oid = application.get("device_oid")
    now = utcnow()
    if environment is None:
        if device_oid is not None:
            await devices.set_status(db, device_oid, "removed")
            await db.device_access.update_one({"_id": application["_id"]}, {"$set": {"environment": None}})
        return
    if device_oid is None:
        device_oid = await _register_device(db, application, environment, actor)
    elif environment != application.get("environment"):
        # changed_at makes every gateway holding the connection pick the new environment up.
        await db.devices.update_one({"_id": device_oid}, {"$set": {"environment": environment, "changed_at": now}})
    await db.device_access.update_one({"_id": application["_id"]},
                                      {"$set": {"device_oid": device_oid, "environment": environment}})


async def _register_device(db: AsyncDatabase, application: dict, environment: str, actor: str):
    admission = {"supplier_id": application["supplier_id"], "application_id": application["_id"],
                 "authorised_by": actor}
    vendor_code, serial = application["vendor_code"], application["serial"]
    existing = await db.devices.find_one({"vendor_code": vendor_code, "device_id": serial}, {"status": 1, "project_id": 1})
    if existing is not None:
        if existing.get("status") == "active":
            raise Conflict("serial", f"设备 {vendor_code}/{serial} 已在平台注册，不能重复授权")
        # A device removed earlier (revoked, or removed by an operator) comes back under this application.
        reset = {"status": "active", "project_id": application["project_id"], "environment": environment,
                 "registered_by": "supplier", "model": application.get("model", ""), "serial": serial,
                 "install_place": application.get("install_place", ""), "changed_at": utcnow(), **admission}
        update: dict = {"$set": reset}
        if existing.get("project_id") != application["project_id"]:
            # Its punches for the project it left stay that project's (each punch carries its project): kept
            # so the device's history says where it served.
            update["$addToSet"] = {"earlier_projects": existing["project_id"]}
        done = await db.devices.update_one({"_id": existing["_id"], "status": "removed"}, update)
        if done.matched_count == 0:
            raise Conflict("serial", f"设备 {vendor_code}/{serial} 已在平台注册，不能重复授权")
        return existing["_id"]
    try:
        doc = await devices.register(db, project_id=application["project_id"], vendor_code=vendor_code,
                                     device_id=serial, registered_by="supplier", model=application.get("model", ""),
                                     serial=serial, install_place=application.get("install_place", ""),
                                     environment=environment, admission=admission)
    except devices.DeviceError as exc:
        raise Conflict("serial", str(exc).partition(": ")[2]) from None
    return doc["_id"]


async def find(db: AsyncDatabase, application_id: int, scope: dict) -> dict | None:
    """The application when it is inside scope (access.supplier_filter or access.county_filter)."""
    doc = await db.device_access.find_one({"_id": application_id})
    if doc is None or not access.matches(scope, doc):
        return None
    return doc


async def must_find(db: AsyncDatabase, application_id: int, scope: dict) -> dict:
    doc = await find(db, application_id, scope)
    if doc is None:
        # Someone else's application looks exactly like a missing one.
        raise NotFound("application_id", f"接入申请 {application_id} 不存在")
    return doc


def list_query(scope: dict, side: str, list_name: str) -> tuple[dict, list]:
    try:
        states = flow.states_in_list(side, list_name)
    except flow.FlowError as exc:
        raise RuleError("list", exc.message) from None
    # The scope key (supplier_id or county) leads an index followed by state.
    return {**scope, "state": {"$in": list(states)}}, [("updated_at", DESCENDING)]


async def list_for(db: AsyncDatabase, scope: dict, side: str, list_name: str, *, limit: int = 500) -> list[dict]:
    query, sort = list_query(scope, side, list_name)
    cursor = db.device_access.find(query, {"history": 0}).sort(sort).limit(limit)
    return [d async for d in cursor]


def attachment_query(application_id: int, n: int) -> dict:
    return {"application_id": application_id, "n": n}


async def attachment(db: AsyncDatabase, application: dict, n: int) -> dict:
    doc = await db.access_attachments.find_one(attachment_query(application["_id"], n))
    if doc is None:
        raise NotFound("n", f"附件 {n} 不存在")
    return doc
