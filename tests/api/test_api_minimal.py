"""The web process's first endpoints, over real HTTP against the real database."""
from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request

import pytest

from server.config import Config
from server.store.db import open_database
from server.store.embedded import free_port

from support import Device, now_local

TOKEN = "test-admin-token-0123456789"


class WebThread:
    def __init__(self, uri: str, db_name: str):
        self.port = free_port()
        self.config = Config.from_env({"REALNAME_DB_NAME": db_name, "REALNAME_ADMIN_TOKEN": TOKEN},
                                      mongodb_uri=uri, web_host="127.0.0.1", web_port=self.port)
        self.uri, self.db_name = uri, db_name
        self._ready = threading.Event()
        threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True).start()
        assert self._ready.wait(30)

    async def _main(self):
        from server.api.app import make_app
        client, db = await open_database(self.uri, self.db_name, app_name="test-web")
        server = make_app(self.config, db).listen(self.port, address="127.0.0.1")
        self.loop, self.stop_event = asyncio.get_running_loop(), asyncio.Event()
        self._ready.set()
        await self.stop_event.wait()
        server.stop()
        await client.close()

    def stop(self):
        self.loop.call_soon_threadsafe(self.stop_event.set)

    def get(self, path: str, token: str | None = TOKEN) -> tuple[int, dict]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())


@pytest.fixture
def web(mongo_uri, db_name):
    w = WebThread(mongo_uri, db_name)
    yield w
    w.stop()


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
    import time
    time.sleep(0.5)
    [device] = web.get("/api/devices")[1]["devices"]
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
