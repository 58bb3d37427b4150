"""Device suppliers (供应商): registration, basic information, business scopes and their review.

Registration creates the supplier record and its login account together; a supplier is shown
as 正常 (green) once at least one business scope is approved, and may apply for device access
only within an approved scope (供应商指引 2.3.2).
"""
from __future__ import annotations

from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from ..domain import device_access_flow as flow
from ..domain.contact import check_email, check_mobile
from ..domain.identity import check_credit_code
from ..domain.rules import Conflict, NotFound, RuleError
from . import accounts, audit, fields
from .db import utcnow

# (field, label, max length): what 编辑基本信息 may change; name, credit code and vendor code are
# the supplier's identity (and the vendor code is in its devices' logins), so they stay.
EDITABLE = (("contact_name", "联系人", 40), ("contact_phone", "联系电话（手机）", 20), ("email", "邮箱", 120),
            ("address", "地址", 200), ("legal_representative", "法定代表人", 40), ("introduction", "企业简介", 1000))
REQUIRED_AT_REGISTRATION = ("name", "credit_code", "vendor_code", "contact_name", "contact_phone", "email")


def _text(body: dict, field: str, label: str, max_length: int, required: bool) -> str:
    return fields.text(body, field, label, required=required, max_length=max_length) or ""


def _check_contact(values: dict) -> None:
    """Contact phone (a mobile number) and e-mail, normalised in place by the shared contact rules."""
    for field, check in (("contact_phone", check_mobile), ("email", check_email)):
        if values.get(field):
            values[field] = check(values[field], field)


def _editable(body: dict, *, required: bool) -> dict:
    values = {}
    for field, label, max_length in EDITABLE:
        if required or field in body:
            values[field] = _text(body, field, label, max_length, required and field in REQUIRED_AT_REGISTRATION)
    _check_contact(values)
    return values


def credit_code_query(credit_code: str) -> dict:
    return {"credit_code": credit_code}


def vendor_code_query(vendor_code: str) -> dict:
    return {"vendor_code": vendor_code}


async def register(db: AsyncDatabase, body: dict) -> tuple[dict, dict]:
    """Create the supplier and its account (username and password chosen by the supplier).

    Every field is checked before anything is written; the account is created first (it checks
    the username and password rules) and removed again if the supplier record is refused, so a
    refusal leaves nothing behind.
    """
    name = _text(body, "name", "供应商名称", 100, True)
    check = check_credit_code(_text(body, "credit_code", "统一社会信用代码", 40, True))
    if not check.ok:
        raise RuleError("credit_code", check.reason)
    vendor_code = _text(body, "vendor_code", "厂商编码", 64, True)
    if problem := flow.code_problem(vendor_code):
        raise RuleError("vendor_code", f"厂商编码{problem}")
    values = _editable(body, required=True)
    username = _text(body, "username", "账号", 64, True)
    password = body.get("password")
    if not isinstance(password, str) or not password:
        raise RuleError("password", "密码必填")
    if "password_confirm" in body and body["password_confirm"] != password:
        raise RuleError("password_confirm", "两次输入的密码不一致")
    if await db.suppliers.find_one(credit_code_query(check.code), {"_id": 1}):
        raise Conflict("credit_code", "该统一社会信用代码已注册为供应商")
    if await db.suppliers.find_one(vendor_code_query(vendor_code), {"_id": 1}):
        raise Conflict("vendor_code", "该厂商编码已被其他供应商使用")
    if await accounts.by_username(db, username):
        raise Conflict("username", f"账号 {username} 已存在")
    supplier_id = ObjectId()
    try:
        account, _ = await accounts.create_account(db, username=username, role="supplier", password=password,
                                                   must_change_password=False, supplier_id=supplier_id)
    except accounts.AccountError as exc:
        raise RuleError(exc.field, exc.message) from None
    doc = {"_id": supplier_id, "name": name, "credit_code": check.code, "vendor_code": vendor_code,
           **values, "username": username, "scopes": [], "created_at": utcnow()}
    try:
        await db.suppliers.insert_one(doc)
    except DuplicateKeyError as exc:
        await db.accounts.delete_one({"_id": account["_id"]})
        field = "vendor_code" if "vendor_code" in str(exc) else "credit_code"
        raise Conflict(field, "已被其他供应商注册") from None
    await audit.record(db, actor=username, action="supplier_register",
                       target={"supplier_id": str(supplier_id)}, detail={"name": name})
    return doc, account


async def get(db: AsyncDatabase, supplier_id) -> dict | None:
    if not isinstance(supplier_id, ObjectId):
        if not ObjectId.is_valid(str(supplier_id)):
            return None
        supplier_id = ObjectId(str(supplier_id))
    return await db.suppliers.find_one({"_id": supplier_id})


