"""Contracts (合同管理) over HTTP: register with a PDF scan, list per project and per person, view,
download the scan (audited), replace it, export the list.

ID numbers are always masked here; the scan is the only personal document served, and only to
roles with contracts:download, each download written to the audit log.
"""
from __future__ import annotations

from ..domain.identity import mask_id_number
from ..store import contracts, people, projects
from ..store.people import by_worker_nos
from ..domain.site_clock import site_day, site_today
from .csrf import MULTIPART
from .transport import upload_body_limit
from .base import APIError, APIHandler, requires
from .people import person_in_scope
from .exports import XLSX_TYPE, export_filename, xlsx_bytes
from .openapi import (BOOL, DATE, DATETIME, INT, NUM, STR, arr, enum, nullable, obj, operation, path_param,
                      query_param)

PDF_TYPE = "application/pdf"
FORM_FIELDS = ("worker_no", "effective_date", "expiry_date", "term_type", "pay_unit", "unit_price")


def contract_view(c: dict, id_numbers: dict[int, str], today) -> dict:
    return {"id": str(c["_id"]), "project_id": c["project_id"], "project_name": c.get("project_name", ""),
            "worker_no": c["worker_no"], "name": c.get("name", ""),
            "id_number": mask_id_number(id_numbers.get(c["worker_no"], "")),
            "enterprise_id": str(c["enterprise_id"]) if c.get("enterprise_id") else "",
            "enterprise_name": c.get("enterprise_name", ""),
            "effective_date": site_day(c["effective_date"]),
            "expiry_date": site_day(c.get("expiry_date")),
            "term_type": c["term_type"], "pay_unit": c["pay_unit"], "unit_price": c["unit_price"],
            "scan_size": c.get("file_size", 0), "scan_replacements": len(c.get("scan_history", [])),
            "state": contracts.state(c, today), "created_by": c.get("created_by", ""),
            "created_at": c["created_at"], "updated_at": c["updated_at"], "masked": True}


async def contract_views(db, rows: list[dict]) -> list[dict]:
    """Contracts as the API and the page show them (ID numbers masked)."""
    people = await by_worker_nos(db, (c["worker_no"] for c in rows))
    id_numbers = {w: p.get("id_number", "") for w, p in people.items()}
    today = site_today()
    return [contract_view(c, id_numbers, today) for c in rows]


class ContractBase(APIHandler):
    @classmethod
    def body_limit(cls, config) -> int:
        return upload_body_limit(config.contract_max_mb * 1024 * 1024)

    async def views(self, rows: list[dict]) -> list[dict]:
        return await contract_views(self.db, rows)

    async def visible_contract(self, contract_id: str) -> dict:
        """The contract when its project is in the principal's scope; 404 otherwise, as if absent."""
        contract = await contracts.get(self.db, contract_id)
        if contract is not None and await projects.scoped(self.db, self.principal, contract["project_id"], {"_id": 1}):
            return contract
        raise APIError(404, "not_found", f"合同 {contract_id} 不存在", field="id")

    def scan_upload(self) -> bytes:
        data, _ = self.uploaded_file("scan", max_bytes=self.config.contract_max_mb * 1024 * 1024, kinds=("pdf",))
        return data

    async def project_rows(self, project_id: str) -> tuple[dict, list[dict]]:
        project = await self.scoped_project(self.int_argument("project_id", project_id), {"name": 1, "county": 1})
        raw_worker = self.get_query_argument("worker_no", "").strip()
        worker_no = self.int_argument("worker_no", raw_worker) if raw_worker else None
        expiring = self.get_query_argument("expiring", "false").lower() in ("1", "true", "yes")
        name = self.get_query_argument("name", "").strip()[:50]
        rows = await contracts.for_project(self.db, project["_id"], name=name, worker_no=worker_no,
                                           expiring=expiring, today=site_today())
        return project, rows


