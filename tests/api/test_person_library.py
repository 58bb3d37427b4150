"""人员库 over real HTTP: adding people (GB 11643 hard errors refused naming id_number, area-code
warnings kept), search within scope, masked details with audited unmasking, career across projects
and contracts, and the pages (/people, /people/{n}, /roster) showing masked data by default."""
from __future__ import annotations

import datetime as dt
import random
import urllib.parse

from bson import ObjectId
from stdnum.cn import ric

from server import synthetic
from server.store import workforce
from support import ADMIN_TOKEN, run_async


def with_check(body17: str) -> str:
    return body17 + ric.calc_check_digit(body17 + "0")


def add(web, body, token=ADMIN_TOKEN, cookie=None):
    status, reply, _ = web.request("POST", "/api/people", body, token=None if cookie else token, cookie=cookie)
    return status, reply


def test_add_person_checks_id_number_and_fields(web, sdb):
    rng = random.Random(11)
    number = synthetic.id_number(rng)
    status, person = add(web, {"id_number": number.lower(), "name": " 陈 大文 ", "nation": "汉族", "phone": "138 0013 8000",
                               "address": "广东省江门市蓬江区白沙大道 1 号"})
    assert status == 201, person
    assert person["id_number"] != number and person["id_number"].endswith(number[-4:]) and person["masked"]
    assert person["name"] == "陈 大文" and person["nation"] == "汉族" and person["phone"] == "138****8000"
    stored = sdb.people.find_one({"worker_no": person["worker_no"]})
    assert stored["id_number"] == number and stored["birth_date"] == number[6:14]
    assert stored["sex"] == ("1" if int(number[16]) % 2 else "0") and stored["phone"] == "13800138000"

    status, reply = add(web, {"id_number": number, "name": "重复"})
    assert status == 409 and reply["field"] == "id_number" and str(person["worker_no"]) in reply["message"]
    wrong_check = number[:17] + ("0" if number[17] != "0" else "1")
    refusals = [
        ({"id_number": wrong_check, "name": "甲"}, "id_number", "校验位"),
        ({"id_number": "44070319991332123X", "name": "甲"}, "id_number", ""),
        ({"id_number": "123", "name": "甲"}, "id_number", "长度"),
        ({"id_number": synthetic.id_number(rng)}, "name", "姓名"),
        ({"id_number": synthetic.id_number(rng), "name": "甲", "nation": "火星族"}, "nation", "民族"),
        ({"id_number": synthetic.id_number(rng), "name": "甲", "phone": "12345"}, "phone", "手机"),
        ({"id_number": synthetic.id_number(rng), "name": "甲", "sex": "未知"}, "sex", "性别"),
        ({"id_number": 440703199001011234, "name": "甲"}, "id_number", "文本"),
    ]
    for body, field, words in refusals:
        status, reply = add(web, body)
        assert status == 400 and reply["field"] == field and words in reply["message"], (body, reply)
    assert sdb.people.count_documents({}) == 1

    # An area code no table knows is a warning to review, never a refusal.
    odd = with_check("99000019900101123")
    status, reply = add(web, {"id_number": odd, "name": "旧地区码"})
    assert status == 201 and reply["id_warnings"] == ["area_code_unknown"], reply


def test_search_detail_unmask_and_scope(web, site, sdb, make_account, mongo_uri, db_name):
    worker = site["workers"][0]
    status, body = web.get("/api/people?q=" + urllib.parse.quote(worker["name"][:1]))
    assert status == 200 and worker["worker_no"] in {p["worker_no"] for p in body["people"]}
    assert all("*" in p["id_number"] for p in body["people"])
    status, body = web.get(f"/api/people?q={worker['worker_no']}")
    assert [p["worker_no"] for p in body["people"]] == [worker["worker_no"]]
    status, body = web.get(f"/api/people?q={worker['id_number']}")
    assert body["total"] == 1

    # Someone in the library but never on this project: a project account finds them only by the full number.
    _, outsider = add(web, {"id_number": synthetic.id_number(random.Random(12)), "name": "外人"})
    make_account("proj1", "project", project_id=site["project_id"])
    cookie = web.login("proj1")
    status, body, _ = web.request("GET", "/api/people?q=" + urllib.parse.quote("外人"), cookie=cookie)
    assert status == 200 and body["total"] == 0
    number = sdb.people.find_one({"worker_no": outsider["worker_no"]})["id_number"]
    status, body, _ = web.request("GET", f"/api/people?q={number}", cookie=cookie)
    assert body["total"] == 1 and body["people"][0]["id_number"] != number
    assert web.request("GET", f"/api/people/{outsider['worker_no']}", cookie=cookie)[0] == 404
    status, body, _ = web.request("GET", f"/api/people?q={site['workers'][1]['worker_no']}", cookie=cookie)
    assert body["total"] == 1

    # A person the project adds is visible to it straight away, to be entered.
    status, mine = add(web, {"id_number": synthetic.id_number(random.Random(13)), "name": "本项目新增"}, cookie=cookie)
    assert status == 201
    assert web.request("GET", f"/api/people/{mine['worker_no']}", cookie=cookie)[0] == 200

    status, body, _ = web.request("GET", f"/api/people/{worker['worker_no']}?unmask=true", cookie=cookie)
    assert status == 200 and body["id_number"] == worker["id_number"] and not body["masked"]
    audit = sdb.audit_log.find_one({"action": "person_view_unmasked", "target.worker_no": worker["worker_no"]})
    assert audit and audit["actor"] == "proj1"
    make_account("ana", "analyst")
    analyst = web.login("ana", ip="10.0.0.9")
    status, _, _ = web.request("GET", f"/api/people/{worker['worker_no']}?unmask=true", cookie=analyst)
    assert status == 403
    status, body, _ = web.request("GET", f"/api/people/{worker['worker_no']}", cookie=analyst)
    assert status == 200 and body["id_number"] != worker["id_number"]


