"""Handler base classes: shared services from settings, JSON in and out, principals and permissions."""
from __future__ import annotations

import functools
import hmac
import json
import logging
import re
import urllib.parse
import datetime as dt
from typing import Any

from bson import ObjectId
from tornado.web import HTTPError, RequestHandler

from ..access import Principal, check_permission
from ..store import accounts, audit, captchas, projects, sessions
from ..domain.field_labels import label_of
from ..domain.rules import RuleError
from ..domain.site_clock import SITE_TZ, parse_day
from . import csrf, pdf_files
from .transport import DEFAULT_BODY_LIMIT

log = logging.getLogger("realname.web")

SESSION_COOKIE = "realname_session"
# Longest path or query kept in an audit entry: enough to see what was asked, not a way to fill the log.
AUDIT_TEXT_MAX = 2000


def _reporting_rule_errors(method):
    """A RuleError raised by the store becomes a 400/404/409 that names the field (in `field`, never in
    the message), so handlers call the store and let its reasons through unchanged."""
    @functools.wraps(method)
    async def wrapper(self: "BaseHandler", *args, **kwargs):
        try:
            return await method(self, *args, **kwargs)
        except RuleError as exc:
            raise APIError(exc.status, exc.code, exc.message, field=exc.field) from None
    return wrapper


def requires(permission: str):
    """Declare the permission a handler method needs; checked before the method runs. A word that is
    not in server.access.PERMISSIONS fails here, when the handler's module loads."""
    check_permission(permission)

    def decorate(method):
        method = _reporting_rule_errors(method)

        @functools.wraps(method)
        async def wrapper(self: "BaseHandler", *args, **kwargs):
            if self.principal is None:
                await self.refuse(401, "unauthorized", "需要登录或有效的访问令牌 (bearer token required)")
            if not self.principal.may(permission):
                await self.refuse(403, "forbidden", f"无权限: {permission}")
            return await method(self, *args, **kwargs)
        wrapper.permission = permission
        return wrapper
    return decorate


def public(method):
    """A method anyone may call (项目申报, 供应商注册): no permission, the store's refusals reported alike."""
    return _reporting_rule_errors(method)


class APIError(HTTPError):
    def __init__(self, status: int, code: str, message: str, field: str | None = None):
        super().__init__(status, reason=None)
        self.code, self.message, self.field = code, message, field


