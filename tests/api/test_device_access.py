"""Device access applications over real HTTP: the four steps, who acts, scope, lists, attachments."""
from __future__ import annotations

import io

import openpyxl

from support import ADMIN_TOKEN, PDF

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def apply(web, cookie, project, serial="SN-0001", files=None, **fields):
    form = {"project_id": str(project), "device_type": "attendance", "serial": serial, "install_place": "工地东门",
            "model": "F7", "collection_method": "设备采集", "biometric_method": "人脸识别", "description": "新装考勤机"}
    form.update(fields)
    return web.upload("/api/supplier/applications", files={"attachment": ("申请.pdf", PDF, "application/pdf")}
                      if files is None else files, fields=form, token=None, cookie=cookie)


def act(web, cookie, side_path, app_id, action, remark="ok"):
    status, reply, _ = web.request("POST", f"{side_path}/{app_id}/actions/{action}", {"remark": remark}, cookie=cookie)
    return status, reply


SUP, REV = "/api/supplier/applications", "/api/device-access"


def ids(web, cookie, path, name):
    status, reply, _ = web.request("GET", f"{path}?list={name}", cookie=cookie)
    assert status == 200, reply
    return [a["id"] for a in reply["applications"]]


def test_application_refusals_name_the_field(web, site, make_supplier, sdb):
    make_supplier("pending", "PEND01", approve=False)
    make_supplier("good", "GOOD01")
    pending, good = web.login("pending"), web.login("good")
    status, reply = apply(web, pending, site["project_id"])
    assert status == 400 and reply["field"] == "device_type" and "尚未经监管审核通过" in reply["message"]
    cases = [
        ({"serial": "序列号"}, None, 400, "serial"),
        ({"serial": ""}, None, 400, "serial"),
        ({"install_place": ""}, None, 400, "install_place"),
        ({"biometric_method": "声纹"}, None, 400, "biometric_method"),
        ({"device_type": "dust_noise"}, None, 400, "device_type"),
        ({"project_id": "abc"}, None, 400, "project_id"),
        ({"project_id": "99999"}, None, 404, "project_id"),
        ({}, {}, 400, "attachment"),
        ({}, {"attachment": ("a.exe", b"MZ\x90\x00", "application/pdf")}, 400, "attachment"),
        ({}, {"attachment": ("big.pdf", b"%PDF-" + b"0" * (5 * 1024 * 1024), "application/pdf")}, 413, "attachment"),
    ]
    for fields, files, code, field in cases:
        status, reply = apply(web, good, site["project_id"], files=files, **fields)
        assert status == code and reply["field"] == field, (fields, reply)
    assert sdb.device_access.count_documents({}) == 0 and sdb.access_attachments.count_documents({}) == 0
    # A serial already registered on the platform (build_site's device) cannot be applied for again
    # under the same vendor code; under this supplier's code it is a new device.
    status, reply = apply(web, good, site["project_id"], files={
        "attachment": ("a.pdf", PDF, "application/pdf"), "attachment_2": ("b.png", PNG, "image/png"),
        "attachment_3": ("", b"", "application/octet-stream")})  # an empty file input, as browsers send it
    assert status == 201 and [a["kind"] for a in reply["attachments"]] == ["pdf", "png"]
    status, reply = apply(web, good, site["project_id"])
    assert status == 409 and reply["field"] == "serial"


