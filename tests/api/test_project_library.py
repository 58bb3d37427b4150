"""项目库 over real HTTP on the real database: register, list, edit, status with 停工 periods, 场所码,
location, export, and the scope of project accounts."""
from __future__ import annotations

import io
from urllib.parse import quote

import openpyxl

from server.domain.site_clock import site_today
from support import run_async

NEW = {"name": "江门市江海区新登记厂房项目", "supplier": "江门智慧工地科技有限公司", "category": "市政公用工程",
       "status": "在建", "county": "江海区", "permit_no": "440704202207060101", "address": "江海区高新路 8 号"}


def register(web, cookie, **changes):
    return web.request("POST", "/api/projects", {**NEW, **changes}, cookie=cookie)


def test_supervisors_register_projects_with_every_field_checked(web, sdb, make_account, site):
    make_account("jg_city", "supervisor")
    make_account("jg_jh", "supervisor", county="江海区")
    make_account("xm_site", "project", project_id=site["project_id"])
    city, jh, proj = web.login("jg_city"), web.login("jg_jh"), web.login("xm_site")
    for changes, field in (({"county": "广州市"}, "county"), ({"supplier": ""}, "supplier"),
                           ({"name": "  "}, "name"), ({"permit_no": "=HYPERLINK(1)"}, "permit_no"),
                           ({"category": "水利工程"}, "category"), ({"status": "注销"}, "status"),
                           ({"planned_start": "2026-13-01"}, "planned_start"), ({"name": 5}, "name")):
        status, reply, _ = register(web, city, **changes)
        assert status == 400 and reply["field"] == field, (changes, reply)
    assert register(web, proj)[0] == 403
    status, reply, _ = register(web, jh, county="蓬江区")
    assert status == 400 and reply["field"] == "county"
    status, project, _ = register(web, jh, planned_start="2026-03-01")
    assert status == 201 and project["county"] == "江海区" and project["planned_start"] == "2026-03-01", project
    assert project["status_history"][0]["by"] == "jg_jh" and project["stop_periods"] == []
    assert sdb.audit_log.find_one({"action": "project_register", "actor": "jg_jh"})
    status, stopped, _ = register(web, city, name="停工登记项目", status="停工")
    assert stopped["stop_periods"] == [{"from": stopped["status_history"][0]["date"], "to": None}]


def test_library_lists_in_scope_with_counts_and_project_accounts_reach_only_their_project(web, make_account, site):
    make_account("jg_city", "supervisor")
    make_account("jg_jh", "supervisor", county="江海区")
    make_account("xm_site", "project", project_id=site["project_id"])
    city, jh, proj = web.login("jg_city"), web.login("jg_jh"), web.login("xm_site")
    _, other, _ = register(web, city)
    status, listing, _ = web.request("GET", "/api/projects", cookie=city)
    assert status == 200 and listing["count"] == 2
    first = listing["projects"][0]
    assert first["id"] == site["project_id"] and first["counts"]["workers"] == 3 and first["counts"]["devices"] == 1
    assert first["general_contractor"] == "江门市测试建筑工程有限公司"
    by_county = web.request("GET", "/api/projects?county=" + quote("江海区"), cookie=city)[1]["projects"]
    assert [p["id"] for p in by_county] == [other["id"]]
    assert web.request("GET", "/api/projects?q=" + quote("厂房"), cookie=city)[1]["count"] == 1
    assert web.request("GET", "/api/projects?status=" + quote("停工"), cookie=city)[1]["count"] == 0
    assert web.request("GET", "/api/projects?county=" + quote("广州市"), cookie=city)[0] == 400
    assert [p["id"] for p in web.request("GET", "/api/projects", cookie=jh)[1]["projects"]] == [other["id"]]
    assert [p["id"] for p in web.request("GET", "/api/projects", cookie=proj)[1]["projects"]] == [site["project_id"]]
    # Out of scope looks exactly like absent, for reads and every write.
    for method, path, body in (("GET", "", None), ("PATCH", "", {"name": "x"}),
                               ("POST", "/status", {"status": "停工"}),
                               ("POST", "/venue-code", {"venue_code": "ABCD1234"}),
                               ("POST", "/location", {"longitude": 113.1, "latitude": 22.6})):
        assert web.request(method, f"/api/projects/{other['id']}{path}", body, cookie=proj)[0] == 404
        assert web.request(method, f"/api/projects/{site['project_id']}{path}", body, cookie=jh)[0] == 404
    assert web.raw("GET", f"/projects/{other['id']}", cookie=proj)[0] == 404
    status, page, _ = web.raw("GET", f"/projects/{site['project_id']}", cookie=proj)
    assert status == 200 and 'id="edit-form"' in page.decode() and 'id="venue-form"' in page.decode()
    status, page, _ = web.raw("GET", "/projects", cookie=proj)
    html = page.decode()
    assert status == 200 and "江门市测试项目" in html and NEW["name"] not in html and "登记新项目" not in html
    _, page, _ = web.raw("GET", "/projects", cookie=city)
    assert "登记新项目" in page.decode() and NEW["name"] in page.decode() and "场所码登记" in page.decode()
    assert web.raw("GET", "/projects")[0] == 302