def _json_default(value: Any):
    if isinstance(value, dt.datetime):
        # People read these: site time (UTC+8), with the offset so machines lose nothing.
        return value.astimezone(SITE_TZ).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, ObjectId):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class BaseHandler(RequestHandler):
    principal: Principal | None = None

    @property
    def db(self):
        return self.settings["db"]

    @property
    def config(self):
        return self.settings["config"]

    @classmethod
    def body_limit(cls, config) -> int:
        """Largest request body this route reads; bigger ones are refused before they are read.
        Upload routes override it with their file limit plus the form's text fields."""
        return DEFAULT_BODY_LIMIT

    # The few endpoints a user who must still change the issued password may call.
    allowed_before_password_change = False

    # The request body types this route documents; upload routes take multipart instead.
    body_types: tuple[str, ...] = (csrf.JSON,)

    async def prepare(self):
        self.principal = await self._find_principal()
        if (refused := csrf.refusal(self.request, self.body_types, SESSION_COOKIE)) is not None:
            await self.refuse(*refused)
        if (self.principal is not None and self.principal.must_change_password
                and not self.allowed_before_password_change):
            await self.refuse(403, "password_change_required", "请先修改初始密码")

    async def _find_principal(self) -> Principal | None:
        header = self.request.headers.get("Authorization", "")
        if header:
            # A request that presents a token is judged by the token alone, never by a cookie beside it.
            scheme, _, token = header.partition(" ")
            token = token.strip()
            if scheme.lower() != "bearer" or not token:
                return None
            if hmac.compare_digest(token.encode(), self.config.admin_token.encode()):
                return Principal("admin-token", "admin", frozenset({"*"}))
            account = await accounts.find_by_token(self.db, token)
            return Principal.from_account(account) if account else None
        session_id = self.get_signed_cookie(SESSION_COOKIE)
        if not session_id:
            return None
        idle = dt.timedelta(minutes=self.config.session_idle_minutes)
        session = await sessions.resolve(self.db, session_id.decode(), idle=idle)
        if session is None:
            return None
        account = await accounts.by_username(self.db, session["username"])
        if account is None or account.get("disabled"):
            return None
        return Principal.from_account(account, session_id=session["_id"])

    async def scoped_project(self, project_id: int, projection: dict | None = None) -> dict:
        """The project if the principal may see it; otherwise 404, exactly as if it did not exist."""
        project = await projects.scoped(self.db, self.principal, project_id, projection)
        if project is None:
            raise APIError(404, "not_found", f"项目 {project_id} 不存在", field="project_id")
        return project

    async def wants_unmasked(self) -> bool:
        """?unmask=true asks for personal data in full: only with people:unmask (the caller audits the view)."""
        unmask = self.get_query_argument("unmask", "false").lower() in ("1", "true", "yes")
        if unmask and not self.principal.may("people:unmask"):
            # The entry keeps the query and this reason: an auditor looking for unmask attempts finds them.
            await self.refuse(403, "forbidden", "无权查看未脱敏的个人信息", field="unmask")
        return unmask

    async def check_captcha(self, captcha_id: str, answer: str) -> None:
        if not await captchas.check(self.db, captcha_id, answer):
            raise APIError(400, "captcha_invalid", "验证码错误或已失效，请重新获取", field="captcha")

    async def audit(self, action: str, target: dict | None = None, **detail) -> None:
        """Write who did what from where; every view or export of unmasked personal data comes here."""
        await audit.record(self.db, actor=self.principal.name if self.principal else "anonymous", action=action,
                           target=target, detail={"ip": self.request.remote_ip, **detail})

    def uploaded_file(self, field: str, *, max_bytes: int, kinds: tuple[str, ...]) -> tuple[bytes, str]:
        """The bytes and detected kind of one multipart upload, checked by content, never by its name.

        The client's file name is not returned: it must never reach the file system, and what a
        file is comes from its first bytes (kinds: "pdf", "xlsx", "jpeg", "png").
        """
        files = self.request.files.get(field) or []
        if len(files) != 1:
            raise APIError(400, "invalid_argument", "请上传一个文件", field=field)
        body = files[0]["body"]
        if not body:
            raise APIError(400, "invalid_argument", "文件为空", field=field)
        if len(body) > max_bytes:
            raise APIError(413, "too_large", f"文件超过 {max_bytes // 1024 // 1024} MB 上限", field=field)
        kind = sniff_kind(body)
        if kind not in kinds:
            names = {"pdf": "PDF", "xlsx": "Excel (.xlsx)", "jpeg": "JPEG", "png": "PNG"}
            raise APIError(400, "invalid_file_type",
                           f"文件类型须为 {' / '.join(names[k] for k in kinds)}", field=field)
        if kind == "pdf" and not pdf_files.readable(body):
            # "%PDF-" and then HTML would be served back as a PDF: only a document that parses is kept.
            raise APIError(400, "invalid_file_type", "文件不是有效的 PDF 文档（无法解析）", field=field)
        return body, kind

    def send_download(self, data: bytes, filename: str, content_type: str) -> None:
        """Send bytes as an attachment, never shown in the browser: the Chinese file name travels
        RFC 5987-encoded, the plain fallback keeps only harmless characters, and should a browser
        open it anyway, it runs nothing (sandbox) and is not re-typed (nosniff, on every response)."""
        self.set_header("Content-Type", content_type)
        self.set_header("Content-Disposition", attachment_disposition(filename))
        self.set_header("Content-Security-Policy", "default-src 'none'; sandbox")
        self.set_header("Cache-Control", "no-store")
        self.finish(data)

    async def refuse(self, status: int, code: str, message: str, field: str | None = None):
        """Raise the refusal, after writing it to the audit log (who was refused what, from where, and why;
        with the field refused, so an auditor finds e.g. every refused unmask by field=unmask)."""
        await self.audit("refused", {"method": self.request.method, "path": self.request.path[:AUDIT_TEXT_MAX],
                                  "query": self.request.query[:AUDIT_TEXT_MAX]},
                         status=status, code=code, reason=message, **({"field": field} if field else {}))
        raise APIError(status, code, message, field=field)


