"""项目申报 (public), 项目审核, 发件箱, 项目库 and one project's page.

Rendered from the same store functions as the API; every form posts to the API through app.js.
Contact details of applicants are masked unless the reviewer asks (audited, as in the API).
"""
from __future__ import annotations

import urllib.parse

from tornado.web import HTTPError

from .. import access
from ..api.declarations import declaration_view, history_view
from ..api.exports import safe_cell
from ..api.outbox import mail_view
from ..domain import vocabulary
from ..domain.project_status import ALLOWED
from ..domain.rules import NotFound
from ..store import declarations, outbox, projects, qualification
from .pages import PageHandler

STATUS_TAG = {vocabulary.PROJECT_UNDER_CONSTRUCTION: "ok", vocabulary.PROJECT_SUSPENDED: "wait",
              vocabulary.PROJECT_COMPLETED: "", vocabulary.PROJECT_CANCELLED: "bad"}
DECLARATION_TAG = {vocabulary.DECLARATION_PENDING: "wait", vocabulary.DECLARATION_PASSED: "ok",
                   vocabulary.DECLARATION_FAILED: "bad"}


class DeclarePage(PageHandler):
    login_required = False

    async def get(self):
        self.render_page("declare.html", counties=vocabulary.COUNTIES, categories=vocabulary.PROJECT_CATEGORIES,
                         statuses=vocabulary.PROJECT_STATUSES[:2], max_mb=declarations.PROOF_MAX_BYTES // 1024 // 1024)


class ReviewPage(PageHandler):
    page_permission = "declarations:review"

    @property
    def scope(self) -> dict:
        return access.county_filter(self.principal)


class DeclarationsPage(ReviewPage):
    async def get(self):
        decided = self.query("state") == "decided"
        rows = await declarations.listing(self.db, decided=decided, scope=self.scope)
        self.render_page("declarations.html", rows=[declaration_view(d) for d in rows], decided=decided,
                         tag=DECLARATION_TAG, when=safe_cell)


class DeclarationPage(ReviewPage):
    async def get(self, decl_id: str):
        unmask = await self.wants_unmasked()
        try:
            doc = await declarations.get(self.db, declarations.declaration_id(decl_id), scope=self.scope)
        except NotFound:
            raise HTTPError(404) from None
        if unmask:
            await self.audit("declaration_view_unmasked", {"declaration_id": decl_id})
        earlier = await declarations.earlier(self.db, doc, scope=self.scope)
        self.render_page("declaration.html", d=declaration_view(doc, unmasked=unmask), history=history_view(doc),
                         earlier=[{**declaration_view(e), "history": history_view(e)} for e in earlier],
                         tag=DECLARATION_TAG, when=safe_cell)


class OutboxPage(ReviewPage):
    async def get(self):
        rows = await outbox.listing(self.db, scope=self.scope)
        self.render_page("outbox.html", mails=[mail_view(m) for m in rows], smtp=bool(self.config.smtp_host),
                         when=safe_cell)


# The 项目合格 rule banner explains the library's 上传省厅 / 项目合格 columns; it is shown only once
# those columns are (set True together with them).
SHOW_QUALIFIED = False


class ProjectsPage(PageHandler):
    page_permission = "projects:read"

    async def get(self):
        filters = {"county": self.query("county"), "status": self.query("status"), "q": self.query("q")[:50]}
        if filters["county"] not in ("",) + vocabulary.COUNTIES:
            filters["county"] = ""
        if filters["status"] not in ("",) + vocabulary.PROJECT_STATUSES:
            filters["status"] = ""
        rows = await qualification.attach(self.db, await projects.library(self.db, access.project_filter(self.principal), **filters),
                                          worker_share=self.config.qualified_worker_share)
        query = urllib.parse.urlencode({k: v for k, v in filters.items() if v})
        self.render_page("projects.html", rows=[projects.view(p) for p in rows], filters=filters,
                         counties=vocabulary.COUNTIES, statuses=vocabulary.PROJECT_STATUSES, categories=vocabulary.PROJECT_CATEGORIES,
                         export_url="/api/projects/export" + ("?" + query if query else ""), tag=STATUS_TAG,
                         may_manage=self.principal.may("projects:manage"),
                         may_issue=self.principal.may("accounts:issue"),
                         county_scope=access.county_of(self.principal), show_qualified=SHOW_QUALIFIED)


class ProjectPage(PageHandler):
    page_permission = "projects:read"

    async def get(self, project_id: str):
        pid = int(project_id)
        project = await projects.scoped(self.db, self.principal, pid)
        if project is None:
            raise HTTPError(404)
        project.update((await projects.unit_names(self.db, [pid])).get(pid, {}))
        await qualification.attach(self.db, [project], worker_share=self.config.qualified_worker_share)
        v = projects.view(project, full=True)
        current = v["status"]
        next_statuses = [s for s in ALLOWED.get(current, ())
                         if s != vocabulary.PROJECT_CANCELLED or self.principal.may("projects:manage")]
        self.render_page("project.html", p=v, tag=STATUS_TAG, categories=vocabulary.PROJECT_CATEGORIES,
                         counties=vocabulary.COUNTIES, next_statuses=next_statuses,
                         may_write=self.principal.may("projects:write") and current != vocabulary.PROJECT_CANCELLED,
                         may_move=access.may_move_county(self.principal),
                         may_manage=self.principal.may("projects:manage") and current != vocabulary.PROJECT_CANCELLED,
                         when=safe_cell)


default_handlers = [
    (r"/declare", DeclarePage), (r"/declarations", DeclarationsPage),
    (r"/declarations/([0-9a-f]{24})", DeclarationPage), (r"/outbox", OutboxPage),
    (r"/projects", ProjectsPage), (r"/projects/([0-9]{1,9})", ProjectPage),
]
nav = [
    {"title": "项目库", "url": "/projects", "permission": "projects:read", "order": 10},
    {"title": "项目审核", "url": "/declarations", "permission": "declarations:review", "order": 80},
    {"title": "发件箱", "url": "/outbox", "permission": "declarations:review", "order": 85},
]
