"""人员库 pages: search the person library, add a person, and one person's details (masked; the
"查看完整信息" button asks the API with unmask=true, which checks the permission and audits), career
across projects and contracts.

Scope and masking are the API's own functions (server/api/people.py), so a page never shows more
than the API would.
"""
from __future__ import annotations

import urllib.parse

from tornado.web import HTTPError

from ..api.people import person_history, person_in_scope, person_view, search_people
from ..domain.nations import NATIONS
from ..store import people
from .device_pages import export_link
from .pages import PageHandler

PER_PAGE = 50


class PeoplePage(PageHandler):
    page_permission = "people:read"

    async def get(self):
        q = self.query("q")[:40]
        page = int(self.query("page")) if self.query("page").isdigit() and int(self.query("page")) > 0 else 1
        rows, total = await search_people(self, skip=(page - 1) * PER_PAGE, limit=PER_PAGE)
        self.render_page("people.html", q=q, rows=[person_view(p, unmasked=False) for p in rows], total=total,
                         page=page, pages=max(1, -(-total // PER_PAGE)),
                         page_url=lambda n: "/people?" + urllib.parse.urlencode({"q": q, "page": n}),
                         nations=sorted(NATIONS.items()), may_add=self.principal.may("workforce:write"),
                         export_url=export_link(self, "/api/people/export", ("q",)))


class PersonPage(PageHandler):
    page_permission = "people:read"

    async def get(self, worker_no: str):
        person = await people.by_worker_no(self.db, int(worker_no)) if len(worker_no) <= 10 else None
        if person is None or not await person_in_scope(self.db, self.principal, person):
            raise HTTPError(404)
        history = await person_history(self.db, self.principal, person)
        self.render_page("person.html", person=person_view(person, unmasked=False), career=history["career"],
                         contracts=history["contracts"], may_unmask=self.principal.may("people:unmask"))


default_handlers = [(r"/people", PeoplePage), (r"/people/([0-9]+)", PersonPage)]
nav = [{"title": "人员库", "url": "/people", "permission": "people:read", "order": 55}]
