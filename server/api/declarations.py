"""项目申报 (public form) and 项目申报审核 (supervisors): submit, list, view, proof download, decide once."""
from __future__ import annotations

from tornado.httputil import HTTPInputError, parse_body_arguments
from tornado.web import stream_request_body

from .. import access
from ..domain import vocabulary
from ..domain.contact import mask_email, mask_mobile
from ..store import declarations, outbox
from .csrf import MULTIPART
from .transport import FORM_FIELDS_ALLOWANCE
from .base import APIError, APIHandler, public, requires
from .exports import XLSX_TYPE, export_filename, xlsx_bytes
from .openapi import BOOL, DATETIME, INT, STR, arr, enum, nullable, obj, operation, path_param, query_param

BINARY = {"type": "string", "format": "binary"}


def declaration_view(doc: dict, *, unmasked: bool = False) -> dict:
    applicant = doc["applicant"]
    proof = doc.get("proof") or {}
    return {"id": str(doc["_id"]), "name": doc["name"], "supplier": doc.get("supplier", ""),
            "category": doc.get("category", ""), "status": doc.get("status", ""), "permit_no": doc.get("permit_no", ""),
            "county": doc["county"], "address": doc.get("address", ""), "applicant_name": applicant["name"],
            "applicant_mobile": applicant["mobile"] if unmasked else mask_mobile(applicant["mobile"]),
            "applicant_email": applicant["email"] if unmasked else mask_email(applicant["email"]),
            "masked": not unmasked, "submitted_at": doc["submitted_at"], "state": doc["state"],
            "state_name": declarations.STATE_NAMES[doc["state"]], "decided_at": doc.get("decided_at"),
            "decided_by": doc.get("decided_by"), "opinion": doc.get("opinion", ""),
            "project_id": doc.get("project_id"), "account_username": doc.get("account_username"),
            "proof_kind": proof.get("kind", ""), "proof_size": proof.get("size", 0)}


def history_view(doc: dict) -> list[dict]:
    return [{"at": h["at"], "by": h.get("by", ""), "action": h["action"], "result": h.get("result", ""),
             "opinion": h.get("opinion", "")} for h in doc.get("history", [])]


class ReviewHandler(APIHandler):
    """Declarations and their result mails in the reviewer's county (none: city-wide)."""

    @property
    def scope(self) -> dict:
        return access.county_filter(self.principal)


@stream_request_body
class DeclarationsHandler(ReviewHandler):
    """The public form streams its body so that an oversized request is refused before it is read:
    without this the server would hold up to Tornado's 100 MB default in memory for anyone."""
    body_types = (MULTIPART,)

    MAX_REQUEST = declarations.PROOF_MAX_BYTES + FORM_FIELDS_ALLOWANCE  # the proof plus the form's text fields

    @classmethod
    def body_limit(cls, config) -> int:
        return cls.MAX_REQUEST

    async def prepare(self):
        self._chunks: list[bytes] = []
        if self.request.method == "POST":
            length = self.request.headers.get("Content-Length")
            if length and (not length.isdigit() or int(length) > self.MAX_REQUEST):
                raise APIError(413, "too_large", f"申报内容超过 {self.MAX_REQUEST // 1024 // 1024} MB 上限",
                               field="proof")
            # Chunked uploads without a length are cut off at the same size.
            self.request.connection.set_max_body_size(self.MAX_REQUEST)
        await super().prepare()

    def data_received(self, chunk: bytes) -> None:
        self._chunks.append(chunk)

    @public
    async def post(self):
        """Public: anyone may declare a project, after a captcha; every field is checked."""
        self.request.body = b"".join(self._chunks)
        try:
            parse_body_arguments(self.request.headers.get("Content-Type", ""), self.request.body,
                                 self.request.body_arguments, self.request.files, self.request.headers)
        except HTTPInputError:
            raise APIError(400, "invalid_argument", "申报表单须以 multipart/form-data 提交", field="proof") from None
        await self.check_captcha(self.get_body_argument("captcha_id", ""), self.get_body_argument("captcha", ""))
        raw = {name: self.get_body_argument(name, "") for name in declarations.DECLARED_FIELDS + (
            "applicant_name", "applicant_mobile", "applicant_email")}
        proof, kind = self.uploaded_file("proof", max_bytes=declarations.PROOF_MAX_BYTES, kinds=declarations.PROOF_KINDS)
        doc = await declarations.submit(self.db, raw, proof=proof, proof_kind=kind, ip=self.request.remote_ip)
        await self.audit("declaration_submit", {"declaration_id": str(doc["_id"])}, name=doc["name"])
        self.write_json({"id": str(doc["_id"]), "state": doc["state"], "state_name": "待审核",
                         "message": "申报已提交，请等待监管方审核，审核结果将发送至申请人邮箱"}, status=201)

    @requires("declarations:review")
    async def get(self):
        state = self.get_query_argument("state", "pending")
        if state not in ("pending", "decided"):
            raise APIError(400, "invalid_argument", "须为 pending（待审核）或 decided（已审核）", field="state")
        rows = await declarations.listing(self.db, decided=state == "decided", scope=self.scope)
        self.write_json({"declarations": [declaration_view(d) for d in rows], "count": len(rows)})


