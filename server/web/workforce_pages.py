"""Pages for the enterprise library (企业库), participating units (参建单位) and teams (班组).

Also the shared project picker other page modules reuse (roster, attendance, contracts):

    from .workforce_pages import chosen_project, project_picker_context
    project = await chosen_project(self)                  # dict or None
    self.render_page("x.html", picker=await project_picker_context(self, project), ...)
    {% include "_project_picker.html" %}                  # in the template

A project account always works on its own project; other roles pick one in their scope with
?project=ID. Out-of-scope or unknown ids behave as "nothing chosen", never as an error page, so
the picker cannot be used to probe which project numbers exist.
"""
from __future__ import annotations

import math
import urllib.parse

from tornado.web import HTTPError

from .. import access
from ..api.enterprises import enterprise_view
from ..domain import vocabulary
from ..domain.site_clock import site_today
from ..store import enterprises, fields, projects, teams, units, upload_results
from .pages import PageHandler

# Enough for a county's projects in one drop-down; the list is sorted by id.
PICKER_LIMIT = 500


async def chosen_project(handler: PageHandler) -> dict | None:
    """The project the page works on: the account's own, or ?project=ID when it is in scope."""
    principal = handler.principal
    if principal is None:
        return None
    if access.scope_of(principal) == "project":
        return await projects.scoped(handler.db, principal, principal.project_id)
    raw = handler.get_query_argument("project", "").strip()
    if not raw.isdigit() or len(raw) > 12:
        return None
    return await projects.scoped(handler.db, principal, int(raw))


async def project_picker_context(handler: PageHandler, project: dict | None) -> dict:
    """What _project_picker.html needs: the chosen project and, for roles that choose, the choices
    and, while none is chosen, the landing list."""
    fixed = access.scope_of(handler.principal) == "project"
    choices: list[dict] = []
    if not fixed:
        cursor = handler.db.projects.find(access.project_filter(handler.principal), {"name": 1, "county": 1})
        choices = await cursor.sort("_id", 1).to_list(PICKER_LIMIT)
    landing = await landing_list(handler) if not fixed and project is None else None
    return {"fixed": fixed, "project": project, "choices": choices, "action": handler.request.path,
            "landing": landing}


# The landing list's own query names, apart from the filters of the pages that include it.
LANDING_FILTERS = ("find", "in_county")
LANDING_PAGE_SIZE = 30


async def landing_list(handler: PageHandler) -> dict:
    """The projects in the visitor's scope with their key counts, searchable and paged: what a
    supervisor or analyst sees on 参建单位, 班组, 花名册, 考勤 and 合同 before choosing a project."""
    county_scope = access.county_of(handler.principal)
    county = handler.query("in_county") if handler.query("in_county") in vocabulary.COUNTIES else ""
    find = handler.query("find")[:50]
    query = projects.search_query(access.project_filter(handler.principal), county=county, q=find)
    total = await handler.db.projects.count_documents(query) if query is not None else 0
    pages = max(1, math.ceil(total / LANDING_PAGE_SIZE))
    raw_page = handler.query("list_page")
    page = min(int(raw_page), pages) if raw_page.isdigit() and 0 < int(raw_page) < 10**6 else 1
    rows = await handler.db.projects.find(query, {"name": 1, "county": 1, "status": 1}).sort("_id", 1).skip(
        (page - 1) * LANDING_PAGE_SIZE).limit(LANDING_PAGE_SIZE).to_list(LANDING_PAGE_SIZE) if total else []
    counts = await projects.key_counts(handler.db, [r["_id"] for r in rows], site_today())
    path = handler.request.path
    return {"rows": [{**r, **counts[r["_id"]], "url": f"{path}?project={r['_id']}"} for r in rows],
            "total": total, "page": page, "pages": pages, "first": (page - 1) * LANDING_PAGE_SIZE + 1,
            "filters": {"find": find, "in_county": county}, "counties": () if county_scope else vocabulary.COUNTIES,
            "page_url": lambda n: f"{path}?" + _query_string(handler, LANDING_FILTERS, list_page=n)}


def _query_string(handler: PageHandler, names: tuple[str, ...], **extra) -> str:
    """The page's own filters (and extra ones) as a query string, for export links and pagers."""
    query = {n: handler.query(n) for n in names if handler.query(n)}
    query.update({k: v for k, v in extra.items() if v not in (None, "")})
    return urllib.parse.urlencode(query)


