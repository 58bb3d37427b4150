"""参建单位 and 班组 over real HTTP on the real database: order unit → team → person, manager teams
untouchable, exits refused while people or teams are in the site, dates out of order refused by name,
masked 项目经理 ID numbers, exports and the pages (with the supervisors' project picker)."""
from __future__ import annotations

import datetime as dt
import io
import random

from bson import ObjectId
from openpyxl import load_workbook

from server import synthetic
from server.store.db import site_today
from support import ADMIN_TOKEN

RNG = random.Random(99)
TODAY = site_today()


def days_ago(n: int) -> str:
    return (TODAY - dt.timedelta(days=n)).isoformat()


def call(web, method, path, body=None, **kw):
    kw.setdefault("token", ADMIN_TOKEN)
    status, reply, _ = web.request(method, path, body, **kw)
    return status, reply


def new_enterprise(sdb) -> str:
    code = synthetic.credit_code(RNG)
    return str(sdb.enterprises.insert_one({"credit_code": code, "name": f"企业{code[-6:]}", "created_at":
                                           dt.datetime.now(dt.timezone.utc)}).inserted_id)


def add_unit(web, pid, enterprise_id, /, **extra):
    body = {"enterprise_id": enterprise_id, "unit_type": "劳务分包", "entry_date": days_ago(30), **extra}
    return call(web, "POST", f"/api/projects/{pid}/units", body)


def test_unit_added_from_the_library_gets_its_manager_team_and_masked_manager_id(web, site, sdb):
    pid = site["project_id"]
    manager_id = synthetic.id_number(RNG)
    status, unit = add_unit(web, pid, new_enterprise(sdb), unit_type="监理", manager_name="张总监",
                            manager_id_type="居民身份证", manager_id_number=manager_id, manager_phone="13900001111")
    assert status == 201, unit
    assert unit["unit_type"] == "监理单位" and unit["status"] == "在场" and unit["entry_date"] == days_ago(30)
    assert unit["manager_id_number"] != manager_id and unit["manager_id_number"][:3] == manager_id[:3]
    assert "*" in unit["manager_id_number"]
    teams = sdb.teams.find({"unit_id": ObjectId(unit["id"])})
    assert [(t["name"], t["kind"]) for t in teams] == [("监理项目部", "管理人员班组")]
    # Unmasked only on request, and the request is audited.
    status, full = call(web, "GET", f"/api/projects/{pid}/units/{unit['id']}?unmask=true")
    assert status == 200 and full["manager_id_number"] == manager_id
    assert sdb.audit_log.find_one({"action": "unit_view_unmasked"}) is not None
    status, listing = call(web, "GET", f"/api/projects/{pid}/units")
    assert all("*" in u["manager_id_number"] for u in listing["units"] if u["manager_id_number"])
    assert unit["id"] in [u["id"] for u in listing["units"]]  # the masked row is the unit added above


def test_unit_refusals_name_the_field_and_store_nothing(web, site, sdb):
    pid = site["project_id"]
    eid = new_enterprise(sdb)
    bad_id = synthetic.id_number(RNG)[:17] + "Z"
    cases = [({"unit_type": "包工头"}, "unit_type"), ({"enterprise_id": str(ObjectId())}, "enterprise_id"),
             ({"enterprise_id": "xyz"}, "enterprise_id"), ({"manager_id_number": bad_id}, "manager_id_number"),
             ({"entry_date": (TODAY + dt.timedelta(days=3)).isoformat()}, "entry_date"),
             ({"manager_phone": "abc"}, "manager_phone")]
    before = sdb.units.count_documents({})
    for override, field in cases:
        status, reply = add_unit(web, pid, eid, **override)
        assert status == 400 and reply["field"] == field, (override, reply)
    assert sdb.units.count_documents({}) == before
    status, _ = add_unit(web, pid, eid)
    assert status == 201
    status, reply = add_unit(web, pid, eid)
    assert status == 409 and reply["field"] == "enterprise_id"
    # The enterprise can also be chosen by its credit code, as the guide's dialog shows it.
    code = sdb.enterprises.find_one({"_id": ObjectId(new_enterprise(sdb))})["credit_code"]
    status, unit = call(web, "POST", f"/api/projects/{pid}/units", {"credit_code": code, "unit_type": "专业分包"})
    assert status == 201 and unit["credit_code"] == code and unit["entry_date"] == TODAY.isoformat()
    status, reply = call(web, "POST", f"/api/projects/{pid}/units",
                         {"credit_code": synthetic.credit_code(RNG), "unit_type": "专业分包"})
    assert status == 400 and reply["field"] == "credit_code" and "先在企业库登记" in reply["message"]


