"""The enterprise library (企业库): registration, editing, search and the enterprise's own account.

An enterprise is one 统一社会信用代码 (GB 32100, check character verified); it must be here
before it can join a project as a participating unit (项目指引 2.5.2). FIELDS is the form of the
project guide's 2.4 "企业信息维护" window, in its order, and is used by the API, the pages and
the export alike so the three never disagree about what an enterprise has.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from ..domain import vocabulary
from ..domain.contact import mask_mobile
from ..domain.identity import check_credit_code
from ..domain.rules import Conflict, NotFound, RuleError
from . import accounts, fields
from .db import utcnow

# 单位性质: the guide shows a drop-down without its entries; these are the usual 企业登记 kinds.
UNIT_NATURES: tuple[str, ...] = ("国有企业", "集体企业", "私营企业", "股份有限公司", "有限责任公司", "外商投资企业",
                                 "港澳台投资企业", "个体工商户", "事业单位", "机关", "社会团体", "其他")
DEFAULT_CURRENCY = "人民币元"
# Suggestions for 企业注册地区 (free text: enterprises from every province work in Jiangmen).
JIANGMEN_AREAS: tuple[str, ...] = tuple(f"广东省江门市{c}" for c in vocabulary.COUNTIES)
PAGE_SIZE_MAX = 100


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    kind: str = "text"        # text, credit_code, area, date, amount, choice, phone, email, postcode
    required: bool = False
    max_length: int = 100
    placeholder: str = ""


FIELDS: tuple[Field, ...] = (
    Field("name", "企业名称", required=True, placeholder="如 江门市某某建筑工程有限公司"),
    Field("short_name", "企业简称", required=True, max_length=50),
    Field("credit_code", "统一社会信用代码", "credit_code", required=True, max_length=18, placeholder="18 位代码"),
    Field("registered_area", "企业注册地区", "area", required=True, max_length=60, placeholder="如 广东省江门市蓬江区"),
    Field("business_address", "企业营业地址", max_length=200, placeholder="请输入企业营业地址"),
    Field("registration_date", "注册日期", "date", required=True),
    Field("established_date", "成立日期", "date"),
    Field("registered_capital", "注册资本(万元)", "amount", placeholder="请输入注册资本"),
    Field("unit_nature", "单位性质", "choice"),
    Field("capital_currency", "资本币种", max_length=20, placeholder=DEFAULT_CURRENCY),
    Field("paid_in_capital", "实收资本(万元)", "amount", placeholder="请输入实收资本"),
    Field("office_phone", "办公电话", "phone", placeholder="请输入办公电话"),
    Field("fax", "传真号码", "phone", placeholder="请输入传真号码"),
    Field("email", "企业邮箱", "email", placeholder="请输入企业邮箱"),
    Field("business_license_no", "工商营业执照注册号", max_length=30, placeholder="请输入工商营业执照注册号"),
    Field("postcode", "邮政编码", "postcode", placeholder="请输入邮政编码"),
    Field("legal_representative", "法定代表人姓名", max_length=50, placeholder="请输入法定代表人姓名"),
    # The supervisors' guide (2.4) lists 负责人 and 负责人电话 among what the library shows.
    Field("contact_name", "负责人", max_length=50, placeholder="企业负责人姓名"),
    Field("contact_phone", "负责人电话", "phone", placeholder="负责人联系电话"),
)
# A person's phone (负责人), masked in views and exports like every personal datum; office and fax are the firm's.
PERSONAL_PHONES = ("contact_phone",)
FIELD_KEYS = tuple(f.key for f in FIELDS)
_LICENSE_NO = re.compile(r"^[0-9A-Za-z\-]{1,30}$")


def _read(body: dict, f: Field, *, required: bool) -> object:
    """One field's value from the body (None: not sent); raises RuleError naming the field."""
    if f.kind == "date":
        return fields.day(body, f.key, f.label, required=required)
    if f.kind == "amount":
        return fields.amount(body, f.key, f.label)
    if f.kind == "choice":
        return fields.choice(body, f.key, f.label, UNIT_NATURES)
    if f.kind == "phone":
        return fields.phone(body, f.key, f.label)
    if f.kind == "email":
        return fields.email(body, f.key, f.label)
    if f.kind == "postcode":
        return fields.postcode(body, f.key, f.label)
    if f.kind == "credit_code":
        value = fields.text(body, f.key, f.label, required=required, max_length=40)
        if value is None:
            return None
        check = check_credit_code(value)
        if not check.ok:
            raise RuleError(f.key, check.reason)
        return check.code
    value = fields.text(body, f.key, f.label, required=required and f.kind != "area", max_length=f.max_length)
    if f.key == "business_license_no" and value and not _LICENSE_NO.match(value):
        raise RuleError(f.key, "工商营业执照注册号只能包含字母、数字和 -")
    return value