class ProjectContractsHandler(ContractBase):
    body_types = (MULTIPART,)
    @requires("contracts:read")
    async def get(self, project_id: str):
        project, rows = await self.project_rows(project_id)
        views = await self.views(rows)
        self.write_json({"project_id": project["_id"], "contracts": views, "count": len(views)})

    @requires("contracts:write")
    async def post(self, project_id: str):
        project = await self.scoped_project(self.int_argument("project_id", project_id), {"name": 1, "county": 1})
        form = {k: self.get_body_argument(k, "").strip() for k in FORM_FIELDS}
        if not form["worker_no"]:
            raise APIError(400, "invalid_argument", "必填", field="worker_no")
        worker_no = self.int_argument("worker_no", form["worker_no"])
        effective = self.date_field(form, "effective_date")
        expiry = self.date_field(form, "expiry_date", required=False)
        try:
            price = float(form["unit_price"]) if form["unit_price"] else None
        except ValueError:
            price = None
        if price is None:
            raise APIError(400, "invalid_argument", "计量单价须为数字", field="unit_price")
        # Terms first, so a wrong date is reported before the (possibly large) file is looked at.
        contracts.check_terms(effective=effective, expiry=expiry, term_type=form["term_type"],
                              pay_unit=form["pay_unit"], unit_price=price)
        scan = self.scan_upload()
        doc = await contracts.register(self.db, project=project, worker_no=worker_no, effective=effective,
                                       expiry=expiry, term_type=form["term_type"], pay_unit=form["pay_unit"],
                                       unit_price=price, scan=scan, actor=self.principal.name)
        await self.audit("contract_register", {"contract_id": str(doc["_id"]), "project_id": project["_id"],
                                               "worker_no": worker_no})
        [view] = await self.views([doc])
        self.write_json(view, status=201)


class ContractHandler(ContractBase):
    @requires("contracts:read")
    async def get(self, contract_id: str):
        [view] = await self.views([await self.visible_contract(contract_id)])
        self.write_json(view)


class ContractScanHandler(ContractBase):
    body_types = (MULTIPART,)
    @requires("contracts:download")
    async def get(self, contract_id: str):
        contract = await self.visible_contract(contract_id)
        data = await contracts.scan_bytes(self.db, contract)
        await self.audit("contract_scan_download", {"contract_id": contract_id, "worker_no": contract["worker_no"],
                                                    "project_id": contract["project_id"]})
        self.send_download(data, f"合同扫描件_{contract['worker_no']}_{contract_id[-6:]}.pdf", PDF_TYPE)

    @requires("contracts:write")
    async def post(self, contract_id: str):
        contract = await self.visible_contract(contract_id)
        updated = await contracts.replace_scan(self.db, contract, self.scan_upload(), self.principal.name)
        await self.audit("contract_scan_replace", {"contract_id": contract_id, "worker_no": contract["worker_no"]})
        [view] = await self.views([updated])
        self.write_json(view)


EXPORT_HEADERS = ("序号", "姓名", "工人编号", "身份证号", "合同签订企业", "签订时所在项目", "合同生效日期", "合同失效日期",
                  "合同期限类型", "计量单位", "计量单价(元)", "状态", "更新日期")


class ProjectContractsExportHandler(ContractBase):
    @requires("contracts:read")
    async def get(self, project_id: str):
        project, rows = await self.project_rows(project_id)
        views = await self.views(rows)
        table = [(i, v["name"], v["worker_no"], v["id_number"], v["enterprise_name"], v["project_name"],
                  v["effective_date"], v["expiry_date"], v["term_type"], v["pay_unit"], v["unit_price"], v["state"],
                  v["updated_at"]) for i, v in enumerate(views, 1)]
        self.send_download(xlsx_bytes("合同管理", EXPORT_HEADERS, table),
                           export_filename(f"合同管理_{project['_id']}"), XLSX_TYPE)


class PersonContractsHandler(ContractBase):
    """A person's contracts (人员库 → 合同信息), limited to projects the principal can see."""

    @requires("contracts:read")
    async def get(self, worker_no: str):
        number = self.int_argument("worker_no", worker_no)
        # In scope exactly as for GET /api/people/{worker_no}; anyone else looks absent, so numbers
        # cannot be probed.
        person = await people.by_worker_no(self.db, number, {"created_from": 1})
        if person is None or not await person_in_scope(self.db, self.principal, person):
            raise APIError(404, "not_found", f"工人编号 {number} 不存在", field="worker_no")
        rows = await contracts.for_person(self.db, number)
        visible = await projects.visible_ids(self.db, self.principal, {c["project_id"] for c in rows})
        views = await self.views([c for c in rows if c["project_id"] in visible])
        self.write_json({"worker_no": number, "contracts": views, "count": len(views)})