EXPORT_HEADERS = ("序号", "项目名称", "服务商", "项目分类", "项目状态", "施工许可证", "项目所在地", "项目地点", "申请人姓名",
                  "申请人手机", "申请人邮箱", "提交时间", "审核状态", "审核人", "审核时间", "审核意见", "项目编号")


class DeclarationExportHandler(ReviewHandler):
    @requires("declarations:review")
    async def get(self):
        """The review list as Excel; contacts stay masked (as on the page)."""
        decided = self.get_query_argument("state", "pending") == "decided"
        rows = [declaration_view(d) for d in await declarations.listing(self.db, decided=decided, scope=self.scope)]
        table = [(n, d["name"], d["supplier"], d["category"], d["status"], d["permit_no"], d["county"], d["address"],
                  d["applicant_name"], d["applicant_mobile"], d["applicant_email"], d["submitted_at"], d["state_name"],
                  d["decided_by"], d["decided_at"], d["opinion"], d["project_id"]) for n, d in enumerate(rows, 1)]
        await self.audit("declaration_export", None, count=len(table))
        self.send_download(xlsx_bytes("项目审核", EXPORT_HEADERS, table), export_filename("项目审核"), XLSX_TYPE)


class DeclarationHandler(ReviewHandler):
    @requires("declarations:review")
    async def get(self, decl_id: str):
        unmask = await self.wants_unmasked()
        doc = await declarations.get(self.db, declarations.declaration_id(decl_id), scope=self.scope)
        if unmask:
            await self.audit("declaration_view_unmasked", {"declaration_id": decl_id})
        earlier = await declarations.earlier(self.db, doc, scope=self.scope)
        self.write_json({**declaration_view(doc, unmasked=unmask), "history": history_view(doc),
                         "earlier": [{"id": str(d["_id"]), "submitted_at": d["submitted_at"],
                                      "state_name": declarations.STATE_NAMES[d["state"]],
                                      "opinion": d.get("opinion", ""), "history": history_view(d)} for d in earlier]})


class DeclarationProofHandler(ReviewHandler):
    @requires("declarations:review")
    async def get(self, decl_id: str):
        data, kind = await declarations.proof(self.db, declarations.declaration_id(decl_id), scope=self.scope)
        await self.audit("declaration_proof_download", {"declaration_id": decl_id}, size=len(data))
        self.send_download(data, f"证明文件_{decl_id}.{ {'jpeg': 'jpg'}.get(kind, kind) }",
                           declarations.PROOF_TYPES[kind])


class DeclarationDecisionHandler(ReviewHandler):
    @requires("declarations:review")
    async def post(self, decl_id: str):
        body = self.json_body()
        result = body.get("result")
        if result not in ("pass", "fail"):
            raise APIError(400, "invalid_argument", "请选择通过（pass）或不通过（fail）", field="result")
        opinion = self.optional_text(body, "opinion", max_length=500)
        outcome = await declarations.decide(
            self.db, declarations.declaration_id(decl_id), passed=result == "pass", opinion=opinion,
            reviewer=self.principal.username or self.principal.name, scope=self.scope,
            login_url=f"{self.request.protocol}://{self.request.host}/login")
        doc, project = outcome["declaration"], outcome["project"]
        await self.audit(f"declaration_{result}", {"declaration_id": decl_id},
                         project_id=project["_id"] if project else None, opinion=opinion)
        if project:
            await self.audit("account_issue", {"username": outcome["username"]}, role="project",
                             project_id=project["_id"])
        outbox.deliver_soon(self.db, self.config)
        self.write_json({
            **declaration_view(doc), "history": history_view(doc),
            "username": outcome["username"], "password": outcome["password"],
            "notice": ("账号与初始密码只显示这一次，请告知申请人；结果邮件（不含密码）已发往申请人邮箱。" if project
                       else "结果邮件已发往申请人邮箱。")})