def _check_together(doc: dict, *, complete: bool = True) -> None:
    """Rules across fields, checked on the record as it will be stored."""
    if complete and not doc.get("registered_area"):
        raise RuleError("registered_area", "企业注册地区必填")
    registered, paid = doc.get("registered_capital"), doc.get("paid_in_capital")
    if registered is not None and paid is not None and paid > registered:
        raise RuleError("paid_in_capital", "实收资本不能大于注册资本")
    established, registration = doc.get("established_date"), doc.get("registration_date")
    if established and registration and established > registration:
        raise RuleError("established_date", "成立日期不能晚于注册日期")


def area_from_credit_code(code: str) -> str:
    """The registering authority's area (code characters 3–8), as a default 企业注册地区."""
    region = code[2:8]
    county = vocabulary.county_for_area_code(region)
    if county and county != vocabulary.CITY_COUNTY:
        return f"广东省江门市{county}"
    try:
        from stdnum import numdb
        info = {k: v for _, props in numdb.get("cn/loc").info(region) for k, v in props.items()}
    except Exception:  # noqa: BLE001 — a suggestion only; the user types the area instead
        return ""
    # The table marks historical names "[1983-]建邺区"; keep the name in use now (the last one).
    county_name = re.sub(r"\[[^\]]*\]", "", (info.get("county") or "").split(",")[-1])
    return f"{info.get('province', '')}{county_name}" if info.get("province") and county_name else ""


async def register(db: AsyncDatabase, body: dict, *, by: str, complete: bool = True) -> dict:
    """企业注册: every field of the guide's form; a second registration of one credit code is refused.

    complete=False (fixtures, imports) needs only the name and the credit code; the rest can be
    completed later through 编辑, as the guide's 2.4.1 企业信息完善 describes.
    """
    doc = {f.key: _read(body, f, required=f.required and (complete or f.key in ("name", "credit_code")))
           for f in FIELDS}
    doc = {k: v for k, v in doc.items() if v is not None and v != ""}
    doc.setdefault("registered_area", area_from_credit_code(doc["credit_code"]))
    doc.setdefault("capital_currency", DEFAULT_CURRENCY)
    _check_together(doc, complete=complete)
    now = utcnow()
    doc.update(created_at=now, updated_at=now, created_by=by)
    try:
        doc["_id"] = (await db.enterprises.insert_one(doc)).inserted_id
    except DuplicateKeyError:
        raise Conflict("credit_code", f"统一社会信用代码 {doc['credit_code']} 已在企业库中登记") from None
    return doc


async def update(db: AsyncDatabase, enterprise_id: ObjectId, body: dict, *, by: str) -> dict:
    """编辑: only the fields sent change; an empty optional field clears it."""
    current = await get(db, enterprise_id)
    changes, clears = {}, []
    for f in FIELDS:
        if f.key not in body:
            continue
        if f.key in PERSONAL_PHONES and current.get(f.key) and body[f.key] == mask_mobile(current[f.key]):
            continue  # shown masked (负责人电话); sent back unchanged, it means "keep it"
        value = _read(body, f, required=f.required)
        if value is None or value == "":
            clears.append(f.key)
        elif value != current.get(f.key):
            changes[f.key] = value
    merged = {**{k: v for k, v in current.items() if k not in clears}, **changes}
    _check_together(merged)
    if not changes and not clears:
        return current
    update_doc: dict = {"$set": {**changes, "updated_at": utcnow(), "updated_by": by}}
    if clears:
        update_doc["$unset"] = {k: "" for k in clears}
    try:
        await db.enterprises.update_one({"_id": enterprise_id}, update_doc)
    except DuplicateKeyError:
        raise Conflict("credit_code", f"统一社会信用代码 {changes.get('credit_code')} 已在企业库中登记") from None
    if "name" in changes:
        # Units keep the name for their lists; a renamed enterprise is renamed everywhere.
        await db.units.update_many({"enterprise_id": enterprise_id}, {"$set": {"enterprise_name": changes["name"]}})
    return await get(db, enterprise_id)