default_handlers = [
    (r"/api/projects/([0-9]+)/contracts", ProjectContractsHandler),
    (r"/api/projects/([0-9]+)/contracts/export", ProjectContractsExportHandler),
    (r"/api/contracts/([^/]+)", ContractHandler),
    (r"/api/contracts/([^/]+)/scan", ContractScanHandler),
    (r"/api/people/([0-9]+)/contracts", PersonContractsHandler),
]

CONTRACT = obj(
    ["id", "project_id", "worker_no", "name", "id_number", "enterprise_name", "effective_date", "expiry_date",
     "term_type", "pay_unit", "unit_price", "state", "updated_at"],
    id=STR, project_id=INT, project_name=STR, worker_no=INT, name=STR, id_number=STR, enterprise_id=STR,
    enterprise_name=STR, effective_date=DATE, expiry_date=nullable(DATE),
    term_type=enum(*contracts.TERM_TYPES), pay_unit=enum(*contracts.PAY_UNITS), unit_price=NUM,
    scan_size=INT, scan_replacements=INT, state=enum("未生效", "有效", "即将到期", "已到期"), created_by=STR,
    created_at=DATETIME, updated_at=DATETIME, masked=BOOL)
_LIST_FILTERS = [query_param("name", STR, "姓名（包含）"), query_param("worker_no", INT, "工人编号"),
                 query_param("expiring", enum("true", "false"), f"仅显示 {contracts.EXPIRING_DAYS} 天内到期的合同")]
_SCAN = {"type": "string", "format": "binary", "description": "合同扫描件 (PDF，不超过 REALNAME_CONTRACT_MAX_MB，默认 10 MB)"}
_REGISTER = obj(["worker_no", "effective_date", "term_type", "pay_unit", "unit_price", "scan"],
                worker_no=INT, effective_date=DATE, expiry_date=DATE, term_type=enum(*contracts.TERM_TYPES),
                pay_unit=enum(*contracts.PAY_UNITS), unit_price=NUM, scan=_SCAN)
openapi = {
    "/api/projects/{project_id}/contracts": {
        "get": operation("项目的合同列表（身份证号脱敏）", tag="合同管理",
                         params=[path_param("project_id"), *_LIST_FILTERS],
                         response=obj(["project_id", "contracts", "count"], project_id=INT, count=INT,
                                      contracts=arr(CONTRACT))),
        "post": operation("登记合同（人员须在本项目进过场；合同签订企业取其所在参建单位的企业）", tag="合同管理",
                          params=[path_param("project_id")], multipart=_REGISTER,
                          response=CONTRACT, status=201, errors=(400, 401, 403, 404, 413)),
    },
    "/api/projects/{project_id}/contracts/export": {"get": operation(
        "导出项目合同列表 (Excel，身份证号脱敏)", tag="合同管理",
        params=[path_param("project_id"), *_LIST_FILTERS], download=XLSX_TYPE)},
    "/api/contracts/{id}": {"get": operation(
        "一份合同", tag="合同管理", params=[path_param("id", STR)], response=CONTRACT)},
    "/api/contracts/{id}/scan": {
        "get": operation("下载合同扫描件 (PDF，记入审计)", tag="合同管理",
                         params=[path_param("id", STR)], download=PDF_TYPE),
        "post": operation("更换合同扫描件（原件保留）", tag="合同管理",
                          params=[path_param("id", STR)], multipart=obj(["scan"], scan=_SCAN), response=CONTRACT,
                          errors=(400, 401, 403, 404, 413)),
    },
    "/api/people/{worker_no}/contracts": {"get": operation(
        "人员的合同信息（仅权限范围内项目的合同）", tag="人员库",
        params=[path_param("worker_no")], response=obj(["worker_no", "contracts", "count"], worker_no=INT, count=INT,
                                                        contracts=arr(CONTRACT)))},
}
