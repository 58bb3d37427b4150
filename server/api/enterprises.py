"""企业库 over HTTP: register, edit, search, export, delete, and issue an enterprise's account.

An enterprise account sees only its own enterprise; everyone else with enterprises:read sees the
whole library, which is city-wide (access.enterprise_filter).
Ids in URLs are the 24-hex-digit ObjectId; a malformed one is answered like an unknown one (404).
"""
from __future__ import annotations

from bson import ObjectId

from .. import access
from ..domain.audit_actions import changes
from ..domain.contact import mask_mobile
from ..domain.site_clock import site_day
from ..store import enterprises, fields
from .base import APIError, APIHandler, requires
from .exports import XLSX_TYPE, export_filename, xlsx_bytes
from .openapi import DATE, DATETIME, INT, NUM, STR, arr, nullable, obj, operation, path_param, query_param

OBJECT_ID = {"type": "string", "pattern": "^[0-9a-f]{24}$"}
EXPORT_MAX = 20_000


def object_id_or_404(value: str, field: str, what: str) -> ObjectId:
    """The id in a URL; a malformed id is reported exactly like a missing record."""
    oid = fields.parse_object_id(value)
    if oid is None:
        raise APIError(404, "not_found", f"{what}不存在", field=field)
    return oid


def enterprise_view(doc: dict, unit_types: list[str] | None = None, *, unmasked: bool = False) -> dict:
    """An enterprise as the API and pages show it; 负责人电话 masked unless asked and allowed (audited)."""
    out = {"id": str(doc["_id"]), "masked": not unmasked}
    for f in enterprises.FIELDS:
        value = doc.get(f.key)
        if f.kind == "date":
            value = site_day(value)
        elif f.key in enterprises.PERSONAL_PHONES and value and not unmasked:
            value = mask_mobile(value)
        elif f.kind != "amount":
            value = value or ""
        out[f.key] = value
    out.update(unit_types=unit_types or [], account_username=doc.get("account_username"),
               created_by=doc.get("created_by"),
               created_at=doc.get("created_at"), updated_at=doc.get("updated_at"))
    return out


class _EnterpriseBase(APIHandler):
    def scope(self) -> dict:
        return access.enterprise_filter(self.principal)

    async def load(self, raw_id: str) -> dict:
        oid = object_id_or_404(raw_id, "enterprise_id", "企业")
        own = self.scope().get("_id", oid)
        doc = await self.db.enterprises.find_one({"_id": oid}) if own == oid else None
        if doc is None:
            raise APIError(404, "not_found", "企业不存在", field="enterprise_id")
        return doc

    def search_query(self) -> dict:
        query = enterprises.search_filter(keyword=self.get_query_argument("q", "")[:100],
                                          credit_code=self.get_query_argument("credit_code", "")[:18],
                                          area=self.get_query_argument("area", "")[:60])
        return {**query, **self.scope()}

    def page_argument(self, name: str, default: int, maximum: int) -> int:
        number = self.int_argument(name, self.get_query_argument(name, str(default)))
        if not 1 <= number <= maximum:
            raise APIError(400, "invalid_argument", f"须在 1 到 {maximum} 之间", field=name)
        return number


class EnterprisesHandler(_EnterpriseBase):
    @requires("enterprises:read")
    async def get(self):
        page = self.page_argument("page", 1, 100_000)
        size = self.page_argument("page_size", 20, enterprises.PAGE_SIZE_MAX)
        rows, total = await enterprises.search(self.db, self.search_query(), page=page, page_size=size)
        types = await enterprises.unit_types_of(self.db, [r["_id"] for r in rows])
        self.write_json({"enterprises": [enterprise_view(r, types.get(r["_id"])) for r in rows],
                         "total": total, "page": page, "page_size": size})

    @requires("enterprises:write")
    async def post(self):
        doc = await enterprises.register(self.db, self.json_body(), by=self.principal.name)
        await self.audit("enterprise_register", {"enterprise_id": str(doc["_id"])}, credit_code=doc["credit_code"])
        self.write_json(enterprise_view(doc), status=201)


class EnterpriseExportHandler(_EnterpriseBase):
    @requires("enterprises:read")
    async def get(self):
        unmask = await self.wants_unmasked()
        rows, _ = await enterprises.search(self.db, self.search_query(), page=1, page_size=EXPORT_MAX)
        if unmask:
            await self.audit("enterprises_export_unmasked", None, rows=len(rows))
        types = await enterprises.unit_types_of(self.db, [r["_id"] for r in rows])
        headers = ["序号"] + [f.label for f in enterprises.FIELDS] + ["单位类型", "企业账号"]
        views = (enterprise_view(r, types.get(r["_id"]), unmasked=unmask) for r in rows)
        data = [[i] + [v[f.key] for f in enterprises.FIELDS] + ["、".join(v["unit_types"]), v["account_username"] or ""]
                for i, v in enumerate(views, 1)]
        self.send_download(xlsx_bytes("企业库", headers, data), export_filename("企业库"), XLSX_TYPE)