# --- 企业库 ---------------------------------------------------------------------------------------

ENTERPRISE_FILTERS = ("q", "credit_code", "area")
ENTERPRISE_PAGE_SIZE = 20


class EnterprisesPage(PageHandler):
    page_permission = "enterprises:read"

    async def get(self):
        page = int(self.query("page")) if self.query("page").isdigit() and 0 < int(self.query("page")) < 10**6 else 1
        query = {**enterprises.search_filter(keyword=self.query("q")[:100], credit_code=self.query("credit_code")[:18],
                                             area=self.query("area")[:60]), **access.enterprise_filter(self.principal)}
        rows, total = await enterprises.search(self.db, query, page=page, page_size=ENTERPRISE_PAGE_SIZE)
        types = await enterprises.unit_types_of(self.db, [r["_id"] for r in rows])
        pages = max(1, math.ceil(total / ENTERPRISE_PAGE_SIZE))
        self.render_page("enterprises.html", rows=[enterprise_view(r, types.get(r["_id"])) for r in rows],
                         uploaded=await upload_results.enterprise_states(self.db, [r["_id"] for r in rows]),
                         total=total, page=page, pages=pages, first=(page - 1) * ENTERPRISE_PAGE_SIZE + 1,
                         filters={n: self.query(n) for n in ENTERPRISE_FILTERS},
                         export_url="/api/enterprises/export?" + _query_string(self, ENTERPRISE_FILTERS),
                         page_url=lambda n: "/enterprises?" + _query_string(self, ENTERPRISE_FILTERS, page=n),
                         areas=enterprises.JIANGMEN_AREAS)


def amount_text(value: float | None) -> str:
    """万元 amounts as typed: 5000 not 5000.0, 1200.5 not 1.2005e+03."""
    return "" if value in (None, "") else f"{float(value):.4f}".rstrip("0").rstrip(".")


class _EnterpriseFormPage(PageHandler):
    def render_form(self, enterprise: dict | None) -> None:
        self.render_page("enterprise_form.html", enterprise=enterprise, form_fields=enterprises.FIELDS,
                         amount_text=amount_text,
                         natures=enterprises.UNIT_NATURES, areas=enterprises.JIANGMEN_AREAS,
                         default_currency=enterprises.DEFAULT_CURRENCY)

    async def load(self, raw_id: str) -> dict:
        oid = fields.parse_object_id(raw_id)
        own = access.enterprise_filter(self.principal).get("_id", oid)
        doc = await self.db.enterprises.find_one({"_id": oid}) if oid is not None and own == oid else None
        if doc is None:
            raise HTTPError(404)
        return doc


class EnterpriseNewPage(_EnterpriseFormPage):
    page_permission = "enterprises:write"

    async def get(self):
        self.render_form(None)


class EnterpriseEditPage(_EnterpriseFormPage):
    page_permission = "enterprises:write"

    async def get(self, raw_id: str):
        self.render_form(enterprise_view(await self.load(raw_id)))


class EnterprisePage(_EnterpriseFormPage):
    page_permission = "enterprises:read"

    async def get(self, raw_id: str):
        doc = await self.load(raw_id)
        types = await enterprises.unit_types_of(self.db, [doc["_id"]])
        self.render_page("enterprise.html", e=enterprise_view(doc, types.get(doc["_id"])),
                         form_fields=enterprises.FIELDS, amount_text=amount_text)


# --- 项目参建单位管理 / 项目班组管理 ------------------------------------------------------------------

UNIT_FILTERS = ("unit_type", "status", "q")
TEAM_FILTERS = ("unit_id", "kind", "status", "q")
ENTERPRISE_CHOICES = 1000


def _choice(handler: PageHandler, name: str, options: tuple[str, ...]) -> str:
    value = handler.query(name)
    return value if value in options else ""