def test_order_unit_team_person_and_exits_in_order(web, site, sdb):
    pid = site["project_id"]
    _, unit = add_unit(web, pid, new_enterprise(sdb))
    uid = unit["id"]
    # A team may not enter before its unit, nor join a unit that is not this project's.
    status, reply = call(web, "POST", f"/api/projects/{pid}/teams",
                         {"unit_id": uid, "name": "木工班", "entry_date": days_ago(31)})
    assert status == 400 and reply["field"] == "entry_date"
    status, reply = call(web, "POST", f"/api/projects/{pid}/teams", {"unit_id": str(ObjectId()), "name": "木工班"})
    assert status == 400 and reply["field"] == "unit_id"
    status, team = call(web, "POST", f"/api/projects/{pid}/teams",
                        {"unit_id": uid, "name": "木工班", "entry_date": days_ago(20)})
    assert status == 201 and team["kind"] == "普通工人班组" and team["unit_type"] == "劳务分包", team
    status, reply = call(web, "POST", f"/api/projects/{pid}/teams", {"unit_id": uid, "name": "木工班"})
    assert status == 409 and reply["field"] == "name"
    # A unit with a team in the site cannot leave; the unit cannot move its entry after its team's.
    status, reply = call(web, "POST", f"/api/projects/{pid}/units/{uid}/exit", {"exit_date": days_ago(1)})
    assert status == 409 and "木工班" in reply["message"]
    status, reply = call(web, "PATCH", f"/api/projects/{pid}/units/{uid}", {"entry_date": days_ago(10)})
    assert status == 400 and reply["field"] == "entry_date"
    # The team leaves (not before it entered), then the unit (not before the team).
    status, reply = call(web, "POST", f"/api/projects/{pid}/teams/{team['id']}/exit", {"exit_date": days_ago(25)})
    assert status == 400 and reply["field"] == "exit_date"
    status, left = call(web, "POST", f"/api/projects/{pid}/teams/{team['id']}/exit", {"exit_date": days_ago(5)})
    assert status == 200 and left["status"] == "退场" and left["exit_date"] == days_ago(5)
    status, reply = call(web, "POST", f"/api/projects/{pid}/units/{uid}/exit", {"exit_date": days_ago(6)})
    assert status == 400 and reply["field"] == "exit_date"
    status, gone = call(web, "POST", f"/api/projects/{pid}/units/{uid}/exit", {"exit_date": days_ago(2)})
    assert status == 200 and gone["status"] == "退场"
    manager_team = sdb.teams.find_one({"unit_id": ObjectId(uid), "kind": "管理人员班组"})
    assert manager_team["exit_date"] is not None  # the platform's team follows its unit
    status, reply = call(web, "POST", f"/api/projects/{pid}/teams", {"unit_id": uid, "name": "新班"})
    assert status == 409 and reply["field"] == "unit_id"
    status, reply = call(web, "POST", f"/api/projects/{pid}/units/{uid}/exit", {"exit_date": days_ago(1)})
    assert status == 409


def test_people_in_the_site_block_team_and_unit_exit_and_delete(web, site):
    pid, tid, uid = site["project_id"], str(site["team_id"]), str(site["unit_id"])
    status, reply = call(web, "POST", f"/api/projects/{pid}/teams/{tid}/exit", {"exit_date": TODAY.isoformat()})
    assert status == 409 and reply["field"] == "team_id" and "3 名人员在场" in reply["message"]
    status, reply = call(web, "POST", f"/api/projects/{pid}/units/{uid}/exit", {"exit_date": TODAY.isoformat()})
    assert status == 409 and "人员在场" in reply["message"]
    status, reply = call(web, "DELETE", f"/api/projects/{pid}/teams/{tid}")
    assert status == 409 and "进场记录" in reply["message"]
    status, reply = call(web, "DELETE", f"/api/projects/{pid}/units/{uid}")
    assert status == 409
    status, listing = call(web, "GET", f"/api/projects/{pid}/teams")
    assert {t["name"]: t["people_in_site"] for t in listing["teams"]} == {"总承包单位项目部": 0, "土建": 3}


