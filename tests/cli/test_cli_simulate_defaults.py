"""`realname simulate` with no options against a demo-like platform: it drives the devices seed-demo
registers for its defaults, every punch is acknowledged, and the demo's own devices stay online."""
from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys

from server.demo.devices_demo import seed_simulator_devices
from server.device import codec
from support import Device, build_site, now_local, run_async, wait_until


def _cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "server.cli", *args], env=env, capture_output=True, text=True,
                          timeout=240)


def _device_row(listing: str, device_id: str) -> list[str]:
    return next(line.split() for line in listing.splitlines() if f" {device_id} " in f" {line} ")


def test_simulate_with_no_options_leaves_the_demo_devices_alone(gateway_process, mongo_uri, db_name, sdb):
    site = run_async(mongo_uri, db_name, lambda db: build_site(db, workers=4, devices=1))
    added = run_async(mongo_uri, db_name, lambda db: seed_simulator_devices(db, site["project_id"]))
    assert added == 10 and run_async(mongo_uri, db_name, lambda db: seed_simulator_devices(db, site["project_id"])) == 0
    gw = gateway_process()
    own = Device(gw.port, "DEV-0001")  # the demo's own device, connected before the simulator starts
    try:
        assert own.login().flag == codec.FLAG_OK
        env = dict(os.environ, MONGODB_URI=mongo_uri, REALNAME_DB_NAME=db_name, REALNAME_GATEWAY_PORT=str(gw.port))
        result = _cli("simulate", env=env)
        assert result.returncode == 0, result.stdout + result.stderr

        def figure(label: str) -> int:
            return int(re.search(rf"^{label}\s+(\d+)", result.stdout, re.M).group(1))

        assert figure("sent 已发送") == figure("acknowledged 已确认") == 100
        assert figure("refused 被拒绝") == 0 and figure("lost 丢失") == 0
        assert sdb.punches.count_documents({"device_id": {"$regex": "^SIM-"}}) == 100
        # The demo's device was not taken over: its connection still answers, and it is listed online.
        assert own.heartbeat().flag == codec.FLAG_OK
        listing = wait_until(lambda: (out := _cli("device", "list", env=env).stdout)
                             and _device_row(out, "DEV-0001")[3] == "yes" and out, timeout=30,
                             message="the demo device is listed online")
        row = _device_row(listing, "DEV-0001")
        # Listed in site time (北京时间), as the portal shows it, not UTC.
        seen = dt.datetime.strptime(f"{row[4]} {row[5]}", "%Y-%m-%d %H:%M:%S")
        assert abs(seen - now_local()) < dt.timedelta(minutes=5), (row, now_local())
        assert "北京时间" in listing
    finally:
        own.close()
