"""Shared fixtures: a real MongoDB-speaking server (embedded SecantusDB, or MONGODB_URI) and real sockets."""
from __future__ import annotations

import os
import uuid

import pytest
from pymongo import MongoClient

from server.store.embedded import EmbeddedDatabase

from support import (FORWARD_SECRET, DashboardsProcess, GatewayProcess, GatewayThread, WebThread, WorkerProcess,
                     WorkerThread, make_account_sync, run_async)


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory):
    if os.environ.get("MONGODB_URI"):
        yield os.environ["MONGODB_URI"]
        return
    with EmbeddedDatabase(tmp_path_factory.mktemp("embedded-db")) as server:
        yield server.uri


@pytest.fixture
def db_name(mongo_uri):
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    client = MongoClient(mongo_uri)
    client.drop_database(name)
    client.close()


@pytest.fixture
def sdb(mongo_uri, db_name):
    """A synchronous handle on the test's database, for arranging and asserting."""
    client = MongoClient(mongo_uri, tz_aware=True)
    yield client[db_name]
    client.close()


@pytest.fixture
def site(mongo_uri, db_name):
    """A project with a general contractor, its manager team, a worker team and three workers entered."""
    from support import build_site
    return run_async(mongo_uri, db_name, build_site)


@pytest.fixture
def fixed_city(mongo_uri, db_name):
    """The dashboards' small fixed city (tests/fixed_city.py) in the test's database, rollups folded; its facts."""
    import fixed_city
    return run_async(mongo_uri, db_name, fixed_city.build_folded)


@pytest.fixture
def web(mongo_uri, db_name):
    w = WebThread(mongo_uri, db_name)
    yield w
    w.stop()


@pytest.fixture
def dashboards(mongo_uri, db_name):
    """`realname dashboards` as a real child process on a free port (loopback)."""
    process = DashboardsProcess(mongo_uri, db_name).start()
    yield process
    process.stop()


@pytest.fixture
def dash_web(mongo_uri, db_name, dashboards):
    """The web process forwarding /dash/ to that dashboards process, with the same forward secret."""
    w = WebThread(mongo_uri, db_name, dash_port=dashboards.port, forward_secret=FORWARD_SECRET)
    yield w
    w.stop()


@pytest.fixture
def worker(mongo_uri, db_name):
    """One worker running the test database's jobs (Excel imports, mail retry)."""
    w = WorkerThread(mongo_uri, db_name)
    yield w
    w.stop()


def _each_stopped(start):
    """Body of a factory fixture: hand out what `start` starts, stop every one after the test."""
    started = []

    def make(*args, **kwargs):
        started.append(start(*args, **kwargs))
        return started[-1]
    yield make
    for thing in started:
        thing.stop()


@pytest.fixture
def gateway(mongo_uri, db_name):
    yield from _each_stopped(lambda **overrides: GatewayThread(mongo_uri, db_name, **overrides).start())


@pytest.fixture
def gateway_process(mongo_uri, db_name):
    yield from _each_stopped(lambda port=None, **env: GatewayProcess(mongo_uri, db_name, port, **env).start())


@pytest.fixture
def worker_process(mongo_uri, db_name):
    """worker_process(**env) → `realname worker` as a child process on the test's database."""
    yield from _each_stopped(lambda **env: WorkerProcess(mongo_uri, db_name, **env))


@pytest.fixture
def make_account(mongo_uri, db_name):
    """make_account(username, role, must_change=False, project_id=.., county=.., supplier_id=..) → account
    with password support.PASSWORD."""
    def make(username: str, role: str, **kwargs) -> dict:
        return make_account_sync(mongo_uri, db_name, username, role, **kwargs)
    return make


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for the session (Debian's chromium + chromium-driver, installed by .ci/run)."""
    from support import start_chromium
    driver = start_chromium()
    yield driver
    driver.quit()


@pytest.fixture
def browser(chromium):
    """browser(web) → a Browser on that web server; cookies are cleared between tests."""
    from support import Browser

    def make(web) -> Browser:
        chromium.get(f"http://127.0.0.1:{web.port}/login")
        chromium.delete_all_cookies()
        return Browser(chromium, f"http://127.0.0.1:{web.port}")
    yield make
    chromium.delete_all_cookies()


@pytest.fixture
def make_supplier(mongo_uri, db_name):
    """make_supplier(username, vendor_code, scopes=("attendance",), approve=True) → {"id", "username",
    "vendor_code", "name"}: a registered supplier (password support.PASSWORD) whose scopes are applied
    and, unless approve=False, approved by a supervisor."""
    import random

    from server import synthetic
    from server.store import suppliers
    from support import PASSWORD

    def make(username: str, vendor_code: str, scopes=("attendance",), approve: bool = True) -> dict:
        async def job(db):
            code = synthetic.credit_code(random.Random(username))
            supplier, _ = await suppliers.register(db, {
                "name": f"{username} 科技有限公司", "credit_code": code, "vendor_code": vendor_code,
                "contact_name": "李工", "contact_phone": "13800138000", "email": f"{username}@example.cn",
                "username": username, "password": PASSWORD})
            for scope in scopes:
                await suppliers.apply_scope(db, supplier["_id"], {
                    "scope": scope, "contact_name": "李工", "contact_phone": "13800138000", "device_models": "F7",
                    "biometric_method": "人脸识别", "collection_method": "设备采集", "monitor_items": "PM2.5"},
                    actor=username)
                if approve:
                    await suppliers.review_scope(db, supplier["_id"], scope, decision="approve", opinion="",
                                                 actor="reviewer")
            return {"id": supplier["_id"], "username": username, "vendor_code": vendor_code, "name": supplier["name"]}
        return run_async(mongo_uri, db_name, job)
    return make
