"""Device access applications over HTTP: the supplier's side and the supervisors' side.

The same application is reached by two address families, one per side, each with its own
permission: /api/supplier/applications (supplier:self, only the supplier's own) and
/api/device-access (suppliers:review, a county supervisor only its county's). Which side may take
which action is the workflow's rule (domain/device_access_flow.py), not the address's; anything
outside the caller's scope is 404, exactly as if it did not exist.
"""
from __future__ import annotations

from .. import access
from ..domain import device_access_flow as flow
from ..store import device_access as store
from ..store import suppliers as supplier_store
from .csrf import MULTIPART
from .transport import upload_body_limit
from .base import APIHandler, requires
from .exports import XLSX_TYPE, export_filename, xlsx_bytes
from .openapi import DATETIME, INT, STR, arr, enum, nullable, obj, operation, path_param, query_param

ATTACHMENT_FIELDS = ("attachment", "attachment_2", "attachment_3")
ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024
ATTACHMENT_TYPES = {"pdf": "application/pdf", "jpeg": "image/jpeg", "png": "image/png"}


def application_view(doc: dict, side: str, *, history: bool = False) -> dict:
    label, step, actor = flow.STATES[doc["state"]]
    view = {"id": doc["_id"], "supplier_id": str(doc["supplier_id"]), "supplier_name": doc.get("supplier_name", ""),
            "vendor_code": doc["vendor_code"], "project_id": doc["project_id"],
            "project_name": doc.get("project_name", ""), "county": doc["county"], "permit_no": doc.get("permit_no", ""),
            "contractor": doc.get("contractor", ""), "device_type": doc["device_type"],
            "device_type_label": flow.SCOPES[doc["device_type"]].label, "serial": doc["serial"],
            "install_place": doc.get("install_place", ""), "model": doc.get("model", ""),
            "collection_method": doc.get("collection_method", ""), "biometric_method": doc.get("biometric_method", ""),
            "description": doc.get("description", ""), "attachments": doc.get("attachments", []),
            "state": doc["state"], "state_label": label, "step": step, "next_actor": actor,
            "environment": doc.get("environment"),
            "actions": [{"code": a.code, "label": a.label, "remark_label": a.remark_label}
                        for a in flow.next_actions(doc["state"], side)],
            "created_at": doc["created_at"], "updated_at": doc["updated_at"]}
    if history:
        view["history"] = [{k: line.get(k) for k in ("action", "label", "step", "actor", "side", "remark", "state", "at")}
                           for line in doc.get("history", [])]
    return view


