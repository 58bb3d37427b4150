"""Gateway admission follows the device access workflow, over real TCP and real HTTP.

Before approval the device is refused; after the test-environment authorisation it logs in and
its punches are stored test:true; after the production authorisation they count (test:false),
also on the connection that was already open; after revocation the live connection is closed
within the device sync interval and the next login is refused.
"""
from __future__ import annotations

import datetime as dt

from server.device import codec

from support import PDF, Device, now_local, wait_until

REV, SUP = "/api/device-access", "/api/supplier/applications"


def step(web, cookie, path, app_id, action, remark="ok"):
    status, reply, _ = web.request("POST", f"{path}/{app_id}/actions/{action}", {"remark": remark}, cookie=cookie)
    assert status == 200, reply
    return reply


def apply(web, cookie, site, serial):
    """The supplier applies for an attendance device on the site's project; returns the application."""
    status, app = web.upload(SUP, files={"attachment": ("a.pdf", PDF, "application/pdf")}, token=None, cookie=cookie,
                             fields={"project_id": str(site["project_id"]), "device_type": "attendance",
                                     "serial": serial, "install_place": "大门", "collection_method": "设备采集",
                                     "biometric_method": "人脸识别"})
    assert status == 201, app
    return app


def refused(port, vendor, serial) -> bool:
    dev = Device(port, serial, vendor=vendor)
    try:
        reply = dev.login()
        return reply.flag == codec.FLAG_FAIL and "未注册或未授权" in reply.content.decode()
    finally:
        dev.close()


def test_device_admitted_only_as_the_workflow_allows(web, site, gateway, make_supplier, make_account, sdb):
    make_supplier("gwvendor", "GWV01")
    make_account("city", "supervisor")
    supplier, city = web.login("gwvendor"), web.login("city")
    app = apply(web, supplier, site, "GW-0001")
    gw = gateway()
    worker = site["workers"][0]["worker_no"]

    # Applied, not approved: refused at login.
    assert refused(gw.port, "GWV01", "GW-0001")

    # Test environment: admitted, punches are test data.
    step(web, city, REV, app["id"], "authorise_test", "测试环境 127.0.0.1，账号 test")
    dev = Device(gw.port, "GW-0001", vendor="GWV01")
    assert dev.login().flag == codec.FLAG_OK
    first = now_local()
    assert dev.punch(worker, first).flag == 0
    stored = sdb.punches.find_one({"device_id": "GW-0001"})
    assert stored["test"] is True and stored["vendor_code"] == "GWV01"

    # Production: the open connection picks the environment up at its next device sync.
    step(web, supplier, SUP, app["id"], "report_test", "测试环境联调成功")
    step(web, city, REV, app["id"], "authorise_production", "正式环境 jmzhgd.jiangmen.cn")
    seconds = iter(range(1, 10_000))

    def production_punch():
        assert dev.punch(worker, first + dt.timedelta(seconds=next(seconds))).flag == 0
        return sdb.punches.find_one({"device_id": "GW-0001", "test": False})
    latest = wait_until(production_punch, timeout=15, message="production punches still marked test")
    assert latest is not None
    assert sdb.punches.count_documents({"device_id": "GW-0001", "test": True}) >= 1

    # A fresh login in production counts from the first punch.
    again = Device(gw.port, "GW-0001", vendor="GWV01")
    assert again.login().flag == codec.FLAG_OK
    dev.close()
    when = first + dt.timedelta(minutes=5)
    assert again.punch(worker, when).flag == 0
    assert sdb.punches.find_one({"device_id": "GW-0001", "device_time": when.replace(
        tzinfo=dt.timezone(dt.timedelta(hours=8)))})["test"] is False

    # Revocation: the live connection is closed within the sync interval, the next login refused.
    step(web, city, REV, app["id"], "revoke", "撤销授权")
    assert again.is_closed(wait=10)
    assert refused(gw.port, "GWV01", "GW-0001")
    again.close()


def test_another_vendor_code_is_not_admitted(web, site, gateway, make_supplier, make_account):
    """The device is admitted under its own supplier's vendor code only."""
    make_supplier("vendor1", "CODEA")
    make_account("city", "supervisor")
    supplier, city = web.login("vendor1"), web.login("city")
    app = apply(web, supplier, site, "X-1")
    step(web, city, REV, app["id"], "authorise_test", "测试环境")
    gw = gateway()
    assert refused(gw.port, "CODEB", "X-1")
    dev = Device(gw.port, "X-1", vendor="CODEA")
    assert dev.login().flag == codec.FLAG_OK
    dev.close()
