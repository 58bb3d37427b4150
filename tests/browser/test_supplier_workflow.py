"""Headless Chromium walks the supplier workflow on the real pages: register, apply for 考勤设备,
the supervisor approves, and one device access application goes through the four steps to 办结."""
from __future__ import annotations

import random

from server import synthetic
from support import CAPTCHA_ANSWER, PASSWORD, PDF


def wait_for(b, selector, expected, timeout=15):
    """Wait until the element shows `expected`, across the page reloads forms trigger."""
    b.wait_text_in(selector, expected, timeout)


def sign_in(b, username, password=PASSWORD):
    b.driver.delete_all_cookies()
    b.sign_in(username, password)
    wait_for(b, "main h1", "欢迎")


def act(b, path, action, remark):
    b.open(path)
    b.fill({"remark": remark}, f"#action-{action}")
    b.submit(f"#action-{action}")
    b._wait(lambda d: not d.find_elements("css selector", f"#action-{action}"))


def test_supplier_registers_and_a_device_reaches_closed(web, site, make_account, browser, sdb, tmp_path):
    make_account("city", "supervisor")
    b = browser(web)
    b.open("/login")
    b.click('a[href="/supplier/register"]')
    b.wait_url("/supplier/register")
    b.fill({"name": "江门浏览器考勤科技有限公司", "credit_code": synthetic.credit_code(random.Random(11)),
            "vendor_code": "BROWSER01", "contact_name": "陈工", "contact_phone": "1391234567",  # one digit short
            "email": "chen@example.cn", "username": "browser_gys", "password": "Browser2022",
            "password_confirm": "Browser2022", "captcha": CAPTCHA_ANSWER}, "#supplier-register-form")
    b.submit("#supplier-register-form")
    assert "手机号" in b.wait_text("#supplier-register-form .field-error")
    assert b.value("vendor_code") == "BROWSER01"  # nothing typed was lost
    b.fill({"contact_phone": "13912345678", "captcha": CAPTCHA_ANSWER}, "#supplier-register-form")
    b.submit("#supplier-register-form")
    b.wait_url("/login")

    sign_in(b, "browser_gys", "Browser2022")
    b.open("/supplier")
    assert b.text("#supplier-status") == "未开通"
    b.click("#scope-button-attendance")
    b.fill({"device_models": "F7 人脸识别考勤机", "biometric_method": "人脸识别"}, "#scope-form-attendance")
    b.submit("#scope-form-attendance")
    wait_for(b, "#scope-row-attendance", "待审核")

    supplier_id = str(sdb.suppliers.find_one({"vendor_code": "BROWSER01"})["_id"])
    sign_in(b, "city")
    b.open("/supplier-review")
    form = f"#review-{supplier_id}-attendance"
    b.fill({"decision": "通过", "opinion": "同意"}, form)
    b.submit(form)
    wait_for(b, f"#supplier-row-{supplier_id}", "正常")

    sign_in(b, "browser_gys", "Browser2022")
    b.open("/supplier")
    assert b.text("#supplier-status") == "正常"
    attachment = tmp_path / "申请资料.pdf"
    attachment.write_bytes(PDF)
    b.open("/access/new")
    b.fill({"project_id": f"value={site['project_id']}", "serial": "BR-0001", "install_place": "东门",
            "biometric_method": "人脸识别", "attachment": str(attachment)}, "#access-form")
    b.submit("#access-form")
    b._wait(lambda d: "/access/" in d.current_url and "/access/new" not in d.current_url)
    app_id = int(b.text("#access-id"))
    path = f"/access/{app_id}"
    review = f"/device-access/{app_id}"

    steps = [("city", review, "authorise_test", "测试环境 test.jmzhgd.cn:20028 账号 t1 密码 T1pass"),
             ("browser_gys", path, "report_test", "测试环境联调成功"),
             ("city", review, "authorise_production", "正式环境 jmzhgd.jiangmen.cn:20028"),
             ("browser_gys", path, "report_production", "正式环境联调成功"),
             ("city", review, "verify", "设备作业核查通过")]
    who = None
    for user, page, action, remark in steps:
        if user != who:
            sign_in(b, user, "Browser2022" if user == "browser_gys" else PASSWORD)
            who = user
        act(b, page, action, remark)
    assert "办结" in b.text("#access-state")
    assert "设备作业核查通过" in b.text("#access-history")
    b.open("/device-access?list=closed")
    assert "BR-0001" in b.text(f"#access-row-{app_id}")
    device = sdb.devices.find_one({"vendor_code": "BROWSER01", "device_id": "BR-0001"})
    assert device["environment"] == "production" and device["status"] == "active"