class _Side(APIHandler):
    """What both sides share; subclasses declare the permission and the scope."""

    side = flow.SUPPLIER

    async def scope(self) -> dict:
        if self.side == flow.SUPPLIER:
            await supplier_store.must_get(self.db, self.principal.supplier_id)  # an account without its supplier: 404
            return access.supplier_filter(self.principal)
        return access.county_filter(self.principal)

    async def find_application(self, app_id: str) -> dict:
        return await store.must_find(self.db, self.int_argument("application_id", app_id), await self.scope())

    async def list_rows(self) -> tuple[str, list[dict]]:
        name = self.get_query_argument("list", "todo")
        return name, await store.list_for(self.db, await self.scope(), self.side, name)

    async def send_list(self):
        name, rows = await self.list_rows()
        self.write_json({"list": name, "applications": [application_view(d, self.side) for d in rows],
                         "count": len(rows)})

    async def send_export(self):
        name, rows = await self.list_rows()
        headers = ["申请编号", "供应商", "项目名称", "项目所属区域", "设备类型", "设备序列号", "设备安装位置", "设备型号",
                   "采集方式", "生物识别方式", "当前步骤", "状态", "更新时间"]
        data = [[d["_id"], d.get("supplier_name", ""), d.get("project_name", ""), d["county"],
                 flow.SCOPES[d["device_type"]].label, d["serial"], d.get("install_place", ""), d.get("model", ""),
                 d.get("collection_method", ""), d.get("biometric_method", ""), flow.STEPS[flow.step_of(d["state"]) - 1],
                 flow.STATES[d["state"]][0], d["updated_at"].strftime("%Y-%m-%d %H:%M")] for d in rows]
        stem = f"设备接入申请-{flow.LISTS[name]}"
        self.send_download(xlsx_bytes(stem, headers, data), export_filename(stem), XLSX_TYPE)

    async def send_detail(self, app_id: str):
        self.write_json(application_view(await self.find_application(app_id), self.side, history=True))

    async def take_action(self, app_id: str, action: str):
        doc = await self.find_application(app_id)
        body = self.json_body()
        doc = await store.act(self.db, doc, action, side=self.side, actor=self.principal.name,
                              remark=body.get("remark"))
        self.write_json(application_view(doc, self.side, history=True))

    async def send_attachment(self, app_id: str, n: str):
        doc = await self.find_application(app_id)
        item = await store.attachment(self.db, doc, self.int_argument("n", n))
        await self.audit("device_access_attachment_download", {"application_id": doc["_id"], "n": item["n"]})
        self.send_download(bytes(item["data"]), f"接入申请{doc['_id']}-附件{item['n']}.{item['kind'].replace('jpeg', 'jpg')}",
                           ATTACHMENT_TYPES[item["kind"]])


def _side_handlers(side: str, permission: str) -> dict[str, type]:
    """The read and action addresses of one side (suffix after the side's prefix -> handler), all
    guarded by that side's permission; the two sides differ only in side and permission."""
    class ListHandler(_Side):
        @requires(permission)
        async def get(self):
            await self.send_list()

    class ExportHandler(_Side):
        @requires(permission)
        async def get(self):
            await self.send_export()

    class ApplicationHandler(_Side):
        @requires(permission)
        async def get(self, app_id: str):
            await self.send_detail(app_id)

    class ActionHandler(_Side):
        @requires(permission)
        async def post(self, app_id: str, action: str):
            await self.take_action(app_id, action)

    class AttachmentHandler(_Side):
        @requires(permission)
        async def get(self, app_id: str, n: str):
            await self.send_attachment(app_id, n)

    handlers = {"": ListHandler, "/export": ExportHandler, "/([0-9]+)": ApplicationHandler,
                "/([0-9]+)/actions/([a-z0-9_]+)": ActionHandler, "/([0-9]+)/attachments/([0-9]+)": AttachmentHandler}
    for handler in handlers.values():
        handler.side = side
    return handlers


_SUPPLIER_HANDLERS = _side_handlers(flow.SUPPLIER, "supplier:self")
_REVIEW_HANDLERS = _side_handlers(flow.SUPERVISOR, "suppliers:review")


class SupplierApplicationsHandler(_SUPPLIER_HANDLERS[""]):
    """The supplier's list, plus submitting a new application."""
    body_types = (MULTIPART,)

    @classmethod
    def body_limit(cls, config) -> int:
        return upload_body_limit(ATTACHMENT_MAX_BYTES, len(ATTACHMENT_FIELDS))

    @requires("supplier:self")
    async def post(self):
        supplier = await supplier_store.must_get(self.db, self.principal.supplier_id)
        body = {k: v[0].decode("utf-8", "replace") for k, v in self.request.body_arguments.items() if v}
        # Browsers send an empty part for a file input left empty: the optional ones count only with content.
        files = [self.uploaded_file(field, max_bytes=ATTACHMENT_MAX_BYTES, kinds=tuple(ATTACHMENT_TYPES))
                 for field in ATTACHMENT_FIELDS
                 if field == "attachment" or any(f["body"] for f in self.request.files.get(field, []))]
        doc = await store.submit(self.db, supplier, body, files, actor=self.principal.name)
        self.write_json(application_view(doc, self.side, history=True), status=201)