async def must_get(db: AsyncDatabase, supplier_id) -> dict:
    supplier = await get(db, supplier_id) if supplier_id is not None else None
    if supplier is None:
        raise NotFound("supplier_id", "供应商不存在")
    return supplier


async def update_profile(db: AsyncDatabase, supplier_id: ObjectId, body: dict) -> dict:
    unknown = sorted(set(body) - {f for f, _, _ in EDITABLE})
    if unknown:
        raise RuleError(unknown[0], "不可修改（名称、统一社会信用代码、厂商编码不能修改）")
    values = _editable(body, required=False)
    for field in ("contact_name", "contact_phone", "email"):
        if field in values and not values[field]:
            raise RuleError(field, "不能为空")
    if values:
        await db.suppliers.update_one({"_id": supplier_id}, {"$set": {**values, "updated_at": utcnow()}})
    return await must_get(db, supplier_id)


def approved_scopes(supplier: dict) -> set[str]:
    return {s["scope"] for s in supplier.get("scopes", []) if s["state"] == "approved"}


def is_normal(supplier: dict) -> bool:
    """正常 (green): at least one business scope approved by a supervisor."""
    return bool(approved_scopes(supplier))


async def apply_scope(db: AsyncDatabase, supplier_id: ObjectId, body: dict, *, actor: str) -> dict:
    code = body.get("scope")
    scope = flow.SCOPES.get(code) if isinstance(code, str) else None
    if scope is None:
        raise RuleError("scope", "业务范围须为 " + "、".join(f"{s.code}（{s.label}）" for s in flow.SCOPES.values()))
    answers = {field: fields.choice(body, field, label, choices, required=True, max_length=200) if choices
               else _text(body, field, label, 200, True)
               for field, label, choices in scope.fields}
    _check_contact(answers)
    supplier = await must_get(db, supplier_id)
    current = next((s for s in supplier.get("scopes", []) if s["scope"] == code), None)
    if current and current["state"] != "refused":
        raise Conflict("scope", f"{scope.label}业务已申请（{flow.SCOPE_STATES[current['state']]}），不能重复申请")
    entry = {"scope": code, "fields": answers, "state": "pending", "applied_at": utcnow(),
             "reviewed_at": None, "reviewer": None, "opinion": ""}
    # Conditional on what was read, so two simultaneous applications cannot both pass.
    match = {"_id": supplier_id, "scopes": {"$elemMatch": {"scope": code, "state": "refused"}}} if current else \
        {"_id": supplier_id, "scopes.scope": {"$ne": code}}
    update = {"$set": {"scopes.$": entry}} if current else {"$push": {"scopes": entry}}
    if (await db.suppliers.update_one(match, update)).matched_count == 0:
        raise Conflict("scope", f"{scope.label}业务已申请，不能重复申请")
    await audit.record(db, actor=actor, action="supplier_scope_apply", target={"supplier_id": str(supplier_id)},
                       detail={"scope": code})
    return await must_get(db, supplier_id)


async def review_scope(db: AsyncDatabase, supplier_id, code: str, *, decision: str, opinion: str,
                       actor: str) -> dict:
    if decision not in ("approve", "refuse"):
        raise RuleError("decision", "审核结果须为 approve（通过）或 refuse（不通过）")
    if decision == "refuse" and not opinion:
        raise RuleError("opinion", "不通过时须填写审核意见")
    supplier = await must_get(db, supplier_id)
    if code not in flow.SCOPES or not any(s["scope"] == code for s in supplier.get("scopes", [])):
        raise NotFound("scope", "该供应商未申请此业务范围")
    state = "approved" if decision == "approve" else "refused"
    result = await db.suppliers.update_one(
        {"_id": supplier["_id"], "scopes": {"$elemMatch": {"scope": code, "state": "pending"}}},
        {"$set": {"scopes.$.state": state, "scopes.$.reviewed_at": utcnow(), "scopes.$.reviewer": actor,
                  "scopes.$.opinion": opinion}})
    if result.matched_count == 0:
        raise Conflict("scope", f"{flow.SCOPES[code].label}业务不在待审核状态，不能重复审核")
    await audit.record(db, actor=actor, action="supplier_scope_review", target={"supplier_id": str(supplier["_id"])},
                       detail={"scope": code, "decision": decision, "opinion": opinion})
    return await must_get(db, supplier["_id"])


async def list_all(db: AsyncDatabase, *, pending_only: bool = False) -> list[dict]:
    # A city has tens of suppliers: one read of all, sorted by registration.
    rows = [s async for s in db.suppliers.find({}).sort("created_at", -1)]
    if pending_only:
        rows = [s for s in rows if any(x["state"] == "pending" for x in s.get("scopes", []))]
    return rows
