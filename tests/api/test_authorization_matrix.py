"""Every operation of the OpenAPI document × every role: who is refused (401/403) must follow what
this file says each role may do.

The expectations below (EXPECTED_OPERATIONS, EXPECTED_PAGES) are written here from docs/access.md
and the README's portal table, not read from server/access.py: a wrong change to ROLE_PERMISSIONS
or to a handler's requires() word makes a row fail, and a new operation or page fails until
someone writes down who may call it. For each operation served at /api/openapi.json and each
kind of caller:
  anonymous                                → 401, unless the operation is public
  a role the row does not name             → 403
  a role the row names (and admin, always) → neither 401 nor 403 (nor a server error); a 400/404/409
                                             for an empty body or a made-up id is fine.
Path parameters are filled with the site's real project, worker, unit and team where the name says
so, so scoped roles are asked about records they may see. Callers use bearer tokens of real
accounts (one web server and one set of accounts per module), so nothing a call does to a
session (logout, password change) affects the next call. Every page route gets the same check
(anonymous visitors are sent to /login instead of a 401).
"""
from __future__ import annotations

import re
import uuid

import pytest
from bson import ObjectId
from pymongo import MongoClient

from server.api import openapi as openapi_module
from server.api.app import API_MODULES, PAGE_MODULES
from server.store import accounts

from support import FORWARD_SECRET, DashboardsProcess, WebThread, build_site, make_account_sync, run_async

