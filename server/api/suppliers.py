"""Suppliers: public registration, the supplier's own profile and business scopes, the supervisors' review."""
from __future__ import annotations

from ..domain import device_access_flow as flow
from ..domain.contact import mask_mobile
from ..store import suppliers as store
from .base import APIHandler, public, requires
from .exports import XLSX_TYPE, export_filename, xlsx_bytes
from .openapi import DATETIME, STR, arr, enum, nullable, obj, operation, path_param, query_param

STATUS_LABELS = {"normal": "正常", "pending": "待审核", "none": "未开通"}


def supplier_status(supplier: dict) -> str:
    states = {s["state"] for s in supplier.get("scopes", [])}
    return "normal" if "approved" in states else "pending" if "pending" in states else "none"


def supplier_view(supplier: dict, *, masked: bool) -> dict:
    """A supplier as the API shows it; supervisors see contact phones masked (personal data)."""
    phone = (lambda v: mask_mobile(v) if masked and v else v)
    status = supplier_status(supplier)
    scopes = []
    for entry in supplier.get("scopes", []):
        scope = flow.SCOPES[entry["scope"]]
        fields = {k: (phone(v) if k == "contact_phone" else v) for k, v in entry.get("fields", {}).items()}
        scopes.append({"scope": entry["scope"], "label": scope.label, "state": entry["state"],
                       "state_label": flow.SCOPE_STATES[entry["state"]], "fields": fields,
                       "applied_at": entry.get("applied_at"), "reviewed_at": entry.get("reviewed_at"),
                       "reviewer": entry.get("reviewer"), "opinion": entry.get("opinion", "")})
    view = {"id": str(supplier["_id"]), "name": supplier["name"], "credit_code": supplier["credit_code"],
            "vendor_code": supplier["vendor_code"], "username": supplier.get("username", ""),
            "status": status, "status_label": STATUS_LABELS[status], "scopes": scopes,
            "created_at": supplier["created_at"]}
    for field, _, _ in store.EDITABLE:
        value = supplier.get(field, "")
        view[field] = phone(value) if field == "contact_phone" else value
    return view


class RegisterHandler(APIHandler):
    """供应商注册: public, behind a captcha like the login (it creates an account)."""

    @public
    async def post(self):
        body = self.json_body()
        await self.check_captcha(self.text_field(body, "captcha_id"), self.text_field(body, "captcha"))
        supplier, account = await store.register(self.db, body)
        self.write_json({"id": str(supplier["_id"]), "username": account["username"], "name": supplier["name"],
                         "vendor_code": supplier["vendor_code"]}, status=201)


class OwnProfileHandler(APIHandler):
    @requires("supplier:self")
    async def get(self):
        supplier = await store.must_get(self.db, self.principal.supplier_id)
        self.write_json(supplier_view(supplier, masked=False))

    @requires("supplier:self")
    async def patch(self):
        supplier = await store.must_get(self.db, self.principal.supplier_id)
        supplier = await store.update_profile(self.db, supplier["_id"], self.json_body())
        await self.audit("supplier_profile_update", {"supplier_id": str(supplier["_id"])})
        self.write_json(supplier_view(supplier, masked=False))


class OwnScopesHandler(APIHandler):
    @requires("supplier:self")
    async def post(self):
        supplier = await store.must_get(self.db, self.principal.supplier_id)
        supplier = await store.apply_scope(self.db, supplier["_id"], self.json_body(), actor=self.principal.name)
        self.write_json(supplier_view(supplier, masked=False), status=201)


class SuppliersHandler(APIHandler):
    @requires("suppliers:review")
    async def get(self):
        rows = await store.list_all(self.db, pending_only=self.get_query_argument("pending", "") == "true")
        self.write_json({"suppliers": [supplier_view(s, masked=True) for s in rows], "count": len(rows)})


class SupplierHandler(APIHandler):
    @requires("suppliers:review")
    async def get(self, supplier_id: str):
        self.write_json(supplier_view(await store.must_get(self.db, supplier_id), masked=True))


class ScopeReviewHandler(APIHandler):
    @requires("suppliers:review")
    async def post(self, supplier_id: str, scope: str):
        body = self.json_body()
        supplier = await store.review_scope(self.db, supplier_id, scope, decision=body.get("decision"),
                                            opinion=self.optional_text(body, "opinion", 500),
                                            actor=self.principal.name)
        self.write_json(supplier_view(supplier, masked=True))