def test_edit_by_project_staff_and_county_only_by_city_supervisors(web, sdb, make_account, site):
    make_account("jg_city", "supervisor")
    make_account("xm_site", "project", project_id=site["project_id"])
    city, proj = web.login("jg_city"), web.login("xm_site")
    pid = site["project_id"]
    status, project, _ = web.request("PATCH", f"/api/projects/{pid}", {
        "supplier": "新服务商", "address": "蓬江区新地址", "planned_start": "2026-04-01", "builder": "江门市建设局"},
        cookie=proj)
    assert status == 200 and project["supplier"] == "新服务商" and project["planned_start"] == "2026-04-01"
    for body, field in (({"county": "江海区"}, "county"), ({"status": "完工"}, "status"), ({"name": ""}, "name"),
                        ({}, "name"), ({"venue_code": "X"}, "venue_code")):
        status, reply, _ = web.request("PATCH", f"/api/projects/{pid}", body, cookie=proj)
        assert status == 400 and reply["field"] == field, (body, reply)
    assert sdb.projects.find_one({"_id": pid})["county"] == "蓬江区"
    for body in ({"county": ""}, {"category": ""}, {"category": None}):
        status, reply, _ = web.request("PATCH", f"/api/projects/{pid}", body, cookie=city)
        assert status == 400 and reply["field"] == next(iter(body)), (body, reply)
    status, project, _ = web.request("PATCH", f"/api/projects/{pid}", {"county": "江海区"}, cookie=city)
    assert status == 200 and project["county"] == "江海区"
    assert sdb.audit_log.count_documents({"action": "project_edit"}) == 2


def test_status_changes_keep_history_and_stop_periods_and_cancel_is_final(web, sdb, make_account, site):
    make_account("jg_city", "supervisor")
    make_account("xm_site", "project", project_id=site["project_id"])
    city, proj = web.login("jg_city"), web.login("xm_site")
    pid = site["project_id"]
    start = sdb.projects.find_one({"_id": pid})["status_history"][0]["date"]

    def change(cookie, **body):
        return web.request("POST", f"/api/projects/{pid}/status", body, cookie=cookie)

    status, reply, _ = change(proj, status="停工", date="2000-01-01")
    assert status == 400 and reply["field"] == "date" and start in reply["message"]
    status, reply, _ = change(proj, status="停工", date="2999-01-01")
    assert status == 400 and reply["field"] == "date"
    status, project, _ = change(proj, status="停工", reason="春节停工")
    assert status == 200 and project["status"] == "停工" and project["stop_periods"][0]["to"] is None
    assert change(proj, status="停工")[0] == 409
    status, project, _ = change(proj, status="在建")
    assert project["stop_periods"] == [{"from": project["status_history"][1]["date"],
                                        "to": project["status_history"][2]["date"]}]
    assert [h["status"] for h in project["status_history"]] == ["在建", "停工", "在建"]
    assert project["status_history"][1]["reason"] == "春节停工" and project["status_history"][1]["by"] == "xm_site"
    status, reply, _ = change(proj, status="注销")
    assert status == 403
    status, page, _ = web.raw("GET", f"/projects/{pid}", cookie=proj)
    assert 'id="stop-periods"' in page.decode() and '<option value="注销">' not in page.decode()
    assert change(city, status="注销", reason="项目取消")[0] == 200
    for target in ("在建", "停工", "完工"):
        status, reply, _ = change(city, status=target)
        assert status == 409 and "已注销" in reply["message"]
    assert sdb.projects.find_one({"_id": pid})["status"] == "注销"
    # A cancelled project is kept as it was.
    for path, body in (("", {"supplier": "新"}), ("/venue-code", {"venue_code": "ABCD1234"}),
                       ("/location", {"longitude": 113.1, "latitude": 22.6})):
        status, reply, _ = web.request("POST" if path else "PATCH", f"/api/projects/{pid}{path}", body, cookie=city)
        assert status == 409 and "已注销" in reply["message"]
    assert web.request("POST", f"/api/projects/{pid}/account", cookie=city)[0] == 409
    assert change(city, status="暂停")[0] == 400


