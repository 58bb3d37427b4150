"""The web process's first endpoints, over real HTTP against the real database (the `web` fixture: tests/conftest.py)."""
from __future__ import annotations

import pytest

from support import Device, now_local, wait_until


def test_health_is_public(web):
    assert web.get("/api/health", token=None) == (200, {"status": "ok", "database": "ok"})


@pytest.mark.parametrize("path", ["/api/projects", "/api/devices", "/api/people/1", "/api/projects/1/punches",
                                  "/api/gateway/stats"])
@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_everything_else_needs_the_token(web, site, path, token):
    status, body = web.get(path, token=token)
    assert status == 401 and body["code"] == "unauthorized" and "message" in body


def test_projects_with_counts(web, site):
    status, body = web.get("/api/projects")
    assert status == 200 and body["count"] == 1
    project = body["projects"][0]
    assert project["id"] == site["project_id"] and project["county"] == "蓬江区"
    assert project["counts"] == {"workers": 3, "devices": 1, "punches_today": 0}


def test_devices_people_and_punches_after_a_device_punches(web, site, gateway, sdb):
    gw = gateway()
    dev = Device(gw.port, site["device_ids"][0])
    assert dev.login().flag == 0
    worker = site["workers"][0]
    when = now_local()
    assert dev.punch(worker["worker_no"], when).flag == 0
    gw.flush()

    status, body = web.get("/api/devices")
    assert status == 200
    [device] = body["devices"]
    assert device["device_id"] == site["device_ids"][0] and device["online"] is True and device["last_seen"]
    assert device["counters"]["punch_stored"] == 1

    status, person = web.get(f"/api/people/{worker['worker_no']}")
    assert status == 200 and person["masked"] is True and person["name"] == worker["name"]
    assert person["id_number"] != worker["id_number"] and person["id_number"][-4:] == worker["id_number"][-4:]
    assert "*" in person["id_number"] and len(person["id_number"]) == 18
    assert sdb.audit_log.count_documents({"action": "person_view_unmasked"}) == 0
    status, unmasked = web.get(f"/api/people/{worker['worker_no']}?unmask=true")
    assert status == 200 and unmasked["id_number"] == worker["id_number"]
    assert sdb.audit_log.count_documents({"action": "person_view_unmasked", "target.worker_no": worker["worker_no"]}) == 1

    status, body = web.get(f"/api/projects/{site['project_id']}/punches?date={when.date().isoformat()}")
    assert status == 200 and body["count"] == 1
    row = body["punches"][0]
    assert (row["worker_no"], row["name"], row["device_id"], row["flags"]) == (
        worker["worker_no"], worker["name"], site["device_ids"][0], [])
    status, body = web.get(f"/api/projects/{site['project_id']}/punches?date=2001-01-01")
    assert status == 200 and body["count"] == 0

    dev.close()
    gw.stop()
    [device] = wait_until(lambda: (d := web.get("/api/devices")[1]["devices"]) and not d[0]["online"] and d,
                          message="device still shown online after its gateway stopped")
    assert device["online"] is False


@pytest.mark.parametrize("path, status, code", [
    ("/api/people/999999", 404, "not_found"),
    ("/api/people/99999999999", 400, "invalid_argument"),
    ("/api/projects/77/punches", 404, "not_found"),
    ("/api/projects/1/punches?date=2024-13-01", 400, "invalid_argument"),
    ("/api/nothing-here", 404, "not_found"),
])
def test_clear_errors(web, site, path, status, code):
    got_status, body = web.get(path)
    assert (got_status, body["code"]) == (status, code) and body["message"]


def test_punches_today_in_the_project_list_leave_test_environment_punches_out(web, mongo_uri, db_name, gateway, sdb):
    # A device still in 测试环境联调 punches for real, but its punches are test data: counting them
    # would show a site as working on a day nobody punched in production.
    from support import build_site, run_async
    site = run_async(mongo_uri, db_name, lambda db: build_site(db, devices=2))
    production, testing = site["device_ids"]
    sdb.devices.update_one({"device_id": testing}, {"$set": {"environment": "test"}})
    gw = gateway()
    for device_id, workers in ((production, site["workers"][:1]), (testing, site["workers"][1:])):
        dev = Device(gw.port, device_id)
        assert dev.login().flag == 0
        for worker in workers:
            assert dev.punch(worker["worker_no"], now_local()).flag == 0
        dev.close()
    assert sdb.punches.count_documents({"test": True}) == 2 and sdb.punches.count_documents({"test": False}) == 1
    status, body = web.get("/api/projects")
    [project] = [p for p in body["projects"] if p["id"] == site["project_id"]]
    assert status == 200 and project["counts"] == {"workers": 3, "devices": 2, "punches_today": 1}


@pytest.mark.parametrize("value", ["20260101", "2026-1-1", "2026-02-30", "2026-W01-1"])
def test_a_date_argument_is_exactly_yyyy_mm_dd(web, site, value):
    status, body = web.get(f"/api/projects/{site['project_id']}/punches?date={value}")
    assert status == 400 and body["field"] == "date" and "YYYY-MM-DD" in body["message"], body
