"""Supplier registration, login, basic information and business scopes over real HTTP."""
from __future__ import annotations

import io
import random

import openpyxl

from server import synthetic
from support import refusal_names_field, ADMIN_TOKEN, CAPTCHA_ANSWER


def registration(web, **overrides) -> dict:
    _, captcha, _ = web.request("GET", "/api/captcha")
    body = {"name": "江门智联考勤科技有限公司", "credit_code": synthetic.credit_code(random.Random(5)),
            "vendor_code": "ZHILIAN01", "contact_name": "陈工", "contact_phone": "13912345678",
            "email": "chen@zhilian.cn", "address": "江门市蓬江区建设路 1 号", "username": "zhilian",
            "password": "Zhilian2022", "password_confirm": "Zhilian2022",
            "captcha_id": captcha["id"], "captcha": CAPTCHA_ANSWER}
    body.update(overrides)
    return body


def test_register_then_log_in_and_see_own_profile(web, sdb):
    status, reply, _ = web.request("POST", "/api/suppliers/register", registration(web))
    assert status == 201, reply
    assert reply["username"] == "zhilian" and reply["vendor_code"] == "ZHILIAN01"
    supplier = sdb.suppliers.find_one({"vendor_code": "ZHILIAN01"})
    account = sdb.accounts.find_one({"username": "zhilian"})
    assert account["role"] == "supplier" and account["supplier_id"] == supplier["_id"]
    assert account["must_change_password"] is False
    assert sdb.audit_log.find_one({"action": "supplier_register", "actor": "zhilian"})
    cookie = web.login("zhilian", "Zhilian2022")
    status, me, _ = web.request("GET", "/api/supplier", cookie=cookie)
    assert status == 200 and me["name"] == "江门智联考勤科技有限公司"
    assert me["contact_phone"] == "13912345678"  # own data, unmasked
    assert me["status"] == "none" and me["scopes"] == []
    # The profile page and the registration page render.
    status, page, _ = web.raw("GET", "/supplier", cookie=cookie)
    assert status == 200 and "编辑基本信息" in page.decode() and "ZHILIAN01" in page.decode()
    status, page, _ = web.raw("GET", "/supplier/register")
    assert status == 200 and 'id="supplier-register-form"' in page.decode()


def test_registration_refusals_name_the_field_and_leave_nothing(web, sdb):
    cases = [
        ({"credit_code": "91440703MA4UXXXXX1"}, 400, "credit_code"),
        ({"vendor_code": "厂商编码"}, 400, "vendor_code"),
        ({"vendor_code": "V" * 33}, 400, "vendor_code"),
        ({"contact_phone": "12345"}, 400, "contact_phone"),
        ({"email": "no-at-sign"}, 400, "email"),
        ({"name": ""}, 400, "name"),
        ({"password": "short1", "password_confirm": "short1"}, 400, "password"),
        ({"password_confirm": "Different9"}, 400, "password_confirm"),
        ({"username": "x"}, 400, "username"),
        ({"captcha": "WRONG"}, 400, "captcha"),
    ]
    for override, code, field in cases:
        status, reply, _ = web.request("POST", "/api/suppliers/register", registration(web, **override))
        assert status == code and reply["field"] == field, (override, reply)
        assert refusal_names_field(reply, field), reply
    assert sdb.suppliers.count_documents({}) == 0 and sdb.accounts.count_documents({}) == 0


def test_duplicates_are_refused(web, sdb):
    assert web.request("POST", "/api/suppliers/register", registration(web))[0] == 201
    for override, field in (({"username": "other1"}, "credit_code"),
                            ({"username": "other2", "credit_code": synthetic.credit_code(random.Random(6))}, "vendor_code"),
                            ({"credit_code": synthetic.credit_code(random.Random(7)), "vendor_code": "NEW01"}, "username")):
        status, reply, _ = web.request("POST", "/api/suppliers/register", registration(web, **override))
        assert status == 409 and reply["field"] == field, reply
    assert sdb.suppliers.count_documents({}) == 1 and sdb.accounts.count_documents({}) == 1


def test_edit_basic_information(web, make_supplier):
    s = make_supplier("editor", "EDIT01", scopes=())
    cookie = web.login("editor")
    status, reply, _ = web.request("PATCH", "/api/supplier", {"contact_name": "王工", "address": "江门市江海区"},
                                   cookie=cookie)
    assert status == 200 and reply["contact_name"] == "王工" and reply["address"] == "江门市江海区"
    status, reply, _ = web.request("PATCH", "/api/supplier", {"contact_phone": "99"}, cookie=cookie)
    assert status == 400 and reply["field"] == "contact_phone"
    status, reply, _ = web.request("PATCH", "/api/supplier", {"vendor_code": "OTHER"}, cookie=cookie)
    assert status == 400 and reply["field"] == "vendor_code"
    status, me, _ = web.request("GET", "/api/supplier", cookie=cookie)
    assert me["vendor_code"] == "EDIT01" and me["contact_phone"] == "13800138000"
    assert s["vendor_code"] == "EDIT01"