def test_manager_teams_cannot_be_edited_exited_or_deleted(web, site, sdb):
    pid = site["project_id"]
    manager = sdb.teams.find_one({"project_id": pid, "kind": "管理人员班组"})
    path = f"/api/projects/{pid}/teams/{manager['_id']}"
    for method, suffix, body in (("PATCH", "", {"name": "改名"}), ("DELETE", "", None),
                                 ("POST", "/exit", {"exit_date": TODAY.isoformat()})):
        status, reply = call(web, method, path + suffix, body)
        assert status == 409 and "管理人员班组" in reply["message"], (method, reply)
    status, reply = call(web, "POST", f"/api/projects/{pid}/teams",
                         {"unit_id": str(site["unit_id"]), "name": "项目部2", "kind": "管理人员班组"})
    assert status == 400 and reply["field"] == "kind"
    assert sdb.teams.find_one({"_id": manager["_id"]})["name"] == "总承包单位项目部"


def test_team_edit_kind_only_worker_to_other_and_delete_when_never_used(web, site, sdb):
    pid, uid = site["project_id"], str(site["unit_id"])
    _, team = call(web, "POST", f"/api/projects/{pid}/teams", {"unit_id": uid, "name": "后勤"})
    status, edited = call(web, "PATCH", f"/api/projects/{pid}/teams/{team['id']}",
                          {"name": "后勤保障", "kind": "其他人员班组"})
    assert status == 200 and edited["name"] == "后勤保障" and edited["kind"] == "其他人员班组"
    status, reply = call(web, "PATCH", f"/api/projects/{pid}/teams/{team['id']}", {"kind": "普通工人班组"})
    assert status == 400 and reply["field"] == "kind"
    # The worker team with people in it keeps its kind: their jobs would not fit an other-staff team.
    status, reply = call(web, "PATCH", f"/api/projects/{pid}/teams/{site['team_id']}", {"kind": "其他人员班组"})
    assert status == 409 and reply["field"] == "kind"
    status, _ = call(web, "DELETE", f"/api/projects/{pid}/teams/{team['id']}")
    assert status == 200 and sdb.teams.find_one({"_id": ObjectId(team["id"])}) is None


def test_unit_delete_only_when_nothing_depends_on_it(web, site, sdb):
    pid = site["project_id"]
    _, unit = add_unit(web, pid, new_enterprise(sdb))
    _, team = call(web, "POST", f"/api/projects/{pid}/teams", {"unit_id": unit["id"], "name": "临时班"})
    status, reply = call(web, "DELETE", f"/api/projects/{pid}/units/{unit['id']}")
    assert status == 409 and "临时班" in reply["message"]
    call(web, "DELETE", f"/api/projects/{pid}/teams/{team['id']}")
    status, _ = call(web, "DELETE", f"/api/projects/{pid}/units/{unit['id']}")
    assert status == 200
    assert sdb.units.find_one({"_id": ObjectId(unit["id"])}) is None
    assert sdb.teams.count_documents({"unit_id": ObjectId(unit["id"])}) == 0


def test_unit_edit_keeps_masked_number_and_type_change_renames_manager_team(web, site, sdb):
    pid = site["project_id"]
    number = synthetic.id_number(RNG)
    _, unit = add_unit(web, pid, new_enterprise(sdb), manager_id_number=number, manager_name="甲")
    path = f"/api/projects/{pid}/units/{unit['id']}"
    status, edited = call(web, "PATCH", path, {"manager_name": "乙", "manager_id_number": unit["manager_id_number"],
                                               "unit_type": "专业分包"})
    assert status == 200 and edited["manager_name"] == "乙" and edited["unit_type"] == "专业分包"
    assert sdb.units.find_one({"_id": ObjectId(unit["id"])})["manager_id_number"] == number
    status, reply = call(web, "PATCH", f"/api/projects/{pid}/units/{site['unit_id']}", {"unit_type": "监理单位"})
    assert status == 409 and reply["field"] == "unit_type"