async def get(db: AsyncDatabase, enterprise_id: ObjectId) -> dict:
    doc = await db.enterprises.find_one({"_id": enterprise_id})
    if doc is None:
        raise NotFound("enterprise_id", "企业库中不存在该企业")
    return doc


def search_filter(*, keyword: str = "", credit_code: str = "", area: str = "") -> dict:
    """企业名称或简称 contains keyword; code starts with credit_code; 注册地 contains area."""
    query: dict = {}
    if credit_code:
        query["credit_code"] = {"$regex": "^" + re.escape(credit_code.strip().upper())}
    if keyword:
        pattern = re.escape(keyword.strip())
        query["$or"] = [{"name": {"$regex": pattern}}, {"short_name": {"$regex": pattern}}]
    if area:
        query["registered_area"] = {"$regex": re.escape(area.strip())}
    return query


async def search(db: AsyncDatabase, query: dict, *, page: int = 1, page_size: int = 20) -> tuple[list[dict], int]:
    total = await db.enterprises.count_documents(query)
    cursor = db.enterprises.find(query).sort("_id", -1).skip((page - 1) * page_size).limit(page_size)
    return await cursor.to_list(page_size), total


def units_query(enterprise_ids: list[ObjectId]) -> dict:
    return {"enterprise_id": {"$in": enterprise_ids}}


async def unit_types_of(db: AsyncDatabase, enterprise_ids: list[ObjectId]) -> dict[ObjectId, list[str]]:
    """单位类型 column: the types under which each enterprise takes part in projects."""
    found: dict[ObjectId, set[str]] = {}
    async for unit in db.units.find(units_query(enterprise_ids), {"enterprise_id": 1, "unit_type": 1}):
        found.setdefault(unit["enterprise_id"], set()).add(unit["unit_type"])
    return {k: sorted(v, key=vocabulary.UNIT_TYPES.index) for k, v in found.items()}


async def delete(db: AsyncDatabase, enterprise_id: ObjectId) -> None:
    """删除 (supervisors' guide 2.4): only an enterprise no project uses and without an account."""
    enterprise = await get(db, enterprise_id)
    if await db.units.find_one({"enterprise_id": enterprise_id}, {"_id": 1}):
        raise Conflict("enterprise_id", "该企业已作为参建单位加入项目，不能删除")
    if enterprise.get("account_username"):
        raise Conflict("enterprise_id", f"该企业已发放账号 {enterprise['account_username']}，不能删除")
    await db.enterprises.delete_one({"_id": enterprise_id})


async def issue_account(db: AsyncDatabase, enterprise_id: ObjectId) -> tuple[dict, str]:
    """发账号: one enterprise account per enterprise, named by its credit code; password shown once."""
    enterprise = await get(db, enterprise_id)
    if enterprise.get("account_username"):
        raise Conflict("enterprise_id", f"该企业已发放账号 {enterprise['account_username']}")
    username = enterprise["credit_code"]
    # Claim the enterprise first so two supervisors clicking at once cannot both issue.
    claimed = await db.enterprises.update_one({"_id": enterprise_id, "account_username": {"$exists": False}},
                                              {"$set": {"account_username": username, "account_issued_at": utcnow()}})
    if claimed.modified_count != 1:
        raise Conflict("enterprise_id", "该企业已发放账号")
    try:
        account, password = await accounts.create_account(db, username=username, role="enterprise",
                                                          enterprise_id=enterprise_id)
    except accounts.AccountError as exc:
        await db.enterprises.update_one({"_id": enterprise_id}, {"$unset": {"account_username": "",
                                                                            "account_issued_at": ""}})
        raise Conflict("enterprise_id", exc.message) from None
    return account, password