class SuppliersExportHandler(APIHandler):
    @requires("suppliers:review")
    async def get(self):
        rows = await store.list_all(self.db)
        headers = ["供应商名称", "统一社会信用代码", "厂商编码", "联系人", "联系电话", "邮箱", "状态", "业务范围", "注册时间"]
        data = []
        for s in rows:
            v = supplier_view(s, masked=True)
            data.append([v["name"], v["credit_code"], v["vendor_code"], v["contact_name"], v["contact_phone"],
                         v["email"], v["status_label"],
                         "；".join(f"{x['label']}（{x['state_label']}）" for x in v["scopes"]),
                         s["created_at"].strftime("%Y-%m-%d %H:%M")])
        self.send_download(xlsx_bytes("供应商", headers, data), export_filename("供应商"), XLSX_TYPE)


_SID = r"([0-9a-fA-F]{24})"
default_handlers = [
    (r"/api/suppliers/register", RegisterHandler),
    (r"/api/suppliers/export", SuppliersExportHandler),
    (r"/api/suppliers", SuppliersHandler),
    (rf"/api/suppliers/{_SID}", SupplierHandler),
    (rf"/api/suppliers/{_SID}/scopes/([a-z0-9_]+)/review", ScopeReviewHandler),
    (r"/api/supplier", OwnProfileHandler),
    (r"/api/supplier/scopes", OwnScopesHandler),
]

_scope_view = obj(["scope", "label", "state"], scope=STR, label=STR, state=enum(*flow.SCOPE_STATES),
                  state_label=STR, fields=obj(), applied_at=nullable(DATETIME), reviewed_at=nullable(DATETIME),
                  reviewer=nullable(STR), opinion=STR)
_editable = {field: STR for field, _, _ in store.EDITABLE}
SUPPLIER_VIEW = obj(["id", "name", "credit_code", "vendor_code", "status", "scopes"], id=STR, name=STR,
                    credit_code=STR, vendor_code=STR, username=STR, status=enum(*STATUS_LABELS), status_label=STR,
                    scopes=arr(_scope_view), created_at=DATETIME, **_editable)
_scope_fields = {field: STR for scope in flow.SCOPES.values() for field, _, _ in scope.fields}
_sid = path_param("supplier_id", {"type": "string", "pattern": "^[0-9a-fA-F]{24}$"}, "供应商编号")
openapi = {
    "/api/suppliers/register": {"post": operation(
        "供应商注册（公开；须验证码）：创建供应商及其账号", tag="供应商", public=True, status=201,
        errors=(400, 409),
        body=obj(["name", "credit_code", "vendor_code", "contact_name", "contact_phone", "email", "username",
                  "password", "captcha_id", "captcha"], name=STR, credit_code=STR, vendor_code=STR,
                 username=STR, password=STR, password_confirm=STR, captcha_id=STR, captcha=STR, **_editable),
        response=obj(["id", "username"], id=STR, username=STR, name=STR, vendor_code=STR))},
    "/api/supplier": {
        "get": operation("供应商信息（本供应商）", tag="供应商", errors=(404,),
                         response=SUPPLIER_VIEW),
        "patch": operation("编辑基本信息（名称、信用代码、厂商编码不可改）", tag="供应商",
                           errors=(400, 404), body=obj(**_editable), response=SUPPLIER_VIEW)},
    "/api/supplier/scopes": {"post": operation(
        "申请业务范围（采集设备 / 考勤设备 / 噪音扬尘）", tag="供应商", status=201,
        errors=(400, 404, 409), body=obj(["scope"], scope=enum(*flow.SCOPES), **_scope_fields),
        response=SUPPLIER_VIEW)},
    "/api/suppliers": {"get": operation(
        "供应商列表（联系电话脱敏）", tag="供应商审核", errors=(),
        params=[query_param("pending", enum("true", "false"), "true：只列有待审核业务范围的供应商")],
        response=obj(["suppliers", "count"], suppliers=arr(SUPPLIER_VIEW), count={"type": "integer"}))},
    "/api/suppliers/export": {"get": operation(
        "导出供应商列表", tag="供应商审核", errors=(), download=XLSX_TYPE)},
    "/api/suppliers/{supplier_id}": {"get": operation(
        "供应商详细", tag="供应商审核", params=[_sid], errors=(404,),
        response=SUPPLIER_VIEW)},
    "/api/suppliers/{supplier_id}/scopes/{scope}/review": {"post": operation(
        "审核业务范围申请（通过 / 不通过，附审核意见）", tag="供应商审核",
        params=[_sid, path_param("scope", enum(*flow.SCOPES), "业务范围")], errors=(400, 404, 409),
        body=obj(["decision"], decision=enum("approve", "refuse"), opinion=STR), response=SUPPLIER_VIEW)},
}