def attachment_disposition(filename: str) -> str:
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{urllib.parse.quote(filename, safe='')}"


def sniff_kind(body: bytes) -> str | None:
    if body.startswith(b"%PDF-"):
        return "pdf"
    if body.startswith(b"PK\x03\x04"):
        return "xlsx"
    if body.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if body.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    return None


# No form of the platform nests deeper than a few levels; deeper JSON is an attack on the recursion
# of whatever reads it next (the BSON encoder, the audit log).
JSON_MAX_DEPTH = 16


def json_shape_problem(value: Any) -> str | None:
    """Why a decoded JSON body cannot be stored, or None: too deep, or text that is not Unicode
    (a lone surrogate such as "\\ud800" decodes in Python but no database or log can encode it)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > JSON_MAX_DEPTH:
            return f"请求体嵌套超过 {JSON_MAX_DEPTH} 层"
        if isinstance(item, dict):
            stack.extend((k, depth) for k in item)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "请求体含有无效的 Unicode 字符 (lone surrogate)"
    return None


class APIHandler(BaseHandler):
    def set_default_headers(self):
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")

    def write_json(self, payload: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(payload, ensure_ascii=False, default=_json_default))

    def write_error(self, status_code: int, **kwargs) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        field = None
        if isinstance(exc, APIError):
            code, message, field = exc.code, exc.message, exc.field
        elif status_code == 404:
            code, message = "not_found", "资源不存在"
        elif status_code == 405:
            code, message = "method_not_allowed", "不支持的请求方法"
        elif status_code < 500:
            code, message = "bad_request", "请求无效"
        else:
            # Internals stay in the log, never in the response.
            code, message = "internal_error", "服务器内部错误"
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        payload = {"status": status_code, "code": code, "message": message}
        if field:
            payload["field"] = field
            if label := label_of(field):
                payload["field_label"] = label
        self.finish(json.dumps(payload, ensure_ascii=False))

    def json_body(self) -> dict:
        try:
            body = json.loads(self.request.body or b"{}")
        except (ValueError, RecursionError):
            raise APIError(400, "invalid_json", "请求体须为 JSON 对象") from None
        if not isinstance(body, dict):
            raise APIError(400, "invalid_json", "请求体须为 JSON 对象")
        problem = json_shape_problem(body)
        if problem:
            raise APIError(400, "invalid_json", problem)
        return body

    @staticmethod
    def text_field(body: dict, name: str, max_length: int = 200) -> str:
        """A required text, bounded before anybody stores or logs it (a login's username goes to the audit log)."""
        value = body.get(name)
        if not isinstance(value, str) or not value:
            raise APIError(400, "invalid_argument", "必填", field=name)
        if len(value) > max_length:
            raise APIError(400, "invalid_argument", f"不能超过 {max_length} 个字符", field=name)
        return value

    @staticmethod
    def optional_text(body: dict, name: str, max_length: int = 200) -> str:
        value = body.get(name, "")
        if value is None:
            return ""
        if not isinstance(value, str):
            raise APIError(400, "invalid_argument", "须为文本", field=name)
        if len(value) > max_length:
            raise APIError(400, "invalid_argument", f"不能超过 {max_length} 个字符", field=name)
        return value.strip()

    @staticmethod
    def date_field(body: dict, name: str, *, required: bool = True) -> dt.date | None:
        value = body.get(name)
        if value in (None, ""):
            if required:
                raise APIError(400, "invalid_argument", "必填", field=name)
            return None
        try:
            return parse_day(value, name)
        except RuleError:
            raise APIError(400, "invalid_argument", "日期格式须为 YYYY-MM-DD", field=name) from None

    def int_argument(self, name: str, value: str) -> int:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise APIError(400, "invalid_argument", "须为整数", field=name) from None
        if not 0 <= number <= 0xFFFFFFFF:
            raise APIError(400, "invalid_argument", "超出范围", field=name)
        return number

    def date_argument(self, name: str, default: dt.date) -> dt.date:
        value = self.get_query_argument(name, None)
        if value is None:
            return default
        return self.date_field({name: value}, name)
