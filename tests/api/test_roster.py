"""项目人员花名册 over real HTTP on the real database: entry from the person library (unit → team →
job, manager jobs only from the matching manager team), search and paging, exit and batch exit,
masked export with audited unmasking, and project scope."""
from __future__ import annotations

import io
import random
import urllib.parse

import pytest
from openpyxl import load_workbook

from server import synthetic
from server.store import workforce
from support import ADMIN_TOKEN, run_async


def new_person(web, rng, name="张三丰") -> int:
    status, body, _ = web.request("POST", "/api/people", {"id_number": synthetic.id_number(rng), "name": name},
                                  token=ADMIN_TOKEN)
    assert status == 201, body
    return body["worker_no"]


@pytest.fixture
def supervised(site, mongo_uri, db_name):
    """The test site plus a supervising unit (监理单位), whose manager team offers 总监理工程师."""
    async def job(db):
        enterprise = await workforce.create_enterprise(db, credit_code=synthetic.credit_code(random.Random(5)),
                                                       name="江门市测试监理有限公司")
        unit = await workforce.add_unit(db, project_id=site["project_id"], enterprise_id=enterprise["_id"],
                                        unit_type="监理单位")
        gc_team = await workforce.manager_team(db, site["unit_id"])
        sv_team = await workforce.manager_team(db, unit["_id"])
        return {**site, "sv_unit_id": str(unit["_id"]), "gc_manager_team": str(gc_team["_id"]),
                "sv_manager_team": str(sv_team["_id"])}
    return run_async(mongo_uri, db_name, job)


def roster(web, pid, query=""):
    status, body = web.get(f"/api/projects/{pid}/roster{urllib.parse.quote(query, safe='?=&')}")
    assert status == 200, body
    return body


def test_enter_from_person_library_then_listed_masked(web, site):
    pid, team = site["project_id"], str(site["team_id"])
    worker_no = new_person(web, random.Random(1), "李四")
    status, body, _ = web.request("POST", f"/api/projects/{pid}/roster",
                                  {"worker_no": worker_no, "unit_id": str(site["unit_id"]), "team_id": team, "job": "钢筋工"},
                                  token=ADMIN_TOKEN)
    assert status == 200 and body["entered"] == 1, body
    listed = roster(web, pid, "?q=李四")
    assert listed["total"] == 1
    row = listed["entries"][0]
    assert (row["worker_no"], row["team_name"], row["job"], row["status"]) == (worker_no, "土建", "钢筋工", "在场")
    assert "*" in row["id_number"] and row["unit_name"] == "江门市测试建筑工程有限公司"
    # Entering again is a conflict, named by the field the request used.
    status, body, _ = web.request("POST", f"/api/projects/{pid}/roster",
                                  {"worker_no": worker_no, "team_id": team, "job": "钢筋工"}, token=ADMIN_TOKEN)
    assert status == 409 and body["field"] == "worker_no" and "已在本项目在场" in body["message"]


def test_entry_refusals_name_the_field(web, supervised, sdb):
    pid = supervised["project_id"]
    worker_no = new_person(web, random.Random(2))
    cases = [
        ({"worker_no": 999999, "team_id": str(supervised["team_id"]), "job": "木工"}, 400, "worker_no"),
        ({"worker_no": worker_no, "team_id": "not-an-id", "job": "木工"}, 400, "team_id"),
        ({"worker_no": worker_no, "team_id": str(supervised["team_id"]), "job": "项目经理"}, 400, "job"),
        ({"worker_no": worker_no, "team_id": supervised["gc_manager_team"], "job": "总监理工程师"}, 400, "job"),
        ({"worker_no": worker_no, "team_id": supervised["gc_manager_team"], "job": "项目经理",
          "unit_id": supervised["sv_unit_id"]}, 400, "team_id"),
        ({"worker_no": worker_no, "team_id": str(supervised["team_id"]), "job": ""}, 400, "job"),
        ({"worker_no": worker_no, "team_id": str(supervised["team_id"]), "job": "木工", "entry_date": "2999-01-01"},
         400, "entry_date"),
    ]
    for body, code, field in cases:
        status, reply, _ = web.request("POST", f"/api/projects/{pid}/roster", body, token=ADMIN_TOKEN)
        assert (status, reply.get("field")) == (code, field), (body, reply)
    assert sdb.roster.count_documents({"worker_no": worker_no}) == 0
    # The manager job from the matching manager team is accepted.
    status, reply, _ = web.request("POST", f"/api/projects/{pid}/roster", {
        "worker_no": worker_no, "unit_id": supervised["sv_unit_id"], "team_id": supervised["sv_manager_team"],
        "job": "总监理工程师"}, token=ADMIN_TOKEN)
    assert status == 200 and reply["entered"] == 1, reply


def test_options_cascade_units_teams_jobs(web, supervised):
    status, body = web.get(f"/api/projects/{supervised['project_id']}/roster/options")
    assert status == 200
    by_type = {u["unit_type"]: u for u in body["units"]}
    sv_team = by_type["监理单位"]["teams"][0]
    assert sv_team["name"] == "监理项目部" and "总监理工程师" in sv_team["jobs"] and "项目经理" not in sv_team["jobs"]
    gc_teams = {t["name"]: t for t in by_type["施工总承包单位"]["teams"]}
    assert "项目经理" in gc_teams["总承包单位项目部"]["jobs"] and "钢筋工" in gc_teams["土建"]["jobs"]


