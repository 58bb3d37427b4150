"""The OpenAPI 3 document, assembled from what each handler module declares next to its handlers.

Each module under server/api that serves /api/... ends with `default_handlers` and an `openapi`
dict {OpenAPI path: {method: operation}} built with `operation()` below, so the description sits
beside the code it describes. The permission is not written there: build_document reads it from
the handler method's requires() (`x-permission`), so the document cannot disagree with the check.
tests/api/test_openapi.py checks every Tornado route has a path here and every path a route, and
schemathesis (run in `make test`) checks the handlers keep to it.
"""
from __future__ import annotations

import re
from typing import Any, Iterable

from tornado.web import RequestHandler

from .base import APIHandler

ERROR = {"$ref": "#/components/schemas/Error"}

_ERROR_TEXT = {400: "请求参数错误（message 与 field 指出字段）", 401: "未登录或令牌无效", 403: "无权限",
               404: "不存在或不在权限范围内", 409: "状态冲突（如流程步骤顺序不对、重复）", 413: "上传文件过大",
               415: "请求体类型不是本接口规定的类型", 429: "尝试次数过多"}


def obj(required: Iterable[str] = (), **properties) -> dict:
    """A JSON object schema; extra properties are allowed so responses may grow without breaking clients."""
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def arr(items: dict) -> dict:
    return {"type": "array", "items": items}


STR = {"type": "string"}
INT = {"type": "integer"}
NUM = {"type": "number"}
BOOL = {"type": "boolean"}
DATE = {"type": "string", "format": "date"}
DATETIME = {"type": "string", "format": "date-time"}
ANY_OBJ = {"type": "object"}


def nullable(schema: dict) -> dict:
    return {**schema, "nullable": True}


def enum(*values: str) -> dict:
    return {"type": "string", "enum": list(values)}


def path_param(name: str, schema: dict | None = None, description: str = "") -> dict:
    return {"name": name, "in": "path", "required": True, "schema": schema or INT, "description": description}


def query_param(name: str, schema: dict | None = None, description: str = "", required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "schema": schema or STR, "description": description}


def operation(summary: str, *, tag: str, params: Iterable[dict] = (),
              body: dict | None = None, multipart: dict | None = None, response: dict | None = None,
              status: int = 200, errors: Iterable[int] = (400, 401, 403, 404),
              download: str | None = None, public: bool = False) -> dict:
    """One operation. `body` is a JSON request schema, `multipart` a form-data schema (files as
    format: binary), `download` the content type of a file response instead of JSON."""
    op: dict[str, Any] = {"summary": summary, "tags": [tag], "parameters": list(params), "responses": {}}
    if public:
        op["security"] = []
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if multipart is not None:
        op["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": multipart}}}
    if download:
        op["responses"][str(status)] = {"description": "文件", "content": {download: {"schema": {
            "type": "string", "format": "binary"}}}}
    else:
        op["responses"][str(status)] = {"description": "成功",
                                        "content": {"application/json": {"schema": response or ANY_OBJ}}}
    # 415: a body of a type the operation does not document (server/api/csrf.py).
    for code in sorted(set(errors) | ({415} if op.get("requestBody") else set())):
        op["responses"][str(code)] = _error(code)
    return op


def _error(code: int) -> dict:
    return {"description": _ERROR_TEXT.get(code, "错误"), "content": {"application/json": {"schema": ERROR}}}


def _with_permission(op: dict, permission: str) -> dict:
    """The operation as a caller sees it: the permission it needs, and the 401/403 that come with one."""
    (ok, success), *errors = op["responses"].items()
    errors = dict(errors) | {str(code): _error(code) for code in (401, 403) if str(code) not in op["responses"]}
    return {**op, "responses": {ok: success, **dict(sorted(errors.items()))},
            "description": f"权限: `{permission}`", "x-permission": permission}


def _shape(template: str) -> str:
    """A Tornado route pattern or an OpenAPI path with every parameter written {}: the two meet there."""
    shape = re.sub(r"\{\w+\}", "{}", template)
    while (inner := re.sub(r"\([^()]*\)", "{}", shape)) != shape:  # innermost groups first: ((?!x)[^/]+)
        shape = inner
    return shape.replace("\\", "")


def handler_permission(module: Any, path: str, method: str) -> str | None:
    """The permission the handler serving `method path` in `module` declares with requires()."""
    handlers = {_shape(pattern): handler for pattern, handler in module.default_handlers}
    handler = handlers.get(_shape(path))
    if handler is None or getattr(handler, method, None) in (None, getattr(RequestHandler, method, None)):
        raise ValueError(f"{module.__name__}: {method.upper()} {path} is documented but no handler serves it")
    return getattr(getattr(handler, method), "permission", None)


def build_document(modules: Iterable[Any]) -> dict:
    paths: dict[str, dict] = {}
    for module in modules:
        for path, methods in getattr(module, "openapi", {}).items():
            for method, op in methods.items():
                permission = handler_permission(module, path, method)
                paths.setdefault(path, {})[method] = _with_permission(op, permission) if permission else op
    return {
        "openapi": "3.0.3",
        "info": {"title": "江门市智慧工地监管平台 — 实名制管理子系统 API", "version": "1.0",
                 "description": "错误统一为 {status, code, message[, field]}；日期时间以 UTC+8 表示。"},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {"Error": obj(["status", "code", "message"], status=INT, code=STR, message=STR, field=STR)},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "realname account token 签发"},
                "session": {"type": "apiKey", "in": "cookie", "name": "realname_session"},
            },
        },
        "security": [{"bearer": []}, {"session": []}],
    }


class OpenAPIHandler(APIHandler):
    async def get(self):
        self.write_json(self.settings["openapi"])


default_handlers = [(r"/api/openapi\.json", OpenAPIHandler)]
openapi = {"/api/openapi.json": {"get": operation("本 API 的 OpenAPI 文档", tag="meta", public=True, errors=())}}