def test_venue_code_and_location_are_checked_and_kept(web, sdb, make_account, site):
    make_account("xm_site", "project", project_id=site["project_id"])
    proj = web.login("xm_site")
    pid = site["project_id"]
    for body, field in (({"venue_code": " "}, "venue_code"), ({"venue_code": "abc"}, "venue_code"),
                        ({"venue_code": "ABCD 1234"}, "venue_code"), ({"venue_code": "A" * 65}, "venue_code"),
                        ({"venue_code": "ABCD1234", "admin_mobile": "12345"}, "admin_mobile"),
                        ({"venue_code": "ABCD1234", "admin_mobile": ["13912345678"]}, "admin_mobile"),
                        ({"venue_code": "ABCD1234", "date": "01/02/2026"}, "date")):
        status, reply, _ = web.request("POST", f"/api/projects/{pid}/venue-code", body, cookie=proj)
        assert status == 400 and reply["field"] == field, (body, reply)
    status, project, _ = web.request("POST", f"/api/projects/{pid}/venue-code", {
        "venue_code": "GD-JM-0001abc", "venue_name": "工地大门", "admin_name": "李工", "admin_mobile": "13912345678"},
        cookie=proj)
    assert status == 200 and project["venue_code"] == "GD-JM-0001abc" and project["venue_code_date"]
    assert project["venue"]["admin_mobile"] == "139****5678"
    assert sdb.projects.find_one({"_id": pid})["venue"]["admin_mobile"] == "13912345678"
    for body, field in (({"longitude": 20.0, "latitude": 22.5}, "longitude"), ({"longitude": 113.1, "latitude": 60},
                        "latitude"), ({"longitude": "abc", "latitude": 22.5}, "longitude"),
                        ({"longitude": True, "latitude": 22.5}, "longitude"), ({"latitude": 22.5}, "longitude")):
        status, reply, _ = web.request("POST", f"/api/projects/{pid}/location", body, cookie=proj)
        assert status == 400 and reply["field"] == field, (body, reply)
    status, project, _ = web.request("POST", f"/api/projects/{pid}/location",
                                     {"longitude": 113.08190149, "latitude": "22.5787"}, cookie=proj)
    assert status == 200 and project["location"] == {"longitude": 113.081901, "latitude": 22.5787}
    _, page, _ = web.raw("GET", f"/projects/{pid}", cookie=proj)
    assert "113.081901" in page.decode() and "GD-JM-0001abc" in page.decode()