def test_career_across_projects_and_contracts(web, site, sdb, mongo_uri, db_name, make_account):
    worker = site["workers"][0]

    async def second_project(db):
        project = await workforce.create_project(db, name="第二个项目", county="新会区")
        unit = await workforce.add_unit(db, project_id=project["_id"], enterprise_id=(await db.enterprises.find_one())["_id"],
                                        unit_type="施工总承包单位")
        team = await workforce.add_team(db, project_id=project["_id"], unit_id=unit["_id"], name="钢筋班")
        return project["_id"], str(team["_id"])
    other_pid, other_team = run_async(mongo_uri, db_name, second_project)
    status, reply, _ = web.request("POST", f"/api/projects/{site['project_id']}/roster/exit",
                                   {"worker_nos": [worker["worker_no"]]}, token=ADMIN_TOKEN)
    assert status == 200, reply
    status, reply, _ = web.request("POST", f"/api/projects/{other_pid}/roster",
                                   {"worker_no": worker["worker_no"], "team_id": other_team, "job": "钢筋工"}, token=ADMIN_TOKEN)
    assert status == 200 and reply["entered"] == 1, reply
    sdb.contracts.insert_one({"project_id": other_pid, "project_name": "第二个项目", "worker_no": worker["worker_no"],
                              "enterprise_name": "江门市测试建筑工程有限公司", "term_type": "固定期限", "pay_unit": "按天",
                              "unit_price": 350.0, "effective_date": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc),
                              "expiry_date": None, "person_id": sdb.people.find_one({"worker_no": worker["worker_no"]})["_id"],
                              "file_id": ObjectId(), "created_at": dt.datetime.now(dt.timezone.utc),
                              "updated_at": dt.datetime.now(dt.timezone.utc)})
    status, history = web.get(f"/api/people/{worker['worker_no']}/history")
    assert status == 200
    assert [(c["project_name"], c["status"]) for c in history["career"]][:2] in (
        [("第二个项目", "在场"), ("江门市测试项目", "退场")], [("江门市测试项目", "退场"), ("第二个项目", "在场")])
    assert history["contracts"][0]["unit_price"] == 350.0

    # A project account sees only its own project's part of the career and contracts.
    make_account("first", "project", project_id=site["project_id"])
    cookie = web.login("first")
    status, history, _ = web.request("GET", f"/api/people/{worker['worker_no']}/history", cookie=cookie)
    assert [c["project_name"] for c in history["career"]] == ["江门市测试项目"] and history["contracts"] == []

    status, html, _ = web.raw("GET", f"/people/{worker['worker_no']}", token=ADMIN_TOKEN)
    page = html.decode()
    assert status == 200 and "从业经历" in page and "第二个项目" in page and "350.0" in page
    assert worker["id_number"] not in page and worker["id_number"][-4:] in page
    assert f"/api/people/{worker['worker_no']}?unmask=true" in page and "查看完整信息" in page
    assert f"/contracts?worker_no={worker['worker_no']}" in page


def test_pages_show_masked_data_and_forms(web, site, make_account):
    make_account("siteman", "project", project_id=site["project_id"])
    cookie = web.login("siteman")
    status, html, _ = web.raw("GET", "/people", cookie=cookie)
    page = html.decode()
    assert status == 200 and "人员库" in page and "新增人员" in page
    assert all(w["name"] in page and w["id_number"] not in page for w in site["workers"])

    status, html, _ = web.raw("GET", "/roster", cookie=cookie)
    page = html.decode()
    assert status == 200 and "项目人员花名册" in page and "roster.js" in page
    assert all(w["name"] in page and w["id_number"] not in page for w in site["workers"])
    for marker in ("批量退场", "人员进场", "批量人员进场", "/api/roster/template", 'data-columns="row,column,message"',
                   f"/api/projects/{site['project_id']}/roster/import", f"/api/projects/{site['project_id']}/roster/export",
                   f"/api/projects/{site['project_id']}/roster/options", 'form="batch-exit"'):
        assert marker in page, marker
    status, html, _ = web.raw("GET", "/roster?q=" + urllib.parse.quote(site["workers"][0]["name"]), cookie=cookie)
    assert site["workers"][0]["name"] in html.decode() and "共 1 人" in html.decode()

    # Supervisors read the roster of projects in scope through the picker, without the write forms.
    make_account("supv", "supervisor")
    supv = web.login("supv", ip="10.0.0.4")
    status, html, _ = web.raw("GET", f"/roster?project={site['project_id']}", cookie=supv)
    page = html.decode()
    assert status == 200 and site["workers"][0]["name"] in page and "批量人员进场" not in page
    assert web.raw("GET", "/people/99999", cookie=supv)[0] == 404
    assert web.raw("GET", "/roster")[0] == 302