def test_the_four_steps_walked_by_the_right_sides(web, site, make_supplier, make_account, sdb):
    make_supplier("vendor", "VEND01")
    make_account("pengjiang", "supervisor", county="蓬江区")
    make_account("xinhui", "supervisor", county="新会区")
    supplier, county, other_county = web.login("vendor"), web.login("pengjiang"), web.login("xinhui")
    status, app = apply(web, supplier, site["project_id"])
    assert status == 201 and app["state"] == "applied" and app["step"] == 2 and app["county"] == "蓬江区"
    app_id = app["id"]
    assert ids(web, supplier, SUP, "done") == [app_id] and ids(web, supplier, SUP, "todo") == []
    assert ids(web, county, REV, "todo") == [app_id]
    # Out of county: invisible.
    assert ids(web, other_county, REV, "todo") == []
    assert web.request("GET", f"{REV}/{app_id}", cookie=other_county)[0] == 404
    assert act(web, other_county, REV, app_id, "authorise_test")[0] == 404
    # The supplier cannot take the supervisor's step, even through its own address.
    status, reply = act(web, supplier, SUP, app_id, "authorise_test")
    assert status == 403 and reply["field"] == "action"
    # Steps need a remark; the test-environment remark carries the address and credentials.
    status, reply = act(web, county, REV, app_id, "authorise_test", remark="")
    assert status == 400 and reply["field"] == "remark"
    status, reply = act(web, county, REV, app_id, "report_test")
    assert status == 403
    status, reply = act(web, county, REV, app_id, "authorise_production")
    assert status == 409 and "当前状态为" in reply["message"]
    remark = "测试环境：test.jmzhgd.cn:20028，项目账号 p001，密码 Abc12345"
    status, reply = act(web, county, REV, app_id, "authorise_test", remark=remark)
    assert status == 200 and reply["state"] == "test_authorised" and reply["environment"] == "test"
    device = sdb.devices.find_one({"vendor_code": "VEND01", "device_id": "SN-0001"})
    assert device["environment"] == "test" and device["registered_by"] == "supplier"
    assert device["status"] == "active" and device["project_id"] == site["project_id"]
    assert act(web, county, REV, app_id, "authorise_test", remark=remark)[0] == 409  # not twice
    assert ids(web, supplier, SUP, "todo") == [app_id]
    status, detail, _ = web.request("GET", f"{SUP}/{app_id}", cookie=supplier)
    assert detail["history"][-1]["remark"] == remark and [a["code"] for a in detail["actions"]] == ["report_test"]
    # Supplier reports, supervisor grants production, supplier applies for the check, supervisor closes.
    assert act(web, supplier, SUP, app_id, "report_production")[0] == 409
    assert act(web, supplier, SUP, app_id, "report_test", "测试环境联调成功")[0] == 200
    status, reply = act(web, county, REV, app_id, "authorise_production", "正式环境：jmzhgd.jiangmen.cn:20028")
    assert status == 200 and reply["environment"] == "production"
    assert sdb.devices.find_one({"_id": device["_id"]})["environment"] == "production"
    assert act(web, supplier, SUP, app_id, "report_production", "正式环境联调成功")[0] == 200
    assert act(web, county, REV, app_id, "verify", "设备作业核查通过")[1]["state"] == "completed"
    assert act(web, county, REV, app_id, "verify", "again")[0] == 409
    assert ids(web, supplier, SUP, "closed") == [app_id] and ids(web, county, REV, "closed") == [app_id]
    status, detail, _ = web.request("GET", f"{REV}/{app_id}", cookie=county)
    assert [(h["action"], h["actor"]) for h in detail["history"]] == [
        ("submit", "vendor"), ("authorise_test", "pengjiang"), ("report_test", "vendor"),
        ("authorise_production", "pengjiang"), ("report_production", "vendor"), ("verify", "pengjiang")]
    assert [h["step"] for h in detail["history"]] == [1, 2, 3, 3, 3, 4]
    assert sdb.audit_log.count_documents({"action": {"$regex": "^device_access_"}}) == 6
    # Pages of both sides show it; the export lists it.
    status, page, _ = web.raw("GET", f"/access/{app_id}", cookie=supplier)
    assert status == 200 and "流转记录" in page.decode() and remark in page.decode()
    status, page, _ = web.raw("GET", f"/device-access/{app_id}", cookie=county)
    assert status == 200 and 'id="action-revoke"' in page.decode()
    status, page, _ = web.raw("GET", "/device-access?list=closed", cookie=county)
    assert status == 200 and f'id="access-row-{app_id}"' in page.decode()
    status, data, _ = web.raw("GET", f"{REV}/export?list=closed", cookie=county)
    rows = list(openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert rows[-1][0] == app_id and rows[-1][5] == "SN-0001"


def test_suppliers_see_only_their_own(web, site, make_supplier, sdb):
    make_supplier("one", "ONE01")
    make_supplier("two", "TWO01")
    one, two = web.login("one"), web.login("two")
    status, app = apply(web, one, site["project_id"])
    assert status == 201
    assert web.request("GET", f"{SUP}/{app['id']}", cookie=two)[0] == 404
    assert act(web, two, SUP, app["id"], "report_test")[0] == 404
    assert web.raw("GET", f"{SUP}/{app['id']}/attachments/1", cookie=two)[0] == 404
    assert web.raw("GET", f"/access/{app['id']}", cookie=two)[0] == 404
    assert ids(web, two, SUP, "done") == []
    status, data, headers = web.raw("GET", f"{SUP}/{app['id']}/attachments/1", cookie=one)
    assert status == 200 and data == PDF and headers["Content-Type"] == "application/pdf"
    assert web.raw("GET", f"{SUP}/{app['id']}/attachments/2", cookie=one)[0] == 404
    # A supplier cannot use the supervisors' address at all.
    assert web.request("GET", f"{REV}/{app['id']}", cookie=one)[0] == 403
    # The admin token has no supplier of its own.
    assert web.request("GET", f"{SUP}?list=todo", token=ADMIN_TOKEN)[0] == 404
    assert web.request("GET", f"{REV}?list=bogus", token=ADMIN_TOKEN)[0] == 400
    status, page, _ = web.raw("GET", "/access?list=done", cookie=one)
    assert status == 200 and f'id="access-row-{app["id"]}"' in page.decode()
    status, page, _ = web.raw("GET", "/access/new", cookie=one)
    assert status == 200 and 'id="access-form"' in page.decode()


def test_refusal_closes_and_revocation_removes_the_device(web, site, make_supplier, make_account, sdb):
    make_supplier("vendor", "VEND02")
    make_account("city", "supervisor")
    supplier, city = web.login("vendor"), web.login("city")
    first = apply(web, supplier, site["project_id"], serial="SN-A")[1]["id"]
    assert act(web, city, REV, first, "refuse", "资料不全")[1]["state"] == "refused"
    assert ids(web, supplier, SUP, "closed") == [first]
    # Refused: the same serial may be applied for again.
    second = apply(web, supplier, site["project_id"], serial="SN-A")[1]["id"]
    assert act(web, city, REV, second, "revoke", "x")[0] == 409  # nothing authorised yet
    act(web, city, REV, second, "authorise_test", "测试环境 test:20028")
    status, reply = act(web, city, REV, second, "revoke", "设备弄虚作假")
    assert status == 200 and reply["state"] == "revoked" and reply["environment"] is None
    device = sdb.devices.find_one({"vendor_code": "VEND02", "device_id": "SN-A"})
    assert device["status"] == "removed"
    assert act(web, supplier, SUP, second, "report_test")[0] == 409
    # After revocation a new application may bring the device back (same record, active again).
    third = apply(web, supplier, site["project_id"], serial="SN-A")[1]["id"]
    act(web, city, REV, third, "authorise_test", "测试环境 test:20028")
    device = sdb.devices.find_one({"vendor_code": "VEND02", "device_id": "SN-A"})
    assert device["status"] == "active" and device["application_id"] == third and device["environment"] == "test"
    assert sdb.devices.count_documents({"vendor_code": "VEND02"}) == 1


def test_demo_suppliers_cover_every_state_once(web, mongo_uri, db_name, sdb):
    from server.demo import suppliers_demo
    from server.domain import device_access_flow as flow
    from server.store import workforce
    from support import run_async

    async def seed(db):
        for project_id in sorted({p for _, p, *_ in suppliers_demo.APPLICATIONS}):
            await workforce.create_project(db, name=f"演示项目{project_id}", county="台山市", project_id=project_id)
        await suppliers_demo.seed_suppliers(db)
        return await suppliers_demo.seed_suppliers(db)  # a second run adds nothing

    assert run_async(mongo_uri, db_name, seed) == len(suppliers_demo.APPLICATIONS)
    assert {a["state"] for a in sdb.device_access.find()} == set(flow.STATES)
    assert sdb.suppliers.count_documents({}) == 3 and sdb.accounts.count_documents({"role": "supplier"}) == 3
    assert sdb.devices.count_documents({"registered_by": "supplier", "status": "active", "environment": "test"}) == 2
    assert sdb.devices.count_documents({"registered_by": "supplier", "status": "removed"}) == 1
    # The demo supplier logs in with the demo password and sees its 待办.
    from server.demo.accounts_demo import DEMO_PASSWORD
    cookie = web.login("gys_zhigan", DEMO_PASSWORD)
    assert len(ids(web, cookie, SUP, "todo")) == 2
    status, me, _ = web.request("GET", "/api/supplier", cookie=cookie)
    assert me["status"] == "normal"
    xinrui = web.login("gys_xinrui", DEMO_PASSWORD)
    assert web.request("GET", "/api/supplier", cookie=xinrui)[1]["status"] == "pending"


def test_authorisation_refused_when_the_gateway_already_has_the_device(web, site, make_supplier, make_account,
                                                                        mongo_uri, db_name, sdb):
    """An operator registered the same vendor code + serial meanwhile: 409, and the application stays as it was."""
    from server.store import devices
    from support import run_async

    make_supplier("vendor", "VEND03")
    make_account("city", "supervisor")
    supplier, city = web.login("vendor"), web.login("city")
    app_id = apply(web, supplier, site["project_id"], serial="OP-1")[1]["id"]
    run_async(mongo_uri, db_name, lambda db: devices.register(db, project_id=site["project_id"], vendor_code="VEND03",
                                                              device_id="OP-1"))
    status, reply = act(web, city, REV, app_id, "authorise_test", "测试环境")
    assert status == 409 and reply["field"] == "serial" and "已在平台注册" in reply["message"]
    doc = sdb.device_access.find_one({"_id": app_id})
    assert doc["state"] == "applied" and len(doc["history"]) == 1 and doc["device_oid"] is None
    assert sdb.devices.find_one({"device_id": "OP-1"})["registered_by"] == "operator"


def test_a_device_brought_back_to_another_project_remembers_the_one_it_left(web, site, make_supplier, make_account,
                                                                            sdb, mongo_uri, db_name):
    from server.store import workforce
    from support import run_async
    make_supplier("mover", "VEND03")
    make_account("city3", "supervisor")
    supplier, city = web.login("mover"), web.login("city3")
    first = apply(web, supplier, site["project_id"], serial="SN-M")[1]["id"]
    act(web, city, REV, first, "authorise_test", "测试环境 test:20028")
    act(web, city, REV, first, "revoke", "换项目")
    other = run_async(mongo_uri, db_name, lambda db: workforce.create_project(db, name="新项目", county="台山市"))
    second = apply(web, supplier, other["_id"], serial="SN-M")[1]["id"]
    act(web, city, REV, second, "authorise_test", "测试环境 test:20028")
    device = sdb.devices.find_one({"vendor_code": "VEND03", "device_id": "SN-M"})
    assert device["status"] == "active" and device["project_id"] == other["_id"]
    assert device["earlier_projects"] == [site["project_id"]]
