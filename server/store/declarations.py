"""Project declarations (项目申报): submitted by anyone from the login page, decided once by a supervisor.

Passing a declaration creates the project in the library with the declared fields and issues its
project account (initial password shown once to the reviewer, never stored); either result is
queued as an e-mail to the applicant (outbox). The proof file (证明文件) is kept in the database
with the declaration, never on disk, and is left out of every query that does not download it.
"""
from __future__ import annotations

import datetime as dt
import hashlib

from bson import Binary, ObjectId
from pymongo import DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from .. import access
from ..domain import vocabulary
from ..domain.contact import check_email, check_mobile
from ..domain.rules import Conflict, NotFound, RuleError
from . import outbox, projects
from .fields import check_visible, parse_object_id, text
from .db import utcnow

PROOF_MAX_BYTES = 5 * 1024 * 1024
PROOF_KINDS = ("pdf", "jpeg", "png")
PROOF_TYPES = {"pdf": "application/pdf", "jpeg": "image/jpeg", "png": "image/png"}
# The form is public: one address may declare a few projects an hour, not flood the review list.
PER_ADDRESS_LIMIT, PER_ADDRESS_WINDOW = 5, dt.timedelta(hours=1)

DECLARED_FIELDS = ("name", "supplier", "category", "status", "permit_no", "county", "address")
REQUIRED_FIELDS = ("name", "supplier", "category", "status", "county")
PENDING, PASSED, FAILED = vocabulary.DECLARATION_PENDING, vocabulary.DECLARATION_PASSED, vocabulary.DECLARATION_FAILED
STATE_NAMES = vocabulary.DECLARATION_STATE_NAMES
WITHOUT_PROOF = {"proof.data": 0}


def declaration_id(value: str) -> ObjectId:
    oid = parse_object_id(value)
    if oid is None:
        raise NotFound("declaration_id", "申报记录不存在")
    return oid


def name_query(name: str) -> tuple[dict, list]:
    """Declarations of one project name, newest first; on the name alone so its index answers."""
    return {"name": name}, [("submitted_at", DESCENDING)]


def address_query(ip: str, now: dt.datetime) -> dict:
    return {"ip": ip, "submitted_at": {"$gte": now - PER_ADDRESS_WINDOW}}


async def submit(db: AsyncDatabase, raw: dict, *, proof: bytes, proof_kind: str, ip: str) -> dict:
    """Check every field, then keep the declaration as 待审核. Refusals name the field (RuleError)."""
    fields = projects.clean_fields(raw, DECLARED_FIELDS, required=REQUIRED_FIELDS)
    applicant = {"name": text(raw, "applicant_name", "申请人姓名", required=True, max_length=50),
                 "mobile": check_mobile(raw.get("applicant_mobile") or "", "applicant_mobile"),
                 "email": check_email(raw.get("applicant_email") or "", "applicant_email")}
    if proof_kind not in PROOF_KINDS or len(proof) > PROOF_MAX_BYTES:
        raise RuleError("proof", "证明文件须为不超过 5 MB 的 PDF、JPEG 或 PNG")
    # One pending declaration per project name: a second submit (double click, impatience) would
    # only make reviewers decide the same thing twice. Filtered on the name alone (its index).
    async for other in db.declarations.find(name_query(fields["name"])[0], {"state": 1}):
        if other["state"] == PENDING:
            raise Conflict("name", "该项目已提交申报，正在等待审核，请勿重复提交")
    now = utcnow()
    recent = await db.declarations.count_documents(address_query(ip, now), limit=PER_ADDRESS_LIMIT)
    if recent >= PER_ADDRESS_LIMIT:
        raise RuleError("proof", "提交过于频繁，请一小时后再试", code="too_many_requests", status=429)
    doc = {**fields, "applicant": applicant, "state": PENDING, "submitted_at": now, "ip": ip,
           "proof": {"data": Binary(proof), "kind": proof_kind, "size": len(proof),
                     "sha256": hashlib.sha256(proof).hexdigest()},
           "history": [{"action": "submitted", "at": now, "by": applicant["name"], "result": "提交申报",
                        "opinion": ""}]}
    doc["_id"] = (await db.declarations.insert_one(doc)).inserted_id
    del doc["proof"]["data"]
    return doc


# `scope` below is the reviewer's access.county_filter: a county supervisor's county, or the city.
def listing_query(*, decided: bool, scope: dict) -> tuple[dict, list]:
    states = {"$in": [PASSED, FAILED]} if decided else PENDING
    return {**scope, "state": states}, [("submitted_at", DESCENDING)]


async def listing(db: AsyncDatabase, *, decided: bool, scope: dict, limit: int = 500) -> list[dict]:
    query, order = listing_query(decided=decided, scope=scope)
    return [d async for d in db.declarations.find(query, WITHOUT_PROOF).sort(order).limit(limit)]


async def get(db: AsyncDatabase, decl_id: ObjectId, *, scope: dict) -> dict:
    """The declaration (without proof bytes) if it exists in the scope; NotFound otherwise."""
    doc = await db.declarations.find_one({"_id": decl_id, **scope}, WITHOUT_PROOF)
    if doc is None:
        raise NotFound("declaration_id", "申报记录不存在")
    return doc


async def earlier(db: AsyncDatabase, doc: dict, *, scope: dict) -> list[dict]:
    """Other declarations of the same project name (in scope): the 申请记录 a reviewer checks beside this one."""
    # Filtered on the name alone so the name index answers; this one and other counties are dropped here.
    query, order = name_query(doc["name"])
    found = db.declarations.find(query, {"proof": 0}).sort(order).limit(50)
    return [d async for d in found if d["_id"] != doc["_id"] and access.matches(scope, d)][:20]


