"""Headless Chromium, the whole way a new project comes onto the platform (issue 3):

a visitor declares a project; a supervisor passes it and is shown the issued account once; the
project logs in with that account, is made to change its password, registers its general
contractor in 企业库, adds it as a participating unit, adds a team, enters a worker, and uploads an
Excel roster with one bad row, which is reported back with its row number while the good row enters.
"""
from __future__ import annotations

import random


from server import synthetic
from support import CAPTCHA_ANSWER, PASSWORD, PDF, declare_project, roster_workbook

RNG = random.Random(31)


def test_declare_approve_and_onboard_a_project(web, worker, sdb, make_account, browser, tmp_path):
    proof = tmp_path / "证明.pdf"
    proof.write_bytes(PDF)
    make_account("jg_review", "supervisor")
    b = browser(web)

    # 项目申报, from the login page.
    declare_project(b, proof, CAPTCHA_ANSWER, name="江门市新会区入场测试项目", supplier="江门智慧工地科技有限公司",
                    category="房屋建筑工程", county="新会区", applicant_name="李申报", applicant_mobile="13912345678",
                    applicant_email="li@example.cn")
    b.wait_text_in("#declared", "申报已提交")
    declaration = str(sdb.declarations.find_one({"name": "江门市新会区入场测试项目"})["_id"])

    # 项目审核: the supervisor passes it and sees the account and initial password once.
    b.sign_in("jg_review", PASSWORD)
    b.wait_text_in("main", "欢迎")
    b.open(f"/declarations/{declaration}")
    b.submit("#decision-form")
    b.wait_text_in("#decision-result", "初始密码")
    username = b.text('#decision-result [data-key="username"]')
    initial = b.text('#decision-result [data-key="password"]')
    account = sdb.accounts.find_one({"username": username})
    assert account["role"] == "project" and account["must_change_password"] is True
    assert initial not in str(account)  # shown once, stored only as a hash
    project_id = account["project_id"]
    b.click("#logout")
    b.wait_url("/login")

    # The project logs in with the issued account and must change the password first.
    b.sign_in(username, initial)
    b.wait_url("/password")
    b.fill({"old_password": initial, "new_password": "Xiangmu2026ok", "new_password_confirm": "Xiangmu2026ok"})
    b.submit("#password-form")
    b.wait_text_in("main", "欢迎")

    # 企业库: register the general contractor (a wrong credit code first: refused beside the field).
    code = synthetic.credit_code(RNG)
    b.open("/enterprises/new")
    b.fill({"name": "江门市入场测试建筑有限公司", "short_name": "入场建筑", "credit_code": code[:-1] + ("0" if code[-1] != "0" else "1"),
            "registered_area": "广东省江门市新会区"}, scope="#enterprise-form")
    b.set_value("registration_date", "2015-03-02", scope="#enterprise-form")
    b.submit("#enterprise-form")
    refused = b.wait_text("#enterprise-form .field-error")
    assert "信用代码" in refused and "credit_code" not in refused
    assert b.value("name", scope="#enterprise-form") == "江门市入场测试建筑有限公司"
    b.fill({"credit_code": code}, scope="#enterprise-form")
    b.submit("#enterprise-form")
    # The form goes on to the new record's page; wait for it so that navigation cannot race the next one.
    enterprise = b._wait(lambda d: sdb.enterprises.find_one({"credit_code": code}))
    b.wait_url(f"/enterprises/{enterprise['_id']}")

    # 项目参建单位管理: add it as 施工总承包单位; its manager team appears by itself.
    b.open("/units")
    b.fill({"unit_type": "施工总承包单位", "credit_code": code}, scope="#unit-form")
    b.submit("#unit-form")
    b.wait_text_in("main table", "江门市入场测试建筑有限公司")  # the page reloads with the new unit listed
    unit = sdb.units.find_one({"project_id": project_id})
    assert sdb.teams.find_one({"unit_id": unit["_id"], "kind": "管理人员班组"}) is not None

    # 项目班组管理: a worker team under that unit.
    b.open("/teams")
    b.fill({"name": "钢筋班组", "kind": "普通工人班组"}, scope="#team-form")
    b.submit("#team-form")
    b.wait_text_in("main table", "钢筋班组")
    assert sdb.teams.find_one({"project_id": project_id, "name": "钢筋班组", "kind": "普通工人班组"})

    # 人员库 then 花名册: one worker entered through the cascading selects.
    b.open("/people")
    b.fill({"id_number": synthetic.id_number(RNG), "name": "入场工人"}, scope="#person-form")
    b.submit("#person-form")
    b.wait_url("/people/")
    worker = sdb.people.find_one({"name": "入场工人"})
    b.open("/roster")
    b.find("#enter-form[data-options-loaded]")
    b.find("#person-query").send_keys("入场工人")
    b.click("#person-search")
    b.wait_text_in("#person-choices", "入场工人")
    b.click("#person-choices tbody button")
    b.fill({"unit_id": "江门市入场测试建筑有限公司（施工总承包单位）"}, scope="#enter-form")
    b.fill({"team_id": "钢筋班组（普通工人班组）"}, scope="#enter-form")
    b.fill({"job": "钢筋工"}, scope="#enter-form")
    b.submit("#enter-form")
    b.wait_text_in("#enter-result", "已进场 1 人")
    assert sdb.roster.find_one({"project_id": project_id, "worker_no": worker["worker_no"], "exit_date": None})

    # 批量人员进场: one good row, one row with an invalid ID number (row 3), reported back.
    upload = roster_workbook(tmp_path / "花名册.xlsx", [
        [synthetic.id_number(RNG), "表格工人", None, None, None, None, "江门市入场测试建筑有限公司", "钢筋班组", "钢筋工", None],
        ["44070319900101001X", "坏行工人", None, None, None, None, "江门市入场测试建筑有限公司", "钢筋班组", "钢筋工", None]])
    b.fill({"file": upload}, scope="#import-form")
    b.submit("#import-form")
    b.wait_text_in("#import-result", "完成")
    assert "进场 1 人" in b.text("#import-result")
    errors = b.text("#import-errors tbody")
    assert "3" in errors and "身份证" in b.text("#import-errors")
    assert sdb.roster.count_documents({"project_id": project_id, "exit_date": None}) == 2
    assert sdb.people.find_one({"name": "坏行工人"}) is None