class EnterpriseHandler(_EnterpriseBase):
    @requires("enterprises:read")
    async def get(self, raw_id: str):
        doc = await self.load(raw_id)
        unmask = await self.wants_unmasked()
        if unmask:
            await self.audit("enterprise_view_unmasked", {"enterprise_id": raw_id})
        types = await enterprises.unit_types_of(self.db, [doc["_id"]])
        self.write_json(enterprise_view(doc, types.get(doc["_id"]), unmasked=unmask))

    @requires("enterprises:write")
    async def patch(self, raw_id: str):
        doc = await self.load(raw_id)
        body = self.json_body()
        updated = await enterprises.update(self.db, doc["_id"], body, by=self.principal.name)
        await self.audit("enterprise_edit", {"enterprise_id": raw_id}, changes=changes(doc, updated))
        types = await enterprises.unit_types_of(self.db, [doc["_id"]])
        self.write_json(enterprise_view(updated, types.get(doc["_id"])))

    @requires("enterprises:write")
    async def delete(self, raw_id: str):
        doc = await self.load(raw_id)
        # The library is city-wide: a project account removes only what it registered itself.
        if self.principal.role == "project" and doc.get("created_by") != self.principal.name:
            await self.refuse(403, "forbidden", "只能删除本账号登记的企业")
        await enterprises.delete(self.db, doc["_id"])
        await self.audit("enterprise_delete", {"enterprise_id": raw_id}, credit_code=doc["credit_code"],
                         name=doc["name"])
        self.write_json({"deleted": True, "id": raw_id})


class EnterpriseAccountHandler(_EnterpriseBase):
    @requires("accounts:issue")
    async def post(self, raw_id: str):
        doc = await self.load(raw_id)
        account, password = await enterprises.issue_account(self.db, doc["_id"])
        await self.audit("enterprise_account_issue", {"enterprise_id": raw_id, "username": account["username"]})
        # The initial password is shown this once; only its hash is kept and it must be changed at first login.
        self.write_json({"enterprise_id": raw_id, "username": account["username"], "password": password,
                         "must_change_password": True}, status=201)


# Any other text than "export" is an id (a malformed one answers 404, not "no such route").
ID = r"((?!export$)[^/]+)"
default_handlers = [
    (r"/api/enterprises", EnterprisesHandler),
    (r"/api/enterprises/export", EnterpriseExportHandler),
    (rf"/api/enterprises/{ID}/account", EnterpriseAccountHandler),
    (rf"/api/enterprises/{ID}", EnterpriseHandler),
]


def _field_schema(f: enterprises.Field) -> dict:
    if f.kind == "date":
        return DATE
    if f.kind == "amount":
        return {"type": "number", "minimum": 0}
    return {"type": "string", "maxLength": 40 if f.kind == "credit_code" else f.max_length}


_FIELDS = {f.key: _field_schema(f) for f in enterprises.FIELDS}
_REQUIRED = [f.key for f in enterprises.FIELDS if f.required]
ENTERPRISE = obj(["id", "name", "credit_code", "unit_types"], id=STR,
                 **{f.key: nullable(DATE) if f.kind == "date" else nullable(NUM) if f.kind == "amount" else STR
                    for f in enterprises.FIELDS},
                 unit_types=arr(STR), account_username=nullable(STR), created_by=nullable(STR),
                 created_at=nullable(DATETIME),
                 updated_at=nullable(DATETIME))
_ID_PARAM = path_param("enterprise_id", OBJECT_ID, "企业编号（24 位十六进制）")
_SEARCH = [query_param("q", description="企业名称或简称（包含）"), query_param("credit_code", description="统一社会信用代码（前缀）"),
           query_param("area", description="企业注册地（包含）")]
openapi = {
    "/api/enterprises": {
        "get": operation("企业库：查询（名称/简称、信用代码、注册地），分页；企业账号只见本企业", tag="企业库",
                         params=[*_SEARCH, query_param("page", {"type": "integer", "minimum": 1}),
                                 query_param("page_size", {"type": "integer", "minimum": 1, "maximum": 100})],
                         errors=(400,),
                         response=obj(["enterprises", "total", "page", "page_size"], enterprises=arr(ENTERPRISE),
                                      total=INT, page=INT, page_size=INT)),
        "post": operation("企业注册（统一社会信用代码校验；重复登记 409）", tag="企业库",
                          body=obj(_REQUIRED, **_FIELDS), response=ENTERPRISE, status=201, errors=(400, 409)),
    },
    "/api/enterprises/export": {"get": operation(
        "企业库导出 Excel（与查询相同的条件）", tag="企业库", params=_SEARCH, errors=(),
        download=XLSX_TYPE)},
    "/api/enterprises/{enterprise_id}": {
        "get": operation("企业详细", tag="企业库", params=[_ID_PARAM],
                         response=ENTERPRISE, errors=(404,)),
        "patch": operation("企业信息完善（编辑；只改所传字段，可选字段传空清除）", tag="企业库",
                           params=[_ID_PARAM], body=obj((), **_FIELDS),
                           response=ENTERPRISE, errors=(400, 404, 409)),
        "delete": operation("删除企业（未加入任何项目、未发账号时）", tag="企业库",
                            params=[_ID_PARAM], response=obj(["deleted", "id"], deleted={"type": "boolean"}, id=STR),
                            errors=(404, 409)),
    },
    "/api/enterprises/{enterprise_id}/account": {"post": operation(
        "发账号：生成企业账号及初始密码（只显示这一次，首次登录须修改）", tag="企业库",
        params=[_ID_PARAM], response=obj(["enterprise_id", "username", "password"], enterprise_id=STR, username=STR,
                                         password=STR, must_change_password={"type": "boolean"}),
        status=201, errors=(404, 409))},
}