def test_scope_exports_and_malformed_ids(web, site, sdb, make_account):
    pid = site["project_id"]
    assert call(web, "GET", f"/api/projects/{pid}/units/nope")[0] == 404
    assert call(web, "GET", f"/api/projects/{pid}/teams/{ObjectId()}")[0] == 404
    status, reply = call(web, "GET", f"/api/projects/{pid}/teams?unit_id=nope")
    assert status == 400 and reply["field"] == "unit_id"  # a malformed filter is refused, not ignored
    status, reply = call(web, "GET", f"/api/projects/{pid}/units?status=gone")
    assert status == 400 and reply["field"] == "status"
    other = sdb.projects.insert_one({"_id": 999, "name": "别的项目", "county": "台山市", "status": "在建",
                                     "created_at": dt.datetime.now(dt.timezone.utc)}).inserted_id
    make_account("pm1", "project", project_id=pid)
    make_account("sv-ts", "supervisor", county="台山市")
    cookie = web.login("pm1")
    assert web.request("GET", f"/api/projects/{other}/units", cookie=cookie)[0] == 404
    supervisor = web.login("sv-ts")
    assert web.request("GET", f"/api/projects/{pid}/teams", cookie=supervisor)[0] == 404
    assert web.request("GET", f"/api/projects/{other}/teams", cookie=supervisor)[0] == 200
    status, _, _ = web.request("POST", f"/api/projects/{other}/units", {"unit_type": "劳务分包"}, cookie=supervisor)
    assert status == 403  # supervisors read units and teams; projects keep them
    status, data, headers = web.raw("GET", f"/api/projects/{pid}/units/export", cookie=cookie)
    rows = list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert status == 200 and rows[0][1] == "参建单位" and rows[1][3] == "施工总承包单位"
    status, data, _ = web.raw("GET", f"/api/projects/{pid}/teams/export", cookie=cookie)
    rows = list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert status == 200 and {r[1] for r in rows[1:]} == {"总承包单位项目部", "土建"}


def unit_id_of(sdb):
    return sdb.units.find_one({"manager_name": "王经理"})["_id"]


def test_pages_show_units_and_teams_with_the_project_picker(web, site, sdb, make_account):
    pid = site["project_id"]
    number = synthetic.id_number(RNG)
    add_unit(web, pid, new_enterprise(sdb), manager_id_number=number, manager_name="王经理")
    make_account("sv1", "supervisor")
    supervisor = web.login("sv1")
    status, body, _ = web.raw("GET", "/units", cookie=supervisor)
    html = body.decode()
    assert status == 200 and "请先选择一个项目" in html and f'value="{pid}"' in html
    status, body, _ = web.raw("GET", f"/units?project={pid}", cookie=supervisor)
    html = body.decode()
    assert status == 200 and "王经理" in html and number not in html and number[:3] in html
    assert "添加参建单位" not in html  # supervisors only read
    make_account("pm2", "project", project_id=pid)
    cookie = web.login("pm2")
    status, body, _ = web.raw("GET", "/teams", cookie=cookie)
    html = body.decode()
    assert status == 200 and "土建" in html and "添加班组" in html and "总承包单位项目部" in html
    # A worker team in the list offers 退场 and 删除 on its own address; the manager team offers neither.
    team_api = f"/api/projects/{pid}/teams/{site['team_id']}"
    assert f'data-api="{team_api}/exit"' in html and f'data-api="{team_api}" data-method="DELETE"' in html
    manager_team = sdb.teams.find_one({"project_id": pid, "kind": "管理人员班组"})["_id"]
    assert f"/teams/{manager_team}/exit" not in html
    status, body, _ = web.raw("GET", f"/units?project={pid}", cookie=cookie)
    assert f'data-api="/api/projects/{pid}/units/{unit_id_of(sdb)}/exit"' in body.decode()
    unit_id = sdb.units.find_one({"manager_name": "王经理"})["_id"]
    status, body, _ = web.raw("GET", f"/units/{unit_id}", cookie=cookie)
    html = body.decode()
    assert status == 200 and "王经理" in html and number not in html
    assert f'data-api="/api/projects/{pid}/units/{unit_id}/exit"' in html and 'data-method="PATCH"' in html
    status, body, _ = web.raw("GET", f"/teams/{site['team_id']}", cookie=cookie)
    assert status == 200 and "土建" in body.decode()
    assert web.raw("GET", f"/units/{ObjectId()}", cookie=cookie)[0] == 404
