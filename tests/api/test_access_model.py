"""The access model (server/access.py) and how the web layer is held to it: unknown permission
words fail when a module loads, the OpenAPI document takes permissions from the handlers, and
access.py stays usable outside Tornado."""
from __future__ import annotations

import subprocess
import sys
import types

import pytest
from bson import ObjectId

from server import access
from server.access import Principal
from server.api import openapi
from server.api.base import APIHandler, requires
from server.web.pages import PageHandler


def test_requires_refuses_an_unknown_permission_when_the_module_loads():
    with pytest.raises(ValueError, match="no-such-permission"):
        requires("no-such-permission")
    with pytest.raises(ValueError, match="projects:raed"):
        class Typo(APIHandler):  # noqa: F841 — raising while the class body runs is the point
            @requires("projects:raed")
            async def get(self):
                pass
    assert requires("projects:read")(lambda self: None).permission == "projects:read"


def test_a_page_naming_an_unknown_permission_fails_when_defined():
    with pytest.raises(ValueError, match="workforce:reed"):
        class TypoPage(PageHandler):  # noqa: F841
            page_permission = "workforce:reed"


def test_the_document_takes_each_permission_from_the_handler_and_refuses_an_unserved_path():
    class Handler(APIHandler):
        @requires("devices:read")
        async def get(self, thing_id: str):
            pass

    module = types.ModuleType("server.api.example")
    module.default_handlers = [(r"/api/things/([0-9]+)", Handler)]
    module.openapi = {"/api/things/{thing_id}": {"get": openapi.operation(
        "one thing", tag="t", params=[openapi.path_param("thing_id")], errors=(404,))}}
    op = openapi.build_document([module])["paths"]["/api/things/{thing_id}"]["get"]
    assert op["x-permission"] == "devices:read" and op["description"] == "权限: `devices:read`"
    assert list(op["responses"]) == ["200", "401", "403", "404"]
    module.openapi["/api/things/{thing_id}"]["post"] = openapi.operation("make", tag="t")
    with pytest.raises(ValueError, match="POST /api/things/{thing_id}"):
        openapi.build_document([module])


def test_access_imports_neither_tornado_nor_the_api():
    code = ("import sys, server.access; bad = sorted(m for m in sys.modules if m.split('.')[0] == 'tornado' "
            "or m.startswith('server.api') or m.startswith('server.web')); print(bad); sys.exit(1 if bad else 0)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_every_role_of_the_table_is_a_role_and_every_word_a_permission():
    assert set(access.ROLE_PERMISSIONS) == set(access.ROLES)
    assert all(p in access.PERMISSIONS for granted in access.ROLE_PERMISSIONS.values() for p in granted - {"*"})
    with pytest.raises(ValueError):
        access.check_permission("audit:write")


SUPPLIER, ENTERPRISE = ObjectId(), ObjectId()
NOTHING = {"$in": []}


@pytest.mark.parametrize("principal, kind, projects, county, supplier, enterprise", [
    (Principal.for_role("supervisor"), "city", {}, {}, {"supplier_id": NOTHING}, {}),
    (Principal.for_role("supervisor", county="江海区"), "county", {"county": "江海区"}, {"county": "江海区"},
     {"supplier_id": NOTHING}, {}),
    (Principal.for_role("project", project_id=7), "project", {"_id": 7}, {"county": NOTHING},
     {"supplier_id": NOTHING}, {}),
    (Principal.for_role("supplier", supplier_id=SUPPLIER), "supplier", {"_id": NOTHING}, {"county": NOTHING},
     {"supplier_id": SUPPLIER}, {}),
    (Principal.for_role("enterprise", enterprise_id=ENTERPRISE), "enterprise", {"_id": NOTHING},
     {"county": NOTHING}, {"supplier_id": NOTHING}, {"_id": ENTERPRISE}),
    (Principal.for_role("analyst"), "city", {}, {}, {"supplier_id": NOTHING}, {}),
    (Principal("admin-token", "admin", frozenset({"*"})), "city", {}, {}, {"supplier_id": NOTHING}, {}),
    (Principal.for_role("visitor"), "none", {"_id": NOTHING}, {"county": NOTHING}, {"supplier_id": NOTHING}, {}),
], ids=["city", "county", "project", "supplier", "enterprise", "analyst", "admin", "unknown"])
def test_scope_filters_of_each_kind_of_caller(principal, kind, projects, county, supplier, enterprise):
    assert access.scope_of(principal) == kind
    assert access.project_filter(principal) == projects
    assert access.county_filter(principal) == county
    assert access.supplier_filter(principal) == supplier
    assert access.enterprise_filter(principal) == enterprise
    assert access.county_of(principal) == ("江海区" if kind == "county" else None)


def test_restrict_narrows_and_never_overrides_a_scope():
    assert access.restrict({"_id": 7}, _id=8) is None               # {**scope, "_id": 8} would reach project 8
    assert access.restrict({"_id": 7}, _id=7) == {"_id": 7}
    assert access.restrict({"county": "江海区"}, _id=8) == {"county": "江海区", "_id": 8}
    assert access.restrict({"_id": 7}, _id={"$in": [6, 7]}) == {"_id": 7}
    assert access.restrict({"_id": NOTHING}, _id={"$in": [6, 7]}) is None
    assert access.restrict({"_id": {"$in": [1, 2, 3]}}, _id={"$in": [2, 3, 4]}) == {"_id": {"$in": [2, 3]}}
    assert access.restrict({}, county="台山市") == {"county": "台山市"}
    assert access.matches({"county": "江海区"}, {"_id": 1, "county": "江海区"})
    assert not access.matches({"county": "江海区"}, {"_id": 1, "county": "台山市"})
    assert not access.matches({"supplier_id": NOTHING}, {"supplier_id": None})
    assert access.matches({}, {"anything": 1})