COUNTY = "蓬江区"  # build_site's county: the county supervisor sees the site
# (caller, role, account scope); scope values naming the site are filled in by the fixture.
CALLERS = [
    ("supervisor-city", "supervisor", {}),
    ("supervisor-county", "supervisor", {"county": COUNTY}),
    ("project", "project", {"project_id": "site"}),
    ("supplier", "supplier", {"supplier_id": ObjectId()}),
    ("enterprise", "enterprise", {"enterprise_id": ObjectId()}),
    ("analyst", "analyst", {}),
    ("admin", "admin", {}),
    ("anonymous", None, {}),
]
# Who may call what (docs/access.md "Roles and permissions"): S supervisor, P project, U supplier,
# E enterprise, A analyst; admin may call everything. PUBLIC: anyone, signed in or not; SIGNED_IN:
# any signed-in role.
PUBLIC, SIGNED_IN = "public", "signed-in"
ROLE_LETTERS = {"S": "supervisor", "P": "project", "U": "supplier", "E": "enterprise", "A": "analyst"}
EXPECTED_OPERATIONS = {
    # meta, signing in
    "GET /api/health": PUBLIC, "GET /api/openapi.json": PUBLIC, "GET /api/captcha": PUBLIC,
    "POST /api/login": PUBLIC, "POST /api/logout": PUBLIC, "GET /api/me": SIGNED_IN, "POST /api/password": SIGNED_IN,
    # 项目申报 (public) and 项目审核, result mails: supervisors
    "POST /api/declarations": PUBLIC, "GET /api/declarations": "S", "GET /api/declarations/export": "S",
    "GET /api/declarations/{declaration_id}": "S", "POST /api/declarations/{declaration_id}/decision": "S",
    "GET /api/declarations/{declaration_id}/proof": "S",
    "GET /api/outbox": "S", "GET /api/outbox/export": "S", "POST /api/outbox/send": "S",
    # 项目库: supervisors, projects and analysts read; supervisors and projects edit; supervisors register, issue
    "GET /api/projects": "SPA", "GET /api/projects/export": "SPA", "GET /api/projects/{project_id}": "SPA",
    # 上传省厅结果查询: whoever reads the project library reads its upload results
    "GET /api/uploads": "SPA", "GET /api/uploads/export": "SPA", "GET /api/projects/{project_id}/uploads": "SPA",
    "GET /api/projects/{project_id}/uploads/export": "SPA",
    "POST /api/projects": "S", "POST /api/projects/{project_id}/account": "S",
    "PATCH /api/projects/{project_id}": "SP", "POST /api/projects/{project_id}/status": "SP",
    "POST /api/projects/{project_id}/venue-code": "SP", "POST /api/projects/{project_id}/location": "SP",
    "POST /api/projects/{project_id}/province": "S",                      # the platform's appid and secret
    # 企业库: an enterprise reads its own record; supervisors and projects edit; supervisors issue accounts
    "GET /api/enterprises": "SPEA", "GET /api/enterprises/export": "SPEA", "GET /api/enterprises/{enterprise_id}": "SPEA",
    "POST /api/enterprises": "SP", "PATCH /api/enterprises/{enterprise_id}": "SP",
    "DELETE /api/enterprises/{enterprise_id}": "SP", "POST /api/enterprises/{enterprise_id}/account": "S",
    # units, teams, roster: supervisors and analysts read, the project writes
    "GET /api/projects/{project_id}/units": "SPA", "GET /api/projects/{project_id}/units/export": "SPA",
    "GET /api/projects/{project_id}/units/{unit_id}": "SPA", "POST /api/projects/{project_id}/units": "P",
    "PATCH /api/projects/{project_id}/units/{unit_id}": "P", "DELETE /api/projects/{project_id}/units/{unit_id}": "P",
    "POST /api/projects/{project_id}/units/{unit_id}/exit": "P",
    "GET /api/projects/{project_id}/teams": "SPA", "GET /api/projects/{project_id}/teams/export": "SPA",
    "GET /api/projects/{project_id}/teams/{team_id}": "SPA", "POST /api/projects/{project_id}/teams": "P",
    "PATCH /api/projects/{project_id}/teams/{team_id}": "P", "DELETE /api/projects/{project_id}/teams/{team_id}": "P",
    "POST /api/projects/{project_id}/teams/{team_id}/exit": "P",
    "GET /api/projects/{project_id}/roster": "SPA", "GET /api/projects/{project_id}/roster/export": "SPA",
    "GET /api/projects/{project_id}/roster/options": "SPA", "GET /api/roster/template": "SPA",
    "GET /api/imports/{job_id}": "SPA", "POST /api/projects/{project_id}/roster": "P",
    "POST /api/projects/{project_id}/roster/exit": "P", "POST /api/projects/{project_id}/roster/import": "P",
    # 人员库: read by supervisors, projects, analysts (masked); the project adds people it enters
    "GET /api/people": "SPA", "GET /api/people/export": "SPA", "GET /api/people/{worker_no}": "SPA", "GET /api/people/{worker_no}/history": "SPA",
    "POST /api/people": "P",
    # 合同管理: read by supervisors, projects, analysts; scans to supervisors and projects; the project registers
    "GET /api/projects/{project_id}/contracts": "SPA", "GET /api/projects/{project_id}/contracts/export": "SPA",
    "GET /api/contracts/{id}": "SPA", "GET /api/people/{worker_no}/contracts": "SPA",
    "GET /api/contracts/{id}/scan": "SP", "POST /api/projects/{project_id}/contracts": "P",
    "POST /api/contracts/{id}/scan": "P",
    # 项目考勤: supervisors, projects, analysts; photos not to analysts
    "GET /api/projects/{project_id}/attendance": "SPA", "GET /api/projects/{project_id}/attendance/export": "SPA",
    "GET /api/projects/{project_id}/attendance/punches": "SPA",
    "GET /api/projects/{project_id}/attendance/punches/export": "SPA", "GET /api/projects/{project_id}/punches": "SPA",
    "GET /api/projects/{project_id}/attendance/days": "SPA", "GET /api/projects/{project_id}/attendance/days/export": "SPA",
    "GET /api/punches/{punch_id}/photo": "SP",
    # 设备监控: every role that has devices in its scope
    "GET /api/devices": "SPUA", "GET /api/devices/monitor": "SPUA", "GET /api/devices/monitor/export": "SPUA",
    "GET /api/gateway/stats": "SPUA",
    # accounts and their tokens: the operator (admin) only
    "GET /api/accounts/{username}/tokens": "", "DELETE /api/accounts/{username}/tokens/{token_id}": "",
    "POST /api/accounts/{username}/disable": "", "POST /api/accounts/{username}/enable": "",
    # suppliers: register in public, then their own profile, scopes and applications; supervisors review
    "POST /api/suppliers/register": PUBLIC, "GET /api/supplier": "U", "PATCH /api/supplier": "U",
    "POST /api/supplier/scopes": "U", "GET /api/supplier/applications": "U", "POST /api/supplier/applications": "U",
    "GET /api/supplier/applications/export": "U", "GET /api/supplier/applications/{application_id}": "U",
    "POST /api/supplier/applications/{application_id}/actions/{action}": "U",
    "GET /api/supplier/applications/{application_id}/attachments/{n}": "U",
    "GET /api/suppliers": "S", "GET /api/suppliers/export": "S", "GET /api/suppliers/{supplier_id}": "S",
    "POST /api/suppliers/{supplier_id}/scopes/{scope}/review": "S",
    "GET /api/device-access": "S", "GET /api/device-access/export": "S", "GET /api/device-access/{application_id}": "S",
    "POST /api/device-access/{application_id}/actions/{action}": "S",
    "GET /api/device-access/{application_id}/attachments/{n}": "S",
    # 审计日志: supervisors (city level only, see SCOPE_REFUSALS)
    "GET /api/audit": "S", "GET /api/audit/export": "S",
}
EXPECTED_PAGES = {
    "/": SIGNED_IN, "/login": PUBLIC, "/password": SIGNED_IN, "/declare": PUBLIC, "/supplier/register": PUBLIC,
    "/declarations": "S", "/declarations/([0-9a-f]{24})": "S", "/outbox": "S",
    "/projects": "SPA", "/projects/([0-9]{1,9})": "SPA",
    "/uploads": "SPA", "/uploads/([0-9]{1,9})": "SPA",
    "/enterprises": "SPEA", "/enterprises/([0-9a-f]{24})": "SPEA", "/enterprises/new": "SP",
    "/enterprises/([0-9a-f]{24})/edit": "SP",
    "/units": "SPA", "/units/([0-9a-f]{24})": "SPA", "/teams": "SPA", "/teams/([0-9a-f]{24})": "SPA", "/roster": "SPA",
    "/people": "SPA", "/people/([0-9]+)": "SPA", "/attendance": "SPA", "/contracts": "SPA",
    "/supplier": "U", "/access": "U", "/access/new": "U", "/access/([0-9]{1,10})": "U",
    "/supplier-review": "S", "/device-access": "S", "/device-access/([0-9]{1,10})": "S",
    "/devices": "SPUA", "/audit": "S",
    # The supervisors' dashboards: supervisors and analysts (docs/access.md), behind the web process.
    "/dash": "SA", "/dash/(.*)": "SA",
}