default_handlers = [
    (r"/api/declarations", DeclarationsHandler),
    (r"/api/declarations/export", DeclarationExportHandler),
    (r"/api/declarations/([0-9a-f]{24})", DeclarationHandler),
    (r"/api/declarations/([0-9a-f]{24})/proof", DeclarationProofHandler),
    (r"/api/declarations/([0-9a-f]{24})/decision", DeclarationDecisionHandler),
]

_ID = path_param("declaration_id", {"type": "string", "pattern": "^[0-9a-f]{24}$"}, "申报编号")
_HISTORY = arr(obj(["at", "by", "action"], at=DATETIME, by=STR, action=STR, result=STR, opinion=STR))
DECLARATION = obj(
    ["id", "name", "county", "state", "applicant_name", "applicant_mobile", "applicant_email", "submitted_at"],
    id=STR, name=STR, supplier=STR, category=STR, status=STR, permit_no=STR, county=STR, address=STR,
    applicant_name=STR, applicant_mobile=STR, applicant_email=STR, masked=BOOL, submitted_at=DATETIME,
    state=enum(*vocabulary.DECLARATION_STATES), state_name=STR, decided_at=nullable(DATETIME),
    decided_by=nullable(STR), opinion=STR, project_id=nullable(INT), account_username=nullable(STR),
    proof_kind=STR, proof_size=INT)
_FORM_FIELDS = {name: STR for name in ("name", "supplier", "category", "status", "permit_no", "county", "address",
                                       "applicant_name", "applicant_mobile", "applicant_email", "captcha_id",
                                       "captcha")}
openapi = {
    "/api/declarations": {
        "post": operation(
            "项目申报（公开，需验证码）：提交项目信息与证明文件（PDF/JPEG/PNG，≤5 MB）", tag="项目申报", public=True,
            multipart=obj(["name", "supplier", "category", "status", "county", "applicant_name", "applicant_mobile",
                           "applicant_email", "proof", "captcha_id", "captcha"], **_FORM_FIELDS, proof=BINARY),
            response=obj(["id", "state"], id=STR, state=STR, state_name=STR, message=STR), status=201,
            errors=(400, 409, 413, 429)),
        "get": operation(
            "项目审核列表（待审核 / 已审核；县区监管只见本县区）", tag="项目审核",
            params=[query_param("state", enum("pending", "decided"), "pending 待审核（默认），decided 已审核")],
            response=obj(["declarations", "count"], declarations=arr(DECLARATION), count=INT), errors=(400,)),
    },
    "/api/declarations/export": {"get": operation(
        "导出项目审核列表（Excel，联系方式脱敏）", tag="项目审核",
        params=[query_param("state", enum("pending", "decided"))], download=XLSX_TYPE, errors=())},
    "/api/declarations/{declaration_id}": {"get": operation(
        "申报详情与审核历史（联系方式默认脱敏；unmask=true 记入审计）", tag="项目审核",
        params=[_ID, query_param("unmask", enum("true", "false"))],
        response={**DECLARATION, "properties": {**DECLARATION["properties"], "history": _HISTORY,
                                                 "earlier": arr(obj(["id"], id=STR, submitted_at=DATETIME,
                                                                    state_name=STR, opinion=STR,
                                                                    history=_HISTORY))}},
        errors=(404,))},
    "/api/declarations/{declaration_id}/proof": {"get": operation(
        "下载证明文件（记入审计）", tag="项目审核", params=[_ID],
        download="application/octet-stream", errors=(404,))},
    "/api/declarations/{declaration_id}/decision": {"post": operation(
        "审核：通过（建项目、发项目账号，账号与初始密码只在此返回一次）或不通过（须填意见）；只能审核一次",
        tag="项目审核", params=[_ID],
        body=obj(["result"], result=enum("pass", "fail"), opinion=STR),
        response={**DECLARATION, "properties": {**DECLARATION["properties"], "history": _HISTORY,
                                                 "username": nullable(STR), "password": nullable(STR),
                                                 "notice": STR}},
        errors=(400, 404, 409))},
}