async def proof(db: AsyncDatabase, decl_id: ObjectId, *, scope: dict) -> tuple[bytes, str]:
    doc = await db.declarations.find_one({"_id": decl_id, **scope}, {"proof": 1})
    if doc is None or not doc.get("proof"):
        raise NotFound("declaration_id", "申报记录不存在")
    return bytes(doc["proof"]["data"]), doc["proof"]["kind"]


async def decide(db: AsyncDatabase, decl_id: ObjectId, *, passed: bool, opinion: str, reviewer: str,
                 scope: dict, login_url: str, existing_project_id: int | None = None) -> dict:
    """Record the one decision; on pass create the project and its account.

    Returns {"declaration", "project", "username", "password"}; password is the generated initial
    password, returned to the caller once and kept nowhere. `existing_project_id` passes a
    declaration of a project already in the library (the demo city's): it is linked, not copied,
    and keeps its own accounts.
    """
    opinion = (opinion or "").strip()
    if not passed and not opinion:
        raise RuleError("opinion", "审核不通过时须填写审核意见")
    if len(opinion) > 500:
        raise RuleError("opinion", "审核意见不能超过 500 个字符")
    check_visible(opinion, "opinion", "审核意见", multiline=True)
    now = utcnow()
    state = PASSED if passed else FAILED
    entry = {"action": state, "at": now, "by": reviewer, "result": STATE_NAMES[state], "opinion": opinion}
    # Claiming the pending declaration and recording the decision is one atomic step: of two
    # reviewers deciding at once, exactly one succeeds and the other gets 409.
    doc = await db.declarations.find_one_and_update(
        {"_id": decl_id, "state": PENDING, **scope},
        {"$set": {"state": state, "decided_at": now, "decided_by": reviewer, "opinion": opinion},
         "$push": {"history": entry}}, projection=WITHOUT_PROOF, return_document=ReturnDocument.AFTER)
    if doc is None:
        current = await get(db, decl_id, scope=scope)  # NotFound when absent or out of scope
        raise Conflict("declaration_id", f"该申报已审核（{STATE_NAMES.get(current['state'], current['state'])}），不能重复审核")
    result = {"declaration": doc, "project": None, "username": None, "password": None}
    if passed:
        try:
            result.update(await _link_project(db, doc, existing_project_id) if existing_project_id else
                          await _create_project_and_account(db, doc, reviewer))
        except Exception:
            # Nothing half-done: the declaration goes back to 待审核 so it can be decided again.
            await db.declarations.update_one({"_id": decl_id}, {
                "$set": {"state": PENDING}, "$unset": {"decided_at": "", "decided_by": "", "opinion": ""},
                "$pop": {"history": 1}})
            raise
        await db.declarations.update_one({"_id": decl_id}, {"$set": {
            "project_id": result["project"]["_id"], "account_username": result["username"]}})
        doc.update(project_id=result["project"]["_id"], account_username=result["username"])
    await outbox.enqueue(db, to=doc["applicant"]["email"], county=doc["county"],
                         related={"declaration_id": decl_id},
                         **result_mail(doc, passed=passed, opinion=opinion, username=result["username"],
                                       login_url=login_url))
    return result


async def _create_project_and_account(db: AsyncDatabase, doc: dict, reviewer: str) -> dict:
    project = await projects.register(
        db, {k: doc.get(k, "") for k in DECLARED_FIELDS}, actor=reviewer,
        extra={"declaration_id": doc["_id"], "applicant": doc["applicant"], "declared_at": doc["submitted_at"]})
    username, password = await projects.issue_account(db, project["_id"])
    return {"project": project, "username": username, "password": password}


async def _link_project(db: AsyncDatabase, doc: dict, project_id: int) -> dict:
    project = await projects.get(db, project_id)
    link = {"declaration_id": doc["_id"], "applicant": doc["applicant"], "declared_at": doc["submitted_at"]}
    await db.projects.update_one({"_id": project_id}, {"$set": link})
    return {"project": {**project, **link}, "username": None, "password": None}


def result_mail(doc: dict, *, passed: bool, opinion: str, username: str | None, login_url: str) -> dict:
    """Subject and text of the result e-mail.

    The initial password is deliberately NOT in the mail: the outbox keeps every mail in the
    database (it must stay inspectable), and the rule is that passwords are never stored in clear;
    e-mail is also no secure channel. The mail carries the account name and login address; the
    reviewer sees the initial password once and hands it over (the guide's 发账号 does the same),
    and it must be changed at first login anyway.
    """
    greeting = f"{doc['applicant']['name']}，您好：\n\n"
    if passed:
        return {"subject": f"项目申报审核通过：{doc['name']}", "body": (
            f"{greeting}您申报的项目「{doc['name']}」（{doc['county']}）已审核通过，已进入项目库。\n"
            f"项目账号：{username or '沿用项目已有账号'}\n登录地址：{login_url}\n"
            "初始密码由审核人员另行告知（不通过邮件发送），首次登录须修改密码。\n"
            + (f"审核意见：{opinion}\n" if opinion else "") + "\n江门市智慧工地监管平台")}
    return {"subject": f"项目申报审核未通过：{doc['name']}", "body": (
        f"{greeting}您申报的项目「{doc['name']}」未通过审核。\n审核意见：{opinion}\n"
        f"请按意见修改后重新申报：{login_url.rsplit('/', 1)[0]}/declare\n\n江门市智慧工地监管平台")}