def _may(role: str, expected: str) -> bool:
    """Whether the expectation row lets this role past the permission check."""
    if expected in (PUBLIC, SIGNED_IN) or role == "admin":
        return True
    return role in {ROLE_LETTERS[letter] for letter in expected}


# Refusals that come from scope, not from the permission word: the handler documents them.
SCOPE_REFUSALS = {
    # The audit log has no county yet, so county supervisors are refused (server/api/audit.py).
    ("supervisor-county", "/api/audit"), ("supervisor-county", "/api/audit/export"), ("supervisor-county", "/audit"),
    # Gateway counters are city-wide totals (server/api/devices.py).
    ("supervisor-county", "/api/gateway/stats"), ("project", "/api/gateway/stats"), ("supplier", "/api/gateway/stats"),
}

DOCUMENT = openapi_module.build_document(API_MODULES)
OPERATIONS = [(method, path, op) for path, methods in DOCUMENT["paths"].items() for method, op in methods.items()]
ROUTES = [re.compile(pattern + "$") for module in API_MODULES for pattern, _ in module.default_handlers]
PAGES = [(pattern, handler) for module in PAGE_MODULES for pattern, handler in module.default_handlers
         if "get" in vars(handler)]


@pytest.fixture(scope="module")
def matrix(mongo_uri):
    """One web server, one site and one token per role for the whole module."""
    db_name = f"t_{uuid.uuid4().hex[:12]}"
    site = run_async(mongo_uri, db_name, build_site)
    # A second site in another county: scoped callers must not reach it.
    other = run_async(mongo_uri, db_name, lambda db: build_site(db, seed=11, county="台山市", devices=0))
    tokens = {}
    for caller, role, scope in CALLERS:
        if role is None:
            continue
        scope = {k: (site["project_id"] if v == "site" else v) for k, v in scope.items()}
        username = f"m-{caller}"
        make_account_sync(mongo_uri, db_name, username, role, **scope)
        tokens[caller] = run_async(mongo_uri, db_name, lambda db, u=username: accounts.issue_token(db, u))
    # /dash/ is a page too: behind it, the dashboards process answers for the roles let through.
    dashboards = DashboardsProcess(mongo_uri, db_name).start()
    web = WebThread(mongo_uri, db_name, dash_port=dashboards.port, forward_secret=FORWARD_SECRET)
    yield {"web": web, "site": site, "other": other, "tokens": tokens}
    web.stop()
    dashboards.stop()
    client = MongoClient(mongo_uri)
    client.drop_database(db_name)
    client.close()


