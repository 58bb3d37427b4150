"""Page handlers: the login page, password change, the home page, and the base every page builds on.

Pages are rendered on the server from the same store functions the API uses. Forms do not post
to pages: static/app.js sends them as JSON (or multipart) to the REST API and shows the API's
refusal beside the field it names, so there is one set of rules and one set of messages. The
session cookie is SameSite=Strict and the API takes only JSON bodies or multipart from our own
pages, so another site cannot submit on a user's behalf.

Each page module lists its `default_handlers` and `nav` entries (title, address, permission,
order); make_app routes the handlers and builds the navigation from the entries.
"""
from __future__ import annotations

import os
import unicodedata
import urllib.parse
from typing import Any

from tornado.web import HTTPError, StaticFileHandler

from .. import access
from ..api.base import APIError, BaseHandler
from ..api.transport import PLAIN_HTTP_REFUSAL, session_cookie_secure
from ..api.exports import safe_cell
from ..domain import project_overview as overview_rules
from ..store import project_overview, projects
from ..store.accounts import PASSWORD_RULE
from ..domain.field_labels import label_of

HERE = os.path.dirname(__file__)


class StaticFiles(StaticFileHandler):
    """The bundled scripts and styles. A path with a control character (`app.js%00.css`) names no
    file: it is a 404 here, where the file system would raise an error (a 500)."""

    def parse_url_path(self, url_path: str) -> str:
        if any(ord(c) < 32 or ord(c) == 127 for c in url_path):
            raise HTTPError(404)
        return super().parse_url_path(url_path)


def application_settings() -> dict:
    return {"template_path": os.path.join(HERE, "templates"), "static_path": os.path.join(HERE, "static"),
            "static_url_prefix": "/static/", "static_handler_class": StaticFiles}


class PageHandler(BaseHandler):
    """A page for signed-in users; anonymous visitors are sent to the login page and come back after."""

    # The permission the page needs (None: any signed-in user); public pages set login_required False.
    page_permission: str | None = None
    login_required = True

    def __init_subclass__(cls, **kwargs):
        # Like requires(): a page naming a permission that does not exist fails when its module loads.
        super().__init_subclass__(**kwargs)
        if cls.page_permission is not None:
            access.check_permission(cls.page_permission)

    async def prepare(self):
        self.principal = await self._find_principal()
        if self.principal is None:
            if self.login_required:
                self.redirect("/login?next=" + urllib.parse.quote(self.request.uri, safe=""))
            return
        if self.principal.must_change_password and not self.allowed_before_password_change:
            self.redirect("/password")
            return
        if self.page_permission and not self.principal.may(self.page_permission):
            await self.refuse(403, "forbidden", "您的账号无权访问此页面")

    def set_default_headers(self):
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Frame-Options", "DENY")
        self.set_header("Content-Security-Policy",
                        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'")

    def nav_for(self) -> list[dict]:
        if self.principal is None:
            return []
        return [entry for entry in self.settings.get("nav", [])
                if (entry["permission"] is None or self.principal.may(entry["permission"]))
                and not (entry.get("city_only") and access.county_of(self.principal))]

    def render_page(self, template: str, **kwargs: Any) -> None:
        self.render(template, principal=self.principal, nav=self.nav_for(), current=self.request.path,
                    role_names=ROLE_NAMES, **kwargs)

    def write_error(self, status_code: int, **kwargs) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, APIError):
            # A page's refusal stands alone: the field's Chinese name in front, never its code.
            label = label_of(exc.field)
            message = f"{label}：{exc.message}" if label else exc.message
        elif status_code == 404:
            message = "页面不存在"
        elif isinstance(exc, HTTPError) and status_code < 500:
            message = "请求无效"
        else:
            message = "服务器内部错误，请稍后再试"
        self.render_page("error.html", status=status_code, message=message)

    def query(self, name: str, default: str = "") -> str:
        return self.get_query_argument(name, default).strip()


ROLE_NAMES = {"supervisor": "监管", "project": "项目", "supplier": "供应商", "enterprise": "企业",
              "analyst": "分析", "admin": "管理员"}


class LoginPage(PageHandler):
    login_required = False
    allowed_before_password_change = True

    async def get(self):
        plain_http = session_cookie_secure(self.request, self.config) is None
        self.render_page("login.html", next=_safe_next(self.get_query_argument("next", "/")),
                         transport_notice=PLAIN_HTTP_REFUSAL if plain_http else "",
                         registered=self.get_query_argument("registered", "") == "1")


class PasswordPage(PageHandler):
    allowed_before_password_change = True

    async def get(self):
        self.render_page("password.html", password_rule=PASSWORD_RULE)


class HomePage(PageHandler):
    async def get(self):
        # A project account lands on its project's 项目总览 (supervisors open it from the dashboards).
        overview = None
        if self.principal.project_id is not None and self.principal.may("projects:read"):
            project = await projects.scoped(self.db, self.principal, self.principal.project_id)
            if project is not None:
                overview = await project_overview.of_project(self.db, project, config=self.config)
        self.render_page("home.html", overview=overview, definitions=overview_rules.DEFINITIONS, when=safe_cell)


class NotFoundPage(PageHandler):
    login_required = False

    async def prepare(self):
        await super().prepare()
        if not self._finished:
            raise HTTPError(404)


def _safe_next(target: str) -> str:
    """Only a path on this site: an absolute or scheme-relative address would make the login page
    an open redirect. Browsers drop tabs and line breaks from an address and read a backslash as a
    slash, so "/\t/evil.example/" is "//evil.example/" to them: any control character, whitespace or
    backslash refuses the target, and what is left must parse as a path with no scheme or host."""
    if (not target.startswith("/") or target.startswith("//") or "\\" in target
            or any(ord(c) < 33 or ord(c) == 127 or unicodedata.category(c) in ("Cc", "Cf", "Zs", "Zl", "Zp")
                   for c in target)):
        return "/"
    parts = urllib.parse.urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return "/"
    return target


default_handlers = [(r"/", HomePage), (r"/login", LoginPage), (r"/password", PasswordPage)]
nav: list[dict] = []