def test_scope_application_and_review(web, make_supplier, make_account, sdb):
    s = make_supplier("scoper", "SCOPE01", scopes=())
    make_account("city", "supervisor")
    supplier_cookie, city = web.login("scoper"), web.login("city")
    body = {"scope": "attendance", "contact_name": "李工", "contact_phone": "13800138000", "device_models": "F7"}
    status, reply, _ = web.request("POST", "/api/supplier/scopes", body, cookie=supplier_cookie)
    assert status == 400 and reply["field"] == "biometric_method"
    body["biometric_method"] = "掌纹"
    assert web.request("POST", "/api/supplier/scopes", body, cookie=supplier_cookie)[1]["field"] == "biometric_method"
    body["biometric_method"] = "人脸识别"
    status, reply, _ = web.request("POST", "/api/supplier/scopes", body, cookie=supplier_cookie)
    assert status == 201 and reply["status"] == "pending" and reply["scopes"][0]["state"] == "pending"
    status, reply, _ = web.request("POST", "/api/supplier/scopes", body, cookie=supplier_cookie)
    assert status == 409 and reply["field"] == "scope"
    # The supervisor sees it pending, with the contact phone masked.
    status, listing, _ = web.request("GET", "/api/suppliers?pending=true", cookie=city)
    assert status == 200 and [x["vendor_code"] for x in listing["suppliers"]] == ["SCOPE01"]
    assert listing["suppliers"][0]["contact_phone"] == "138****8000"
    review = f"/api/suppliers/{s['id']}/scopes/attendance/review"
    status, reply, _ = web.request("POST", review, {"decision": "refuse"}, cookie=city)
    assert status == 400 and reply["field"] == "opinion"
    status, reply, _ = web.request("POST", review, {"decision": "refuse", "opinion": "资料不全"}, cookie=city)
    assert status == 200 and reply["scopes"][0]["state"] == "refused" and reply["status"] == "none"
    status, reply, _ = web.request("POST", review, {"decision": "approve"}, cookie=city)
    assert status == 409
    # Refused: the supplier may apply again; then the supervisor approves.
    assert web.request("POST", "/api/supplier/scopes", body, cookie=supplier_cookie)[0] == 201
    status, reply, _ = web.request("POST", review, {"decision": "approve", "opinion": "同意"}, cookie=city)
    assert status == 200 and reply["status"] == "normal" and reply["status_label"] == "正常"
    status, me, _ = web.request("GET", "/api/supplier", cookie=supplier_cookie)
    assert me["status"] == "normal" and me["scopes"][0]["reviewer"] == "city"
    assert sdb.audit_log.count_documents({"action": "supplier_scope_review"}) == 2
    # Pages: the review page lists it; the profile shows the green 正常.
    status, page, _ = web.raw("GET", "/supplier-review", cookie=city)
    assert status == 200 and "SCOPE01" in page.decode() and "138****8000" in page.decode()
    status, page, _ = web.raw("GET", "/supplier", cookie=supplier_cookie)
    assert 'class="tag ok" id="supplier-status"' in page.decode()
    # Export for supervisors.
    status, data, headers = web.raw("GET", "/api/suppliers/export", cookie=city)
    assert status == 200 and headers["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert any("SCOPE01" in [str(c.value) for c in row] for row in sheet.iter_rows())


def test_who_may_do_what(web, make_supplier):
    s = make_supplier("alone", "ALONE01", scopes=("attendance",), approve=False)
    supplier_cookie = web.login("alone")
    # A supplier cannot review, not even itself; nobody anonymous sees anything.
    status, _, _ = web.request("POST", f"/api/suppliers/{s['id']}/scopes/attendance/review", {"decision": "approve"},
                               cookie=supplier_cookie)
    assert status == 403
    assert web.request("GET", "/api/suppliers", cookie=supplier_cookie)[0] == 403
    assert web.request("GET", "/api/supplier")[0] == 401
    # Admin token has no supplier of its own: 404, not someone else's data.
    assert web.request("GET", "/api/supplier", token=ADMIN_TOKEN)[0] == 404
    assert web.request("GET", "/api/suppliers/" + "0" * 24, token=ADMIN_TOKEN)[0] == 404
    assert web.request("POST", f"/api/suppliers/{s['id']}/scopes/dust_noise/review", {"decision": "approve"},
                       token=ADMIN_TOKEN)[0] == 404
    # Pages: a supplier does not reach the review page.
    assert web.raw("GET", "/supplier-review", cookie=supplier_cookie)[0] == 403
    assert web.raw("GET", "/supplier")[0] == 302
