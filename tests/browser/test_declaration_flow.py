"""Headless Chromium: a visitor declares a project with a proof file, a supervisor passes it and sees the
project account and initial password once; the project then appears in 项目库 with its 停工 form."""
from __future__ import annotations

import time

from support import CAPTCHA_ANSWER, PASSWORD, PDF, declare_project


def test_declare_then_review_then_library(web, sdb, make_account, browser, tmp_path):
    proof = tmp_path / "proof.pdf"
    proof.write_bytes(PDF)
    make_account("jg_city", "supervisor")
    b = browser(web)
    declare_project(b, proof, CAPTCHA_ANSWER, name="江门市浏览器测试项目", supplier="江门智慧工地科技有限公司",
                    category="房屋建筑工程", county="新会区", applicant_name="陈大文", applicant_mobile="1381234567",
                    applicant_email="chen@example.cn")
    # Refused beside the field, nothing typed lost, a fresh captcha fetched.
    assert "手机号" in b.wait_text(".field-error")
    assert b.value("name") == "江门市浏览器测试项目"
    b.fill({"applicant_mobile": "13812345678", "captcha": CAPTCHA_ANSWER})
    b.submit("#declare-form")
    assert "申报已提交" in b.wait_text_in("#declared", "申报已提交")
    decl = str(sdb.declarations.find_one()["_id"])

    b.sign_in("jg_city", PASSWORD)
    b.wait_text_in("main", "欢迎")
    b.open("/declarations")
    b.click(f'tr[data-id="{decl}"] a[href$="#decide"]')
    b.wait_url(f"/declarations/{decl}")
    b.submit("#decision-form")
    shown = b.wait_text_in("#decision-result", "初始密码")
    account = sdb.accounts.find_one({"role": "project"})
    assert account["username"] in shown and "审核通过" in shown
    project_id = account["project_id"]
    b.open("/projects")
    b.wait_text_in("#project-table", "江门市浏览器测试项目")
    b.open(f"/projects/{project_id}")
    b.fill({"status": "停工", "reason": "春节"}, scope="#status-form")
    b.submit("#status-form")
    # The page reloads after the change; wait on the database, then read the fresh page.
    deadline = time.monotonic() + 15
    while sdb.projects.find_one({"_id": project_id})["status"] != "停工" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sdb.projects.find_one({"_id": project_id})["stop_periods"][0]["to"] is None
    b.open(f"/projects/{project_id}")
    assert b.text("#project-status") == "停工" and "停工期间" in b.text("main")
