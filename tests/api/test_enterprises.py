"""企业库 over real HTTP on the real database: every field of the guide, refusals naming the field,
search and paging, Excel export, 发账号, and an enterprise account confined to its own enterprise."""
from __future__ import annotations

import io
import random

from bson import ObjectId
from openpyxl import load_workbook

from server import synthetic
from support import refusal_names_field, ADMIN_TOKEN, PASSWORD

RNG = random.Random(4242)


def full_body(**overrides) -> dict:
    body = {
        "name": "江门市侨乡建筑工程有限公司", "short_name": "侨乡建筑", "credit_code": synthetic.credit_code(RNG),
        "registered_area": "广东省江门市蓬江区", "business_address": "江门市蓬江区建设路 1 号",
        "registration_date": "2018-12-18", "established_date": "2018-12-01", "registered_capital": 5000,
        "unit_nature": "有限责任公司", "capital_currency": "人民币元", "paid_in_capital": "1200.5",
        "office_phone": "0750-3300000", "fax": "0750-3300001", "email": "office@qiaoxiang.example.cn",
        "business_license_no": "440703000123456", "postcode": "529000", "legal_representative": "陈大文",
        "contact_name": "李小明", "contact_phone": "13800138000",
    }
    body.update(overrides)
    return body


def register(web, token=ADMIN_TOKEN, **overrides):
    status, reply, _ = web.request("POST", "/api/enterprises", full_body(**overrides), token=token)
    return status, reply


def test_register_keeps_every_field_and_refuses_a_second_registration_of_the_code(web, sdb):
    body = full_body()
    status, reply, _ = web.request("POST", "/api/enterprises", body, token=ADMIN_TOKEN)
    assert status == 201, reply
    status, got = web.get(f"/api/enterprises/{reply['id']}")
    # 负责人电话 is a person's phone: masked unless asked for (audited); the stored value is whole.
    assert status == 200 and got["contact_phone"] == "138****8000" and got["masked"]
    status, got = web.get(f"/api/enterprises/{reply['id']}?unmask=true")
    assert status == 200 and not got["masked"]
    assert sdb.audit_log.count_documents({"action": "enterprise_view_unmasked"}) == 1
    for key, value in body.items():
        expected = float(value) if key in ("registered_capital", "paid_in_capital") else value
        assert got[key] == expected, key
    # Lower-case and spaced input is the same code: still a duplicate.
    twin = body["credit_code"].lower()[:9] + " " + body["credit_code"].lower()[9:]
    status, reply = register(web, credit_code=twin, name="另一家公司")
    assert status == 409 and reply["field"] == "credit_code" and "已在企业库中登记" in reply["message"]
    assert sdb.enterprises.count_documents({}) == 1


def test_each_bad_field_is_refused_by_name_and_nothing_is_stored(web, sdb):
    code = synthetic.credit_code(RNG)
    bad_check = code[:17] + ("0" if code[17] != "0" else "1")
    cases = {
        "credit_code": {"credit_code": bad_check},
        "short_name": {"short_name": ""},
        "name": {"name": 7},
        "registration_date": {"registration_date": "2999-01-01"},
        "established_date": {"established_date": "2019-13-01"},
        "registered_capital": {"registered_capital": -1},
        "paid_in_capital": {"paid_in_capital": 9000},
        "email": {"email": "not-an-email"},
        "postcode": {"postcode": "52900"},
        "unit_nature": {"unit_nature": "外星企业"},
        "office_phone": {"office_phone": "call me"},
    }
    for field, override in cases.items():
        status, reply = register(web, **override)
        assert status == 400 and reply["field"] == field, (field, reply)
        assert refusal_names_field(reply, field), reply
    assert sdb.enterprises.count_documents({}) == 0
    status, reply = register(web, credit_code=bad_check)
    assert "校验位" in reply["message"]


def test_registered_area_defaults_from_the_code_when_left_blank(web):
    status, reply = register(web, registered_area="", credit_code=synthetic.credit_code(RNG, region="440784"))
    assert status == 201 and reply["registered_area"] == "广东省江门市鹤山市"