class UnitsPage(PageHandler):
    page_permission = "workforce:read"

    async def get(self):
        project = await chosen_project(self)
        rows, choices = [], []
        if project:
            rows = [units.view(u) for u in await units.list_units(
                self.db, project["_id"], unit_type=_choice(self, "unit_type", vocabulary.UNIT_TYPES),
                status=_choice(self, "status", (units.IN_SITE, units.LEFT)), keyword=self.query("q")[:100])]
            if self.principal.may("workforce:write"):
                # Suggestions for the credit code box; any code of the library is accepted.
                choices = await self.db.enterprises.find({}, {"name": 1, "credit_code": 1}).sort(
                    "_id", -1).to_list(ENTERPRISE_CHOICES)
        pid = project["_id"] if project else None
        uploaded = await upload_results.list_states(self.db, "unit", [u["id"] for u in rows])
        self.render_page("units.html", uploaded=uploaded, picker=await project_picker_context(self, project), project=project, rows=rows,
                         filters={n: self.query(n) for n in UNIT_FILTERS}, unit_types=vocabulary.UNIT_TYPES,
                         id_types=units.ID_TYPES, choices=choices, today=site_today().isoformat(),
                         export_url=f"/api/projects/{pid}/units/export?" + _query_string(self, UNIT_FILTERS))


class TeamsPage(PageHandler):
    page_permission = "workforce:read"

    async def get(self):
        project = await chosen_project(self)
        rows, unit_rows = [], []
        if project:
            unit_rows = [units.view(u) for u in await units.list_units(self.db, project["_id"])]
            unit_id = fields.parse_object_id(self.query("unit_id"))
            rows = [teams.view(t) for t in await teams.list_teams(
                self.db, project["_id"], unit_id=unit_id, kind=_choice(self, "kind", vocabulary.TEAM_KINDS),
                status=_choice(self, "status", (units.IN_SITE, units.LEFT)), keyword=self.query("q")[:50])]
        pid = project["_id"] if project else None
        uploaded = await upload_results.list_states(self.db, "team", [t["id"] for t in rows])
        self.render_page("teams.html", uploaded=uploaded, picker=await project_picker_context(self, project), project=project, rows=rows,
                         units_in_site=[u for u in unit_rows if u["status"] == units.IN_SITE], all_units=unit_rows,
                         filters={n: self.query(n) for n in TEAM_FILTERS}, kinds=vocabulary.TEAM_KINDS,
                         addable_kinds=teams.ADDABLE_KINDS, today=site_today().isoformat(),
                         export_url=f"/api/projects/{pid}/teams/export?" + _query_string(self, TEAM_FILTERS))


async def _record_in_scope(handler: PageHandler, collection: str, raw_id: str) -> tuple[dict, dict]:
    """A unit or team by its id, with its project, when the project is in the visitor's scope (else 404)."""
    oid = fields.parse_object_id(raw_id)
    doc = await handler.db[collection].find_one({"_id": oid}, {"project_id": 1}) if oid else None
    project = await projects.scoped(handler.db, handler.principal, doc["project_id"]) if doc else None
    if project is None:
        raise HTTPError(404)
    return doc, project


class UnitPage(PageHandler):
    page_permission = "workforce:read"

    async def get(self, raw_id: str):
        doc, project = await _record_in_scope(self, "units", raw_id)
        unit = units.view(await units.detail(self.db, project["_id"], doc["_id"]))
        unit_teams = [teams.view(t) for t in await teams.list_teams(self.db, project["_id"], unit_id=doc["_id"])]
        self.render_page("unit.html", project=project, u=unit, unit_teams=unit_teams, unit_types=vocabulary.UNIT_TYPES,
                         id_types=units.ID_TYPES, today=site_today().isoformat())


class TeamPage(PageHandler):
    page_permission = "workforce:read"

    async def get(self, raw_id: str):
        doc, project = await _record_in_scope(self, "teams", raw_id)
        team = teams.view(await teams.detail(self.db, project["_id"], doc["_id"]))
        self.render_page("team.html", project=project, t=team, addable_kinds=teams.ADDABLE_KINDS,
                         today=site_today().isoformat())


OID = r"([0-9a-f]{24})"
default_handlers = [
    (r"/enterprises", EnterprisesPage), (r"/enterprises/new", EnterpriseNewPage),
    (rf"/enterprises/{OID}", EnterprisePage), (rf"/enterprises/{OID}/edit", EnterpriseEditPage),
    (r"/units", UnitsPage), (rf"/units/{OID}", UnitPage),
    (r"/teams", TeamsPage), (rf"/teams/{OID}", TeamPage),
]
nav = [
    {"title": "企业库", "url": "/enterprises", "permission": "enterprises:read", "order": 20},
    {"title": "项目参建单位管理", "url": "/units", "permission": "workforce:read", "order": 30},
    {"title": "项目班组管理", "url": "/teams", "permission": "workforce:read", "order": 40},
]