def test_export_holds_the_library_in_scope(web, sdb, make_account, site):
    make_account("jg_city", "supervisor")
    make_account("xm_site", "project", project_id=site["project_id"])
    city, proj = web.login("jg_city"), web.login("xm_site")
    register(web, city, name="=cmd|' /C calc'!A0")
    status, data, headers = web.raw("GET", "/api/projects/export", cookie=city)
    assert status == 200 and "spreadsheetml" in headers["Content-Type"]
    rows = list(openpyxl.load_workbook(io.BytesIO(data)).active.values)
    assert rows[0][:5] == ("序号", "项目编号", "项目名称", "所在地", "项目状态") and len(rows) == 3
    assert rows[2][2] == "'=cmd|' /C calc'!A0"  # never runs as a formula
    assert rows[1][8] == "江门市测试建筑工程有限公司"
    _, data, _ = web.raw("GET", "/api/projects/export?county=" + quote("江海区"), cookie=city)
    assert len(list(openpyxl.load_workbook(io.BytesIO(data)).active.values)) == 2
    _, data, _ = web.raw("GET", "/api/projects/export", cookie=proj)
    rows = list(openpyxl.load_workbook(io.BytesIO(data)).active.values)
    assert len(rows) == 2 and rows[1][1] == site["project_id"]
    assert sdb.audit_log.count_documents({"action": "project_export"}) == 3


def test_demo_seeding_is_idempotent_and_shows_every_state(web, mongo_uri, db_name, sdb, site, make_account):
    from server.demo.projects_demo import proof_pdf, seed_projects

    sdb.projects.update_one({"_id": site["project_id"]}, {"$set": {"demo_complete": True}})
    for _ in range(2):
        run_async(mongo_uri, db_name, seed_projects)
    states = sorted(d["state"] for d in sdb.declarations.find())
    assert states == ["failed", "passed", "pending", "pending"]
    # The passed one is the declaration of the city's project 1: linked, no extra project or account.
    passed = sdb.declarations.find_one({"state": "passed"})
    assert passed["project_id"] == site["project_id"] == 1 and passed["name"] == "江门市测试项目"
    assert sdb.projects.find_one({"_id": 1})["declaration_id"] == passed["_id"]
    assert sdb.projects.count_documents({}) == 1 and sdb.accounts.count_documents({}) == 0
    assert sdb.outbox.count_documents({}) == 2 and "沿用项目已有账号" in sdb.outbox.find_one({"to": {
        "$regex": "applicant3"}})["body"]
    located = sdb.projects.find_one({"_id": site["project_id"]})
    assert 112 < located["location"]["longitude"] < 114 and 22 < located["location"]["latitude"] < 23
    # 建设单位 and 计划开工日期 filled (empty for every demo project before), shown in the library.
    assert located["builder"].startswith("江门市蓬江区") and located["planned_start"] < site_today().isoformat()
    _, page, _ = web.raw("GET", "/projects", cookie=web.login(make_account("jg_seed", "supervisor")["username"]))
    assert located["builder"] in page.decode() and located["planned_start"] in page.decode()
    pdf = proof_pdf("x")
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF") and b"startxref" in pdf


def test_issue_account_gives_a_new_project_account_once(web, sdb, make_account, site):
    make_account("jg_city", "supervisor")
    make_account("jg_jh", "supervisor", county="江海区")
    make_account("xm_site", "project", project_id=site["project_id"])
    city, jh, proj = web.login("jg_city"), web.login("jg_jh"), web.login("xm_site")
    pid = site["project_id"]
    assert web.request("POST", f"/api/projects/{pid}/account", cookie=proj)[0] == 403
    assert web.request("POST", f"/api/projects/{pid}/account", cookie=jh)[0] == 404
    status, first, _ = web.request("POST", f"/api/projects/{pid}/account", cookie=city)
    assert status == 201 and first["username"] == f"xm{pid:06d}"
    _, second, _ = web.request("POST", f"/api/projects/{pid}/account", cookie=city)
    assert second["username"] == f"xm{pid:06d}-2" and second["password"] != first["password"]
    account = sdb.accounts.find_one({"username": first["username"]})
    assert account["project_id"] == pid and account["must_change_password"] and first["password"] not in str(account)
    assert sdb.audit_log.count_documents({"action": "account_issue", "actor": "jg_city"}) == 2
    _, page, _ = web.raw("GET", "/projects", cookie=city)
    assert "发账号" in page.decode()
    assert web.login(second["username"], second["password"])