def test_edit_changes_only_what_is_sent_and_keeps_required_fields(web):
    _, created = register(web)
    eid = created["id"]
    status, reply, _ = web.request("PATCH", f"/api/enterprises/{eid}",
                                   {"legal_representative": "王五", "fax": "", "registered_capital": 8000},
                                   token=ADMIN_TOKEN)
    assert status == 200, reply
    assert reply["legal_representative"] == "王五" and reply["fax"] == "" and reply["registered_capital"] == 8000
    assert reply["name"] == created["name"] and reply["email"] == created["email"]
    status, reply, _ = web.request("PATCH", f"/api/enterprises/{eid}", {"name": "  "}, token=ADMIN_TOKEN)
    assert status == 400 and reply["field"] == "name"
    status, reply, _ = web.request("PATCH", f"/api/enterprises/{eid}", {"paid_in_capital": 9000}, token=ADMIN_TOKEN)
    assert status == 400 and reply["field"] == "paid_in_capital"
    assert web.get(f"/api/enterprises/{eid}")[1]["paid_in_capital"] == 1200.5
    _, other = register(web, name="另一家", short_name="另一家")
    status, reply, _ = web.request("PATCH", f"/api/enterprises/{eid}", {"credit_code": other["credit_code"]},
                                   token=ADMIN_TOKEN)
    assert status == 409 and reply["field"] == "credit_code"
    status, reply, _ = web.request("PATCH", f"/api/enterprises/{eid}", {"registered_area": ""}, token=ADMIN_TOKEN)
    assert status == 400 and reply["field"] == "registered_area"
    assert web.get(f"/api/enterprises/{eid}")[1]["credit_code"] == created["credit_code"]


def test_search_by_name_and_code_with_pages(web):
    codes = []
    for i in range(5):
        status, reply = register(web, name=f"江门市测试{i}号工程有限公司", short_name=f"测{i}")
        assert status == 201
        codes.append(reply["credit_code"])
    register(web, name="鹤山市圭峰劳务有限公司", short_name="圭峰劳务")
    status, page = web.get("/api/enterprises?q=%E6%B5%8B%E8%AF%95&page_size=2&page=2")  # q=测试
    assert status == 200 and page["total"] == 5 and len(page["enterprises"]) == 2 and page["page"] == 2
    status, found = web.get(f"/api/enterprises?credit_code={codes[3][:12].lower()}")
    assert [e["credit_code"] for e in found["enterprises"]] == [codes[3]]
    _, by_short = web.get("/api/enterprises?q=%E5%9C%AD%E5%B3%B0")  # 圭峰
    assert by_short["total"] == 1
    assert web.get("/api/enterprises?page_size=500")[0] == 400


def test_export_is_an_excel_file_with_the_library(web):
    _, created = register(web, name="=HYPERLINK(\"x\")有限公司")
    status, data, headers = web.raw("GET", "/api/enterprises/export", token=ADMIN_TOKEN)
    assert status == 200 and "spreadsheetml" in headers["Content-Type"]
    sheet = load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("序号", "企业名称", "企业简称", "统一社会信用代码")
    assert rows[1][1].startswith("'=") and rows[1][3] == created["credit_code"]


def test_malformed_and_unknown_ids_are_404(web):
    assert web.get("/api/enterprises/not-an-id")[0] == 404
    assert web.get(f"/api/enterprises/{ObjectId()}")[0] == 404
    status, _, _ = web.request("PATCH", "/api/enterprises/123", {"name": "x"}, token=ADMIN_TOKEN)
    assert status == 404


def test_supervisor_issues_an_enterprise_account_once_and_it_sees_only_its_enterprise(web, make_account):
    _, mine = register(web)
    _, other = register(web, name="别家公司")
    make_account("sup1", "supervisor")
    supervisor = web.login("sup1")
    status, issued, _ = web.request("POST", f"/api/enterprises/{mine['id']}/account", cookie=supervisor)
    assert status == 201 and issued["username"] == mine["credit_code"] and len(issued["password"]) >= 8
    status, again, _ = web.request("POST", f"/api/enterprises/{mine['id']}/account", cookie=supervisor)
    assert status == 409 and again["field"] == "enterprise_id"
    assert web.get(f"/api/enterprises/{mine['id']}")[1]["account_username"] == mine["credit_code"]

    cookie = web.login(issued["username"], issued["password"])
    assert web.request("GET", "/api/enterprises", cookie=cookie)[0] == 403  # must change the password first
    status, _, _ = web.request("POST", "/api/password", {"old_password": issued["password"], "new_password": PASSWORD,
                                        "new_password_confirm": PASSWORD},
                               cookie=cookie)
    assert status == 200
    status, listing, _ = web.request("GET", "/api/enterprises", cookie=cookie)
    assert status == 200 and [e["id"] for e in listing["enterprises"]] == [mine["id"]]
    assert web.request("GET", f"/api/enterprises/{other['id']}", cookie=cookie)[0] == 404
    assert web.request("PATCH", f"/api/enterprises/{mine['id']}", {"fax": ""}, cookie=cookie)[0] == 403
    assert web.request("POST", f"/api/enterprises/{other['id']}/account", cookie=cookie)[0] == 403


def test_project_account_registers_but_cannot_issue_accounts(web, make_account, site):
    make_account("proj1", "project", project_id=site["project_id"])
    cookie = web.login("proj1")
    status, reply, _ = web.request("POST", "/api/enterprises", full_body(), cookie=cookie)
    assert status == 201, reply
    assert web.request("POST", f"/api/enterprises/{reply['id']}/account", cookie=cookie)[0] == 403


