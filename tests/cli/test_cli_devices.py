"""`realname device add/list` and `realname settings`, run as a person would run them."""
from __future__ import annotations

import os
import subprocess
import sys

from support import build_site, run_async


def realname(mongo_uri: str, db_name: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, MONGODB_URI=mongo_uri, REALNAME_DB_NAME=db_name)
    return subprocess.run([sys.executable, "-m", "server.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_device_add_and_list(mongo_uri, db_name, sdb):
    site = run_async(mongo_uri, db_name, lambda db: build_site(db, devices=0))
    added = realname(mongo_uri, db_name, "device", "add", "--project", str(site["project_id"]),
                     "--vendor-code", "ACME", "--device-id", "GATE-01")
    assert added.returncode == 0, added.stderr
    assert "ACME/GATE-01" in added.stdout
    # Short codes: the operator is told both forms a device may send in 843.
    assert "32 字节" in added.stdout and "ACMEGATE-01" in added.stdout, added.stdout
    assert sdb.devices.find_one({"device_id": "GATE-01"})["registered_by"] == "operator"

    again = realname(mongo_uri, db_name, "device", "add", "--project", str(site["project_id"]),
                     "--vendor-code", "ACME", "--device-id", "GATE-01")
    assert again.returncode == 2 and "已注册" in again.stderr
    nowhere = realname(mongo_uri, db_name, "device", "add", "--project", "999", "--vendor-code", "ACME",
                       "--device-id", "GATE-02")
    assert nowhere.returncode == 2 and "不存在" in nowhere.stderr
    too_long = realname(mongo_uri, db_name, "device", "add", "--project", str(site["project_id"]),
                        "--vendor-code", "ACME", "--device-id", "X" * 33)
    assert too_long.returncode == 2 and "device_id" in too_long.stderr

    listed = realname(mongo_uri, db_name, "device", "list")
    assert listed.returncode == 0
    assert "GATE-01" in listed.stdout and "1 device(s)" in listed.stdout


def test_settings_table_documents_every_setting(mongo_uri, db_name):
    from server.config import SETTINGS
    out = realname(mongo_uri, db_name, "settings").stdout
    assert all(f"`{s.env}`" in out for s in SETTINGS)
    readme = open(os.path.join(os.path.dirname(__file__), "..", "..", "README.md"), encoding="utf-8").read()
    assert all(s.env in readme for s in SETTINGS), "README.md's settings table is out of date: run `realname settings`"
