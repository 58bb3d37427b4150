"""设备监控 (issue 4 item 5): presence, last seen, punches today, refusals, silent > 2 days, scope, export, page, demo."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from bson import ObjectId
from openpyxl import load_workbook

from server.access import ROLE_PERMISSIONS, Principal
from server.demo.devices_demo import seed_device_states
from server.store import device_monitoring
from server.store import devices as device_store
from server.domain.site_clock import site_today

from support import refusal_names_field, ADMIN_TOKEN, CAPTCHA_ANSWER, PASSWORD, VENDOR, Device, build_site, now_local, run_async, wait_until

NOW = dt.datetime.now(dt.timezone.utc)
SUPPLIER = ObjectId()


def _punch(sdb, device_id: str, project_id: int, n: int, *, test: bool = False, day: dt.date | None = None):
    day = day or site_today()
    moment = dt.datetime.combine(day, dt.time(8, 0), dt.timezone(dt.timedelta(hours=8))) + dt.timedelta(minutes=n)
    sdb.punches.insert_one({
        "_id": f"{VENDOR}|{device_id}|{n}|{day}", "project_id": project_id, "vendor_code": VENDOR,
        "device_id": device_id, "worker_no": 1000 + n, "device_time": moment, "date": day.isoformat(),
        "received_at": NOW, "mode": 6, "photo_len": 10, "flags": [], "test": test})


def _refusal(sdb, device_id: str, reason: str, message: str, days_ago: float):
    sdb.punch_refusals.insert_one({"at": NOW - dt.timedelta(days=days_ago), "vendor_code": VENDOR,
                                   "device_id": device_id, "reason": reason, "message": message})


@pytest.fixture
def city(mongo_uri, db_name, sdb):
    """Project A (蓬江区): DEV-0001 online, DEV-0002 silent 3 days, DEV-0003 offline 5 h.
    Project B (台山市): B-0001 in the test environment, authorised to SUPPLIER, never seen since
    its registration 5 days ago (silent)."""
    async def arrange(db):
        a = await build_site(db, devices=3, workers=1)
        b = await build_site(db, devices=0, workers=1, seed=11, county="台山市")
        await device_store.register(db, project_id=b["project_id"], vendor_code=VENDOR, device_id="B-0001")
        return a, b
    a, b = run_async(mongo_uri, db_name, arrange)
    # The gateway's heartbeat must be fresh when the test asks, not when this module was imported.
    now = dt.datetime.now(dt.timezone.utc)
    sdb.gateway_stats.insert_one({"_id": "gw-test", "totals": {}, "updated_at": now, "stopped": False})
    sdb.devices.update_one({"device_id": "DEV-0001"}, {"$set": {"online": True, "gateway_id": "gw-test",
                                                                "last_seen": now - dt.timedelta(minutes=3)}})
    sdb.devices.update_one({"device_id": "DEV-0002"}, {"$set": {"last_seen": now - dt.timedelta(days=3)}})
    sdb.devices.update_one({"device_id": "DEV-0003"}, {"$set": {"last_seen": now - dt.timedelta(hours=5)}})
    sdb.devices.update_one({"device_id": "B-0001"}, {"$set": {
        "environment": "test", "supplier_id": SUPPLIER, "created_at": now - dt.timedelta(days=5)}})
    # Only the fields monitoring reads; the supplier workflow owns the rest of a supplier record.
    sdb.suppliers.insert_one({"_id": SUPPLIER, "name": "江门测试设备供应商"}, bypass_document_validation=True)
    for n in range(2):
        _punch(sdb, "DEV-0001", a["project_id"], n)
    _punch(sdb, "DEV-0001", a["project_id"], 9, day=site_today() - dt.timedelta(days=1))  # yesterday: not today
    _punch(sdb, "B-0001", b["project_id"], 1, test=True)
    _refusal(sdb, "DEV-0001", "not_entered", "人员未进场", 1)
    _refusal(sdb, "DEV-0001", "not_entered", "人员未进场", 2)
    _refusal(sdb, "DEV-0001", "photo_too_large", "照片过大", 0.1)
    _refusal(sdb, "DEV-0001", "not_entered", "人员未进场", 10)  # older than 7 days: not counted
    return {"a": a["project_id"], "b": b["project_id"]}


def _rows(reply: dict) -> dict:
    return {r["device_id"]: r for r in reply["devices"]}


def test_monitor_shows_presence_punches_refusals_and_silence(web, city):
    status, reply = web.get("/api/devices/monitor")
    assert status == 200, reply
    assert reply["summary"] == {"total": 4, "online": 1, "offline": 3, "silent": 2}
    rows = _rows(reply)
    one, two, three, b = rows["DEV-0001"], rows["DEV-0002"], rows["DEV-0003"], rows["B-0001"]
    assert one["online"] and not one["silent"] and one["silent_hours"] is None
    assert one["punches_today"] == 2 and one["test_punches_today"] == 0
    assert one["refusals"] == {"not_entered": 2, "photo_too_large": 1} and one["refusals_total"] == 3
    assert one["refusal_messages"]["not_entered"] == "人员未进场"
    assert one["project_name"] == "江门市测试项目" and one["county"] == "蓬江区"
    assert one["environment"] == "production" and one["environment_name"] == "正式环境"
    assert not two["online"] and two["silent"] and 71 < two["silent_hours"] < 73
    assert not three["online"] and not three["silent"] and 4.9 < three["silent_hours"] < 5.1
    assert b["silent"] and b["last_seen"] is None, "never seen since registration 5 days ago is silent too"
    # Never seen: no hours "without data", only the hours since registration (one consistent state).
    assert b["silent_hours"] is None and 119 < b["registered_hours"] < 121
    assert one["registered_hours"] is None and two["registered_hours"] is None
    assert b["environment"] == "test" and b["test_punches_today"] == 1 and b["punches_today"] == 0
    assert b["supplier_id"] == str(SUPPLIER) and b["supplier_name"] == "江门测试设备供应商"
    assert two["supplier_id"] is None and two["refusals"] == {}


def test_monitor_filters_keep_the_summary_of_the_whole_scope(web, city):
    status, reply = web.get("/api/devices/monitor?state=online")
    assert status == 200 and list(_rows(reply)) == ["DEV-0001"]
    assert reply["summary"]["total"] == 4, "tiles keep counting every device in scope"
    assert set(_rows(web.get("/api/devices/monitor?state=offline")[1])) == {"DEV-0002", "DEV-0003", "B-0001"}
    assert set(_rows(web.get("/api/devices/monitor?silent=true")[1])) == {"DEV-0002", "B-0001"}
    assert set(_rows(web.get("/api/devices/monitor?silent=true&state=online")[1])) == set()
    status, reply = web.get(f"/api/devices/monitor?project={city['b']}")
    assert set(_rows(reply)) == {"B-0001"} and reply["summary"]["total"] == 1
    assert set(_rows(web.get(f"/api/devices/monitor?supplier={SUPPLIER}")[1])) == {"B-0001"}
    assert web.get(f"/api/devices/monitor?supplier={ObjectId()}")[1]["count"] == 0


@pytest.mark.parametrize("query, field", [("state=broken", "state"), ("project=abc", "project"),
                                          ("supplier=xyz", "supplier"), ("silent=maybe", "silent")])
def test_bad_filters_are_refused_naming_the_field(web, city, query, field):
    status, reply = web.get(f"/api/devices/monitor?{query}")
    assert status == 400 and refusal_names_field(reply, field), reply
    assert web.get(f"/api/devices/monitor/export?{query}")[0] == 400


def test_supervisors_see_the_city_or_their_county_only(web, city, make_account):
    make_account("sup-city", "supervisor")
    make_account("sup-pj", "supervisor", county="蓬江区")
    make_account("sup-ts", "supervisor", county="台山市")
    make_account("ana", "analyst")
    city_cookie, pj, ts = web.login("sup-city"), web.login("sup-pj"), web.login("sup-ts")
    seen = lambda cookie, path: set(_rows(web.request("GET", path, cookie=cookie)[1]))  # noqa: E731
    assert seen(city_cookie, "/api/devices/monitor") == {"DEV-0001", "DEV-0002", "DEV-0003", "B-0001"}
    assert seen(web.login("ana"), "/api/devices/monitor") == {"DEV-0001", "DEV-0002", "DEV-0003", "B-0001"}
    assert seen(pj, "/api/devices/monitor") == {"DEV-0001", "DEV-0002", "DEV-0003"}
    assert seen(ts, "/api/devices/monitor") == {"B-0001"}
    assert seen(pj, "/api/devices") == {"DEV-0001", "DEV-0002", "DEV-0003"}, "the device list is scoped too"
    assert seen(ts, f"/api/devices?project={city['a']}") == set(), "another county's project shows nothing"
    status, reply, _ = web.request("GET", f"/api/devices/monitor?project={city['a']}", cookie=ts)
    assert status == 200 and reply["summary"]["total"] == 0


def test_scope_of_project_supplier_and_other_roles(mongo_uri, db_name, city):
    """The scoping logic for project and supplier accounts (they do not hold devices:read yet)."""
    async def scoped(db, role, **scope):
        scope = await device_monitoring.scope_for(db, Principal.for_role(role, **scope))
        return {d["device_id"] for d in await device_monitoring.scoped_devices(db, scope)}

    async def check(db):
        assert await scoped(db, role="project", project_id=city["a"]) == {"DEV-0001", "DEV-0002", "DEV-0003"}
        assert await scoped(db, role="project", project_id=city["b"]) == {"B-0001"}
        assert await scoped(db, role="supplier", supplier_id=SUPPLIER) == {"B-0001"}
        assert await scoped(db, role="supplier", supplier_id=ObjectId()) == set()
        assert await scoped(db, role="supplier", supplier_id=None) == set()
        assert await scoped(db, role="enterprise") == set()
        assert len(await scoped(db, role="admin")) == 4
        # A project account cannot widen its scope with a filter.
        scope = await device_monitoring.scope_for(db, Principal.for_role("project", project_id=city["a"]))
        assert await device_monitoring.scoped_devices(db, scope, project_id=city["b"]) == []
        scope = await device_monitoring.scope_for(db, Principal.for_role("supplier", supplier_id=SUPPLIER))
        result = await device_monitoring.monitor(db, scope, window=35, project_id=city["a"])
        assert result["devices"] == [] and result["summary"]["total"] == 0
    run_async(mongo_uri, db_name, check)


def test_project_and_supplier_accounts_over_http(web, city, make_account):
    """Checks scoping over HTTP once base.py grants them devices:read; until then they are refused (403)."""
    make_account("proj-a", "project", project_id=city["a"])
    make_account("supp", "supplier", supplier_id=SUPPLIER)
    for username, role, expected in (("proj-a", "project", {"DEV-0001", "DEV-0002", "DEV-0003"}),
                                     ("supp", "supplier", {"B-0001"})):
        cookie = web.login(username)
        for path in ("/api/devices/monitor", "/api/devices"):
            status, reply, _ = web.request("GET", path, cookie=cookie)
            if "devices:read" in ROLE_PERMISSIONS[role]:
                assert status == 200 and set(_rows(reply)) == expected, (username, path, reply)
            else:
                assert status == 403, (username, path, reply)


def test_export_holds_the_filtered_rows(web, city):
    status, body, headers = web.raw("GET", "/api/devices/monitor/export?state=offline", token=ADMIN_TOKEN)
    assert status == 200 and headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(body)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("项目名称", "所属区县", "环境", "设备厂商编码", "设备编号")
    by_device = {r[4]: r for r in rows[1:]}
    assert set(by_device) == {"DEV-0002", "DEV-0003", "B-0001"}
    assert by_device["DEV-0002"][7] == "离线" and by_device["DEV-0002"][9] == "是"
    assert by_device["DEV-0003"][9] == "否" and by_device["B-0001"][2] == "测试环境"
    assert web.raw("GET", "/api/devices/monitor/export")[0] == 401


def test_devices_page_shows_tiles_tags_filters_and_export(web, city, make_account):
    make_account("sup-city", "supervisor")
    make_account("ent", "enterprise", enterprise_id=ObjectId())
    status, _, headers = web.raw("GET", "/devices")
    assert status == 302 and headers["Location"].startswith("/login")
    cookie = web.login("sup-city")
    status, body, _ = web.raw("GET", "/devices", cookie=cookie)
    html = body.decode()
    assert status == 200 and "设备监控" in html and 'href="/devices"' in html
    assert '<strong id="sum-total">4</strong>' in html and '<strong id="sum-online">1</strong>' in html
    assert 'id="sum-silent" class="error-text">2</strong>' in html
    assert html.count('<span class="tag ok">在线</span>') == 1 and html.count('<span class="tag bad">离线</span>') == 3
    assert html.count("tag bad silent") == 2 and "从未上线" in html and "人员未进场 2" in html
    assert "江门测试设备供应商" in html and "测试环境" in html and "/static/devices.js" in html
    never = html.split(f'data-device="{VENDOR}/B-0001"', 1)[1].split("</tr>", 1)[0]
    assert "从未上线" in never and "登记已" in never and "小时无数据" not in never, "one state for a device never seen"
    status, body, _ = web.raw("GET", "/devices?state=online&silent=", cookie=cookie)
    html = body.decode()
    assert status == 200 and html.count("<tr data-device=") == 1
    assert 'href="/api/devices/monitor/export?state=online"' in html
    assert '<option value="online" selected>' in html
    status, body, _ = web.raw("GET", "/devices?state=nonsense", cookie=cookie)
    assert status == 400 and "状态：" in body.decode() and "state:" not in body.decode()
    assert web.raw("GET", "/devices", cookie=web.login("ent"))[0] == 403


def test_demo_marks_devices_offline_and_silent_idempotently(mongo_uri, db_name, sdb):
    async def arrange(db):
        site = await build_site(db, devices=0, workers=1)
        for n in (1, 22, 23, 24):
            await device_store.register(db, project_id=site["project_id"], vendor_code="JMDEMO",
                                        device_id=f"DEMO-{n:04d}")
        return await seed_device_states(db, vendor_code="JMDEMO", device_prefix="DEMO-")

    async def again(db):
        changed = await seed_device_states(db, vendor_code="JMDEMO", device_prefix="DEMO-")
        result = await device_monitoring.monitor(db, device_monitoring.DeviceScope(), window=35)
        return changed, result

    assert run_async(mongo_uri, db_name, arrange) == 3
    refusals = sdb.punch_refusals.count_documents({})
    changed, result = run_async(mongo_uri, db_name, again)
    assert changed == 3 and sdb.punch_refusals.count_documents({}) == refusals > 0
    rows = _rows(result)
    assert rows["DEMO-0023"]["silent"] and rows["DEMO-0024"]["silent"]
    assert not rows["DEMO-0022"]["silent"] and rows["DEMO-0022"]["last_seen"] is not None
    assert rows["DEMO-0001"]["last_seen"] is None and not rows["DEMO-0001"]["silent"]
    assert rows["DEMO-0024"]["refusals_total"] == 4
    assert result["summary"] == {"total": 4, "online": 0, "offline": 4, "silent": 2}


def test_choosing_a_filter_in_the_browser_searches_at_once(web, city, make_account, browser):
    make_account("sup-city", "supervisor")
    b = browser(web)
    b.open("/devices")
    b.fill({"username": "sup-city", "password": PASSWORD, "captcha": CAPTCHA_ANSWER})
    b.submit("#login-form")
    b.wait_text_in("main", "设备监控")
    b.fill({"state": "value=offline"})  # no click on 查询: devices.js submits on change
    b.wait_url("state=offline")
    assert len(b.driver.find_elements("css selector", "#device-table tr[data-device]")) == 3


def test_a_live_device_through_the_gateway(web, site, gateway, sdb):
    """The real data flow: login, an accepted and a refused punch, then the connection closes."""
    gw = gateway()
    dev = Device(gw.port, site["device_ids"][0])
    assert dev.login().flag == 0
    assert dev.punch(site["workers"][0]["worker_no"], now_local()).flag == 0
    assert dev.punch(4_000_000_000, now_local()).flag != 0  # no such worker: refused and kept
    gw.flush()
    row = _rows(web.get("/api/devices/monitor")[1])[site["device_ids"][0]]
    assert row["online"] and not row["silent"] and row["punches_today"] == 1
    assert row["refusals"] == {"unknown_worker": 1}
    dev.close()
    reply = wait_until(lambda: (r := web.get("/api/devices/monitor?state=offline")[1])["count"] and r,
                       message="the closed device is not listed offline")
    assert reply["count"] == 1 and not reply["devices"][0]["silent"], "just disconnected is offline, not silent"
