"""Supplier pages (供应商注册, 供应商信息, 接入申请) and the supervisors' review pages.

Every form posts to the REST API (server/api/suppliers.py, device_access.py) through app.js;
these handlers only read and render. Element ids are stable (form ids name the action and the
record) so browser tests can drive the pages.
"""
from __future__ import annotations

from .. import access
from ..api.base import APIError
from ..api.device_access import application_view
from ..api.suppliers import supplier_view
from ..domain import device_access_flow as flow, vocabulary
from ..domain.rules import RuleError
from ..store import device_access, suppliers
from ..domain.site_clock import SITE_TZ
from ..store.device_access import CLOSED_PROJECT_STATUSES
from ..store.accounts import PASSWORD_RULE
from .pages import PageHandler

# Supplier side and supervisor side of the same application pages.
SIDES = {
    flow.SUPPLIER: {"page": "/access", "api": "/api/supplier/applications", "title": "接入申请"},
    flow.SUPERVISOR: {"page": "/device-access", "api": "/api/device-access", "title": "设备接入审核"},
}


TAG_CLASS = {vocabulary.SCOPE_APPROVED: "ok", vocabulary.SCOPE_PENDING: "wait", vocabulary.SCOPE_REFUSED: "bad"}
STATUS_CLASS = {"normal": "ok", "pending": "wait", "none": "bad"}
FIELD_LABELS = {field: label for scope in flow.SCOPES.values() for field, label, _ in scope.fields}
STATE_LABELS = {state: label for state, (label, _, _) in flow.STATES.items()}


def site_time(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Stored times are UTC; people read site time (UTC+8)."""
    return value.astimezone(SITE_TZ).strftime(fmt) if value else ""


class _Page(PageHandler):
    def render_page(self, template: str, **kwargs) -> None:
        super().render_page(template, site_time=site_time, **kwargs)


class SupplierRegisterPage(_Page):
    login_required = False
    allowed_before_password_change = True

    async def get(self):
        self.render_page("supplier_register.html", editable=suppliers.EDITABLE, password_rule=PASSWORD_RULE)


class _SupplierPage(_Page):
    page_permission = "supplier:self"

    async def supplier(self) -> dict:
        supplier = await suppliers.get(self.db, self.principal.supplier_id) if self.principal.supplier_id else None
        if supplier is None:
            raise APIError(404, "not_found", "当前账号未关联供应商")
        return supplier


class SupplierProfilePage(_SupplierPage):
    async def get(self):
        supplier = await self.supplier()
        view = supplier_view(supplier, masked=False)
        applied = {s["scope"]: s for s in view["scopes"]}
        self.render_page("supplier_profile.html", s=view, editable=suppliers.EDITABLE, scopes=flow.SCOPES,
                         applied=applied, tag_class=TAG_CLASS)


class _AccessPages(_Page):
    side = flow.SUPPLIER

    async def scope(self) -> dict:
        if self.side == flow.SUPPLIER:
            return access.supplier_filter(self.principal)
        return access.county_filter(self.principal)

    async def render_list(self):
        name = self.query("list", "todo")
        if name not in flow.LISTS:
            name = "todo"
        rows = await device_access.list_for(self.db, await self.scope(), self.side, name)
        self.render_page("access_list.html", side=self.side, urls=SIDES[self.side], lists=flow.LISTS, chosen=name,
                         rows=[application_view(d, self.side) for d in rows], steps=flow.STEPS)

    async def render_detail(self, app_id: str):
        try:
            doc = await device_access.must_find(self.db, int(app_id), await self.scope())
        except (RuleError, ValueError):
            raise APIError(404, "not_found", "接入申请不存在") from None
        self.render_page("access_detail.html", side=self.side, urls=SIDES[self.side], steps=flow.STEPS,
                         a=application_view(doc, self.side, history=True), state_labels=STATE_LABELS)


class AccessListPage(_AccessPages):
    page_permission = "supplier:self"

    async def get(self):
        await self.render_list()


class AccessDetailPage(_AccessPages):
    page_permission = "supplier:self"

    async def get(self, app_id: str):
        await self.render_detail(app_id)


class AccessNewPage(_SupplierPage):
    async def get(self):
        supplier = await self.supplier()
        approved = suppliers.approved_scopes(supplier)
        types = [s for s in flow.SCOPES.values() if s.gateway and s.code in approved]
        # Projects still building; a city has hundreds, read once for the drop-down.
        projects = await self.db.projects.find({"status": {"$nin": list(CLOSED_PROJECT_STATUSES)}},
                                               {"name": 1, "county": 1}).sort("_id", 1).to_list(2000)
        self.render_page("access_new.html", types=types, projects=projects, normal=suppliers.is_normal(supplier),
                         collection_methods=flow.COLLECTION_METHODS, biometric_methods=flow.BIOMETRIC_METHODS)


class SupplierReviewPage(_Page):
    page_permission = "suppliers:review"

    async def get(self):
        pending = self.query("pending") == "true"
        rows = [supplier_view(s, masked=True) for s in await suppliers.list_all(self.db, pending_only=pending)]
        self.render_page("supplier_review.html", rows=rows, pending=pending, status_class=STATUS_CLASS,
                         field_labels=FIELD_LABELS)


class ReviewListPage(_AccessPages):
    page_permission = "suppliers:review"
    side = flow.SUPERVISOR

    async def get(self):
        await self.render_list()


class ReviewDetailPage(_AccessPages):
    page_permission = "suppliers:review"
    side = flow.SUPERVISOR

    async def get(self, app_id: str):
        await self.render_detail(app_id)


default_handlers = [
    (r"/supplier/register", SupplierRegisterPage),
    (r"/supplier", SupplierProfilePage),
    (r"/access", AccessListPage),
    (r"/access/new", AccessNewPage),
    (r"/access/([0-9]{1,10})", AccessDetailPage),
    (r"/supplier-review", SupplierReviewPage),
    (r"/device-access", ReviewListPage),
    (r"/device-access/([0-9]{1,10})", ReviewDetailPage),
]
nav = [
    {"title": "供应商信息", "url": "/supplier", "permission": "supplier:self", "order": 100},
    {"title": "接入申请", "url": "/access", "permission": "supplier:self", "order": 110},
    {"title": "供应商审核", "url": "/supplier-review", "permission": "suppliers:review", "order": 130},
    {"title": "设备接入审核", "url": "/device-access", "permission": "suppliers:review", "order": 135},
]