def _value(param: dict, site: dict) -> str:
    name, schema = param["name"], param.get("schema", {})
    if schema.get("enum"):
        return str(schema["enum"][0])
    if schema.get("type") == "integer":
        if "project" in name:
            return str(site["project_id"])
        if "worker" in name:
            return str(site["workers"][0]["worker_no"])
        return "1"
    for key in ("team_id", "unit_id"):
        if name == key:
            return str(site[key])
    return str(ObjectId())  # a well-formed id of nothing: 404 is an acceptable answer


def _request_path(path: str, op: dict, site: dict) -> str:
    params = {p["name"]: p for p in op.get("parameters", [])}
    filled = re.sub(r"\{(\w+)\}", lambda m: _value(params[m.group(1)], site), path)
    query = [f"{p['name']}={_value(p, site)}" for p in params.values() if p["in"] == "query" and p.get("required")]
    return filled + ("?" + "&".join(query) if query else "")


def _call(web, method: str, path: str, op: dict, token: str | None) -> int:
    content = op.get("requestBody", {}).get("content", {})
    if "multipart/form-data" in content:
        boundary = uuid.uuid4().hex
        status, _, _ = web.raw(method.upper(), path, f"--{boundary}--\r\n".encode(), token=token,
                               headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    elif "application/json" in content or method in ("post", "put", "patch"):
        status, _, _ = web.raw(method.upper(), path, b"{}", token=token, headers={"Content-Type": "application/json"})
    else:
        status, _, _ = web.raw(method.upper(), path, None, token=token)
    return status


def _signed_in_expectation(caller, role, expected, route, status) -> tuple[str, bool]:
    """What a caller past the login check should get: 403 when the row leaves its role out or it is out of scope."""
    if not _may(role, expected):
        return "403", status == 403
    if (caller, route) in SCOPE_REFUSALS:
        return "403 (scope)", status == 403
    return "not 401/403, no server error", status not in (401, 403) and status < 500


def test_the_served_document_is_the_one_checked(matrix):
    status, served = matrix["web"].get("/api/openapi.json", token=None)
    assert status == 200 and sorted(served["paths"]) == sorted(DOCUMENT["paths"])


def test_every_operation_and_page_has_a_written_expectation():
    served = {f"{method.upper()} {path}" for method, path, _ in OPERATIONS}
    assert sorted(served - set(EXPECTED_OPERATIONS)) == [], "write down who may call these operations"
    assert sorted(set(EXPECTED_OPERATIONS) - served) == [], "expected operations the API does not serve"
    pages = {pattern for pattern, _ in PAGES}
    assert sorted(pages - set(EXPECTED_PAGES)) == [], "write down who may open these pages"
    assert sorted(set(EXPECTED_PAGES) - pages) == [], "expected pages the portal does not serve"
    # Public exactly where the row says so: the document's `security: []`, a page's login_required.
    assert {f"{method.upper()} {path}" for method, path, op in OPERATIONS if op.get("security") == []} \
        == {k for k, v in EXPECTED_OPERATIONS.items() if v == PUBLIC}
    assert {p for p, h in PAGES if not h.login_required} == {p for p, v in EXPECTED_PAGES.items() if v == PUBLIC}


@pytest.mark.parametrize("method, path, op", OPERATIONS, ids=[f"{m.upper()} {p}" for m, p, _ in OPERATIONS])
def test_operation_refuses_exactly_the_roles_without_its_permission(matrix, method, path, op):
    site, web = matrix["site"], matrix["web"]
    url = _request_path(path, op, site)
    assert any(rx.match(url.split("?")[0]) for rx in ROUTES), f"{url} matches no route"
    row = EXPECTED_OPERATIONS.get(f"{method.upper()} {path}")
    assert row is not None, f"{method.upper()} {path}: no expectation written (EXPECTED_OPERATIONS)"
    public = row == PUBLIC
    wrong = []
    for caller, role, _ in CALLERS:
        status = _call(web, method, url, op, matrix["tokens"].get(caller))
        if role is None:
            expected = "not 401/403" if public else "401"
            ok = status not in (401, 403) if public else status == 401
        else:
            expected, ok = _signed_in_expectation(caller, role, row, path, status)
        if not ok:
            wrong.append(f"{caller}: {status}, expected {expected}")
    assert not wrong, (f"{method.upper()} {url} (expected {row}, x-permission {op.get('x-permission')}): "
                       + "; ".join(wrong))


def _page_path(pattern: str, site: dict) -> str:
    """A page address for a route pattern: the site's own records where the address names them."""
    def group(match: re.Match) -> str:
        before = pattern[:match.start()]
        if "[0-9a-f]{24}" in match.group(0):
            for key, prefix in (("unit_id", "/units/"), ("team_id", "/teams/")):
                if before.endswith(prefix):
                    return str(site[key])
            return str(ObjectId())
        if before.endswith("/projects/"):
            return str(site["project_id"])
        if before.endswith("/people/"):
            return str(site["workers"][0]["worker_no"])
        return "1"
    return re.sub(r"\([^()]*\)", group, pattern)


@pytest.mark.parametrize("pattern, handler", PAGES, ids=[p for p, _ in PAGES])
def test_page_refuses_exactly_the_roles_without_its_permission(matrix, pattern, handler):
    """Pages: anonymous visitors go to the login page, roles without page_permission get 403."""
    site, web = matrix["site"], matrix["web"]
    url = _page_path(pattern, site)
    assert re.match(pattern + "$", url), url
    row = EXPECTED_PAGES.get(pattern)
    assert row is not None, f"{pattern}: no expectation written (EXPECTED_PAGES)"
    wrong = []
    for caller, role, _ in CALLERS:
        status, _, headers = web.raw("GET", url, token=matrix["tokens"].get(caller))
        if role is None and handler.login_required:
            expected = "302 to /login"
            ok = status == 302 and headers["Location"].startswith("/login")
        else:
            expected, ok = _signed_in_expectation(caller, role, row, pattern, status)
        if not ok:
            wrong.append(f"{caller}: {status}, expected {expected}")
    assert not wrong, f"GET {url} (expected {row}, page_permission {handler.page_permission}): " + "; ".join(wrong)


SCOPED_PARAMS = {"project_id", "worker_no", "unit_id", "team_id"}
SCOPED_READS = [(path, op) for method, path, op in OPERATIONS if method == "get" and (
    names := {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}) and names <= SCOPED_PARAMS]


@pytest.mark.parametrize("path,op", SCOPED_READS, ids=[p for p, _ in SCOPED_READS])
def test_scoped_callers_cannot_read_another_projects_or_countys_records(matrix, path, op):
    """A project account asking for another project's records, and a county supervisor asking for
    another county's, get 403 or 404 and none of its data; the city supervisor gets the same address."""
    web, other = matrix["web"], matrix["other"]
    target = _request_path(path, op, other)
    assert _call(web, "get", target, op, matrix["tokens"]["supervisor-city"]) not in (401, 403, 404), target
    for caller in ("project", "supervisor-county"):
        status, body, _ = web.raw("GET", target, None, token=matrix["tokens"][caller])
        assert status in (403, 404), f"{caller} reached {target}: {status}"
        for worker in other["workers"]:
            assert worker["id_number"].encode() not in body and str(worker["worker_no"]).encode() + b'"' not in body


MASKED_READS = [(path, op) for method, path, op in OPERATIONS if method == "get" and op.get("x-permission")]


@pytest.mark.parametrize("caller", ["analyst", "supervisor-city", "project"])
def test_id_numbers_are_masked_unless_asked_for_by_a_role_that_may(matrix, caller):
    """Every readable operation, called without ?unmask: no full ID number of anyone in any answer
    (JSON or Excel); the analyst, who may never unmask, is refused when it asks."""
    web, site = matrix["web"], matrix["site"]
    numbers = [w["id_number"] for w in site["workers"]]
    token = matrix["tokens"][caller]
    answered = 0
    for path, op in MASKED_READS:
        status, body, _ = web.raw("GET", _request_path(path, op, site), None, token=token)
        if status == 200:
            answered += 1
            text = body if not body.startswith(b"PK") else _xlsx_text(body)
            assert not any(n.encode() in text for n in numbers), f"{caller}: {path} shows a full ID number"
    assert answered > 10
    worker = site["workers"][0]["worker_no"]
    status, body, _ = web.raw("GET", f"/api/people/{worker}?unmask=true", None, token=matrix["tokens"]["analyst"])
    assert status == 403 and site["workers"][0]["id_number"].encode() not in body


def _xlsx_text(data: bytes) -> bytes:
    import io

    from openpyxl import load_workbook
    book = load_workbook(io.BytesIO(data), read_only=True)
    return "\n".join(str(v) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
                      for v in row if v is not None).encode()