default_handlers = (
    [(f"/api/supplier/applications{suffix}", handler)
     for suffix, handler in {**_SUPPLIER_HANDLERS, "": SupplierApplicationsHandler}.items()]
    + [(f"/api/device-access{suffix}", handler) for suffix, handler in _REVIEW_HANDLERS.items()]
)

_action = obj(["code", "label"], code=STR, label=STR, remark_label=STR)
_line = obj(["action", "actor", "at"], action=STR, label=STR, step=INT, actor=STR, side=STR, remark=STR, state=STR,
            at=DATETIME)
VIEW = obj(["id", "project_id", "device_type", "serial", "state", "step", "actions"],
           id=INT, supplier_id=STR, supplier_name=STR, vendor_code=STR, project_id=INT, project_name=STR, county=STR,
           permit_no=STR, contractor=STR, device_type=enum(*flow.SCOPES), device_type_label=STR, serial=STR,
           install_place=STR, model=STR, collection_method=STR, biometric_method=STR, description=STR,
           attachments=arr(obj(["n", "kind", "size"], n=INT, kind=STR, size=INT)), state=enum(*flow.STATES),
           state_label=STR, step=INT, next_actor=nullable(STR), environment=nullable(STR), actions=arr(_action),
           created_at=DATETIME, updated_at=DATETIME, history=arr(_line))
_LIST = obj(["list", "applications", "count"], list=STR, applications=arr(VIEW), count=INT)
_list_param = query_param("list", enum(*flow.LISTS), "待办 todo（默认）/ 已办 done / 办结 closed")
_id = path_param("application_id", INT, "接入申请编号")
_action_param = path_param("action", enum(*flow.ACTIONS), "流程操作")
_n = path_param("n", INT, "附件序号（1 起）")
_remark = obj(["remark"], remark=STR)
_SUBMIT = obj(["project_id", "device_type", "serial", "install_place", "collection_method", "biometric_method",
               "attachment"], project_id=STR, device_type=enum(*(c for c, s in flow.SCOPES.items() if s.gateway)),
              serial=STR, install_place=STR, model=STR, collection_method=enum(*flow.COLLECTION_METHODS),
              biometric_method=enum(*flow.BIOMETRIC_METHODS), description=STR,
              **{f: {"type": "string", "format": "binary"} for f in ATTACHMENT_FIELDS})


def _paths(prefix: str, tag: str, side_name: str) -> dict:
    return {
        prefix: {"get": operation(f"接入申请列表（{side_name}：待办 / 已办 / 办结）", tag=tag,
                                  params=[_list_param], errors=(400, 404), response=_LIST)},
        f"{prefix}/export": {"get": operation("导出接入申请列表", tag=tag, params=[_list_param],
                                              errors=(400, 404), download=XLSX_TYPE)},
        f"{prefix}/{{application_id}}": {"get": operation(
            "接入申请详细（含流转记录）", tag=tag, params=[_id], errors=(400, 404), response=VIEW)},
        f"{prefix}/{{application_id}}/actions/{{action}}": {"post": operation(
            f"办理流程操作（{side_name}可办理的步骤；顺序不对为 409）", tag=tag,
            params=[_id, _action_param], body=_remark, errors=(400, 403, 404, 409), response=VIEW)},
        f"{prefix}/{{application_id}}/attachments/{{n}}": {"get": operation(
            "下载申请资料附件", tag=tag, params=[_id, _n], errors=(400, 404),
            download="application/octet-stream")},
    }


openapi = {
    **_paths("/api/supplier/applications", "接入申请", "供应商"),
    **_paths("/api/device-access", "设备接入审核", "监管"),
}
openapi["/api/supplier/applications"]["post"] = operation(
    "设备接入申请（提交资料；附件 PDF/JPEG/PNG，每个不超过 5 MB）", tag="接入申请",
    status=201, multipart=_SUBMIT, errors=(400, 404, 409, 413), response=VIEW)
