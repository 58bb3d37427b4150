"""Handler base classes: shared services from settings, JSON in and out, principals and permissions."""
from __future__ import annotations

import dataclasses
import functools
import hmac
import json
import logging
import datetime as dt
from typing import Any

from bson import ObjectId
from tornado.web import HTTPError, RequestHandler

from ..store import accounts, audit, sessions
from ..store.db import SITE_TZ

log = logging.getLogger("realname.web")

SESSION_COOKIE = "realname_session"


# What each role may do; scope (own project, own county) is applied by the handlers via Principal.
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "supervisor": frozenset({"projects:read", "devices:read", "people:read", "people:unmask", "punches:read",
                             "audit:read"}),
    # Devices are listed city-wide for now, so project accounts get no devices:read until that list is scoped.
    "project": frozenset({"projects:read", "people:read", "punches:read"}),
    # Suppliers and enterprises get their permissions with their own pages (later issues).
    "supplier": frozenset(),
    "enterprise": frozenset(),
    "analyst": frozenset({"projects:read", "devices:read", "people:read", "punches:read"}),
    "admin": frozenset({"*"}),
}


@dataclasses.dataclass(frozen=True)
class Principal:
    name: str
    role: str
    permissions: frozenset[str]
    username: str | None = None
    project_id: int | None = None
    county: str | None = None
    must_change_password: bool = False
    session_id: str | None = None

    @classmethod
    def from_account(cls, account: dict, session_id: str | None = None) -> "Principal":
        return cls(account["username"], account["role"], ROLE_PERMISSIONS.get(account["role"], frozenset()),
                   username=account["username"], project_id=account.get("project_id"),
                   county=account.get("county"), must_change_password=bool(account.get("must_change_password")),
                   session_id=session_id)

    def may(self, permission: str) -> bool:
        return "*" in self.permissions or permission in self.permissions

    def can_see_project(self, project: dict) -> bool:
        if self.role == "project":
            return project.get("_id") == self.project_id
        if self.role == "supervisor" and self.county:
            return project.get("county") == self.county
        return True

    def project_filter(self) -> dict:
        """The same scope as can_see_project, as a query on projects."""
        if self.role == "project":
            return {"_id": self.project_id}
        if self.role == "supervisor" and self.county:
            return {"county": self.county}
        return {}


def requires(permission: str):
    """Declare the permission a handler method needs; checked before the method runs."""
    def decorate(method):
        @functools.wraps(method)
        async def wrapper(self: "APIHandler", *args, **kwargs):
            if self.principal is None:
                await self.refuse(401, "unauthorized", "需要登录或有效的访问令牌 (bearer token required)")
            if not self.principal.may(permission):
                await self.refuse(403, "forbidden", f"无权限: {permission}")
            return await method(self, *args, **kwargs)
        wrapper.permission = permission
        return wrapper
    return decorate


class APIError(HTTPError):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(status, reason=None)
        self.code, self.message = code, message


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

    # The few endpoints a user who must still change the issued password may call.
    allowed_before_password_change = False

    async def prepare(self):
        self.principal = await self._find_principal()
        if (self.principal is not None and self.principal.must_change_password
                and not self.allowed_before_password_change):
            await self.refuse(403, "password_change_required", "请先修改初始密码 (password: 须先修改)")

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

    async def refuse(self, status: int, code: str, message: str):
        """Raise the refusal, after writing it to the audit log (who was refused what, from where)."""
        actor = self.principal.name if self.principal else "anonymous"
        await audit.record(self.db, actor=actor, action="refused",
                           target={"method": self.request.method, "path": self.request.path},
                           detail={"status": status, "code": code, "ip": self.request.remote_ip})
        raise APIError(status, code, message)


class APIHandler(BaseHandler):
    def set_default_headers(self):
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")

    def write_json(self, payload: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(payload, ensure_ascii=False, default=_json_default))

    def write_error(self, status_code: int, **kwargs) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, APIError):
            code, message = exc.code, exc.message
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
        self.finish(json.dumps({"status": status_code, "code": code, "message": message}, ensure_ascii=False))

    def json_body(self) -> dict:
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            raise APIError(400, "invalid_json", "请求体须为 JSON 对象") from None
        if not isinstance(body, dict):
            raise APIError(400, "invalid_json", "请求体须为 JSON 对象")
        return body

    @staticmethod
    def text_field(body: dict, name: str) -> str:
        value = body.get(name)
        if not isinstance(value, str) or not value:
            raise APIError(400, "invalid_argument", f"{name}: 必填")
        return value

    def int_argument(self, name: str, value: str) -> int:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise APIError(400, "invalid_argument", f"{name}: 须为整数") from None
        if not 0 <= number <= 0xFFFFFFFF:
            raise APIError(400, "invalid_argument", f"{name}: 超出范围")
        return number

    def date_argument(self, name: str, default: dt.date) -> dt.date:
        value = self.get_query_argument(name, None)
        if value is None:
            return default
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise APIError(400, "invalid_argument", f"{name}: 日期格式须为 YYYY-MM-DD") from None