def test_delete_only_an_enterprise_no_project_uses(web, site, sdb):
    _, unused = register(web)
    used = sdb.units.find_one({"project_id": site["project_id"]})["enterprise_id"]
    status, reply, _ = web.request("DELETE", f"/api/enterprises/{used}", token=ADMIN_TOKEN)
    assert status == 409 and reply["field"] == "enterprise_id"
    status, _, _ = web.request("DELETE", f"/api/enterprises/{unused['id']}", token=ADMIN_TOKEN)
    assert status == 200 and sdb.enterprises.find_one({"_id": ObjectId(unused["id"])}) is None


def test_pages_list_register_detail_and_edit(web, make_account):
    from server.store.enterprises import FIELDS
    _, created = register(web)
    _, other = register(web, name="别家公司", short_name="别家")
    make_account("sup2", "supervisor")
    cookie = web.login("sup2")
    status, body, _ = web.raw("GET", "/enterprises?q=%E4%BE%A8%E4%B9%A1", cookie=cookie)  # q=侨乡
    html = body.decode()
    assert status == 200 and created["credit_code"] in html and other["credit_code"] not in html
    assert "企业注册" in html and "发账号" in html and "/api/enterprises/export?q=" in html
    status, body, _ = web.raw("GET", "/enterprises/new", cookie=cookie)
    html = body.decode()
    assert status == 200 and all(f.label in html for f in FIELDS) and 'data-method="POST"' in html
    status, body, _ = web.raw("GET", f"/enterprises/{created['id']}/edit", cookie=cookie)
    html = body.decode()
    assert status == 200 and 'data-method="PATCH"' in html and 'value="1200.5"' in html and 'value="5000"' in html
    status, body, _ = web.raw("GET", f"/enterprises/{created['id']}", cookie=cookie)
    assert status == 200 and "陈大文" in body.decode()
    assert web.raw("GET", f"/enterprises/{ObjectId()}", cookie=cookie)[0] == 404
    # An enterprise account sees its own enterprise only, and no register button.
    make_account("ent2", "enterprise", enterprise_id=ObjectId(created["id"]))
    own = web.login("ent2")
    status, body, _ = web.raw("GET", "/enterprises", cookie=own)
    html = body.decode()
    assert status == 200 and created["credit_code"] in html and other["credit_code"] not in html
    assert "/enterprises/new" not in html
    assert web.raw("GET", f"/enterprises/{other['id']}", cookie=own)[0] == 404
    assert web.raw("GET", "/enterprises/new", cookie=own)[0] == 403


def test_demo_completes_every_enterprise_field_and_names_each_units_manager(web, site, mongo_uri, db_name, sdb):
    from server.demo.enterprises_demo import seed_enterprise_details
    from server.store.enterprises import FIELDS
    from support import run_async
    run_async(mongo_uri, db_name, seed_enterprise_details)
    run_async(mongo_uri, db_name, seed_enterprise_details)  # idempotent: nothing left to complete
    _, listing = web.get("/api/enterprises")
    enterprise = listing["enterprises"][0]
    assert all(enterprise[f.key] not in ("", None) for f in FIELDS), enterprise
    _, units = web.get(f"/api/projects/{site['project_id']}/units")
    assert all(u["manager_name"] and "*" in u["manager_id_number"] for u in units["units"])


def test_project_account_deletes_only_enterprises_it_registered(web, make_account, site):
    _, by_admin = register(web)
    make_account("proj3", "project", project_id=site["project_id"])
    cookie = web.login("proj3")
    status, own, _ = web.request("POST", "/api/enterprises", full_body(name="自己登记的公司"), cookie=cookie)
    assert status == 201
    assert web.request("DELETE", f"/api/enterprises/{by_admin['id']}", cookie=cookie)[0] == 403
    assert web.request("DELETE", f"/api/enterprises/{own['id']}", cookie=cookie)[0] == 200


def test_library_page_pages_through_the_enterprises(web, monkeypatch):
    from server.web import workforce_pages
    monkeypatch.setattr(workforce_pages, "ENTERPRISE_PAGE_SIZE", 2)
    for i in range(3):
        assert register(web, name=f"江门市翻页{i}号工程有限公司", short_name=f"翻{i}")[0] == 201
    first = web.raw("GET", "/enterprises", token=ADMIN_TOKEN)[1].decode()
    assert "共 3 条" in first and "第 1 / 2 页" in first and "下一页" in first and "上一页" not in first
    second = web.raw("GET", "/enterprises?page=2", token=ADMIN_TOKEN)[1].decode()
    assert "第 2 / 2 页" in second and "上一页" in second and "下一页" not in second