def test_batch_entry_reports_each_person(web, site):
    pid = site["project_id"]
    fresh = new_person(web, random.Random(3))
    already = site["workers"][0]["worker_no"]
    status, body, _ = web.request("POST", f"/api/projects/{pid}/roster", {
        "worker_nos": f"{fresh}, {already}\n888888", "team_id": str(site["team_id"]), "job": "木工"}, token=ADMIN_TOKEN)
    assert status == 200 and (body["entered"], body["failed"]) == (1, 2), body
    outcome = {r["worker_no"]: r for r in body["results"]}
    assert outcome[fresh]["ok"] and not outcome[already]["ok"] and "在场" in outcome[already]["message"]
    assert "人员库中不存在" in outcome[888888]["message"]


def test_search_filters_and_paging(web, site):
    pid = site["project_id"]
    workers = site["workers"]
    assert roster(web, pid)["total"] == 3
    page = roster(web, pid, "?per_page=2&page=2")
    assert page["total"] == 3 and len(page["entries"]) == 1
    assert roster(web, pid, f"?q={workers[1]['worker_no']}")["entries"][0]["name"] == workers[1]["name"]
    assert roster(web, pid, f"?team_id={site['team_id']}")["total"] == 3
    assert roster(web, pid, f"?unit_id={site['unit_id']}&q=不存在的名字")["total"] == 0
    status, body = web.get(f"/api/projects/{pid}/roster?status=gone")
    assert status == 400 and body["field"] == "status"
    status, body = web.get(f"/api/projects/{pid}/roster?team_id=xyz")
    assert status == 400 and body["field"] == "team_id"


def test_exit_and_batch_exit_report_per_person(web, site, sdb):
    pid = site["project_id"]
    first, second, third = (w["worker_no"] for w in site["workers"])
    status, body, _ = web.request("POST", f"/api/projects/{pid}/roster/exit",
                                  {"worker_nos": [first, second, 777777]}, token=ADMIN_TOKEN)
    assert status == 200 and (body["exited"], body["failed"]) == (2, 1), body
    assert {r["worker_no"]: r["ok"] for r in body["results"]} == {first: True, second: True, 777777: False}
    assert roster(web, pid)["total"] == 1 and roster(web, pid, "?status=exited")["total"] == 2
    assert roster(web, pid, "?status=all")["total"] == 3
    # One person not in the site: the refusal names the field.
    status, body, _ = web.request("POST", f"/api/projects/{pid}/roster/exit", {"worker_nos": [first]}, token=ADMIN_TOKEN)
    assert status == 400 and body["field"] == "worker_nos"
    status, body, _ = web.request("POST", f"/api/projects/{pid}/roster/exit",
                                  {"worker_nos": [third], "exit_date": "2000-01-01"}, token=ADMIN_TOKEN)
    assert status == 400 and body["field"] == "exit_date" and "早于进场日期" in body["message"]
    status, body, _ = web.request("POST", f"/api/projects/{pid}/roster/exit",
                                  {"worker_nos": [third], "exit_date": "01/02/2024"}, token=ADMIN_TOKEN)
    assert status == 400 and body["field"] == "exit_date"
    assert sdb.roster.count_documents({"project_id": pid, "exit_date": None}) == 1


def test_export_masked_by_default_unmasked_needs_permission_and_is_audited(web, site, sdb, make_account):
    pid = site["project_id"]
    status, data, headers = web.raw("GET", f"/api/projects/{pid}/roster/export", token=ADMIN_TOKEN)
    assert status == 200 and headers["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("工人编号", "姓名", "身份证号码") and len(rows) == 4
    ids = {w["id_number"] for w in site["workers"]}
    assert all(r[2] not in ids and "*" in r[2] for r in rows[1:])
    assert sdb.audit_log.count_documents({"action": "roster_export_unmasked"}) == 0

    status, data, _ = web.raw("GET", f"/api/projects/{pid}/roster/export?unmask=true", token=ADMIN_TOKEN)
    assert status == 200
    rows = list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert {r[2] for r in rows[1:]} == ids
    assert sdb.audit_log.count_documents({"action": "roster_export_unmasked", "target.project_id": pid}) == 1

    make_account("analyst1", "analyst")
    cookie = web.login("analyst1")
    status, _, _ = web.raw("GET", f"/api/projects/{pid}/roster/export?unmask=true", cookie=cookie)
    assert status == 403
    assert web.raw("GET", f"/api/projects/{pid}/roster/export", cookie=cookie)[0] == 200


def test_other_projects_roster_is_out_of_scope(web, site, make_account, mongo_uri, db_name):
    other = run_async(mongo_uri, db_name, lambda db: workforce.create_project(db, name="另一个项目", county="台山市"))
    make_account("proj_other", "project", project_id=other["_id"])
    cookie = web.login("proj_other")
    pid = site["project_id"]
    status, body, _ = web.request("GET", f"/api/projects/{pid}/roster", cookie=cookie)
    assert status == 404
    status, body, _ = web.request("POST", f"/api/projects/{pid}/roster/exit",
                                  {"worker_nos": [site["workers"][0]["worker_no"]]}, cookie=cookie)
    assert status == 404
    status, body, _ = web.request("GET", f"/api/projects/{other['_id']}/roster", cookie=cookie)
    assert status == 200 and body["total"] == 0
    # A supervisor reads but may not enter.
    make_account("sup1", "supervisor")
    cookie = web.login("sup1", ip="10.0.0.2")
    status, _, _ = web.request("POST", f"/api/projects/{pid}/roster/exit", {"worker_nos": [1]}, cookie=cookie)
    assert status == 403
