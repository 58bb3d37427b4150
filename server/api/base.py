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

from ..store.db import SITE_TZ

log = logging.getLogger("realname.web")


@dataclasses.dataclass(frozen=True)
class Principal:
    name: str
    role: str
    permissions: frozenset[str]

    def may(self, permission: str) -> bool:
        return "*" in self.permissions or permission in self.permissions


def requires(permission: str):
    """Declare the permission a handler method needs; checked before the method runs."""
    def decorate(method):
        @functools.wraps(method)
        async def wrapper(self: "APIHandler", *args, **kwargs):
            if self.principal is None:
                raise APIError(401, "unauthorized", "需要登录或有效的访问令牌 (bearer token required)")
            if not self.principal.may(permission):
                raise APIError(403, "forbidden", f"无权限: {permission}")
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

    def prepare(self):
        self.principal = self._find_principal()

    def _find_principal(self) -> Principal | None:
        header = self.request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        if hmac.compare_digest(token.strip().encode(), self.config.admin_token.encode()):
            return Principal("admin-token", "admin", frozenset({"*"}))
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
